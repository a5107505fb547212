"""``.keras`` files the package writes load in a fresh process after only ``import astromer``,
and are accepted wherever a model or preset is (load_preset, from_preset, the CLI)."""

import ast
import os
import re
import shlex
import subprocess
import sys

import keras
import numpy as np
import pytest

import astromer
from conftest import REPO_ROOT

WINDOW = 16


def _windows(batch=4, seed=0):
    rng = np.random.default_rng(seed)
    times = np.sort(rng.uniform(0, 50, (batch, WINDOW)), axis=1).astype("float32")
    mask = np.ones((batch, WINDOW), "float32")
    mask[:, -3:] = 0.0
    return {"times": times, "magnitudes": rng.normal(size=(batch, WINDOW)).astype("float32"), "mask": mask}


def _tiny_astromer():
    return astromer.Astromer(num_layers=1, num_heads=2, head_dim=8, ffn_dim=16, window_size=WINDOW)


def _reconstruction_targets(x):
    """Packed (B, T, 3) targets of MaskedRMSE/MaskedR2: magnitude, loss mask (every other step), weight."""
    loss_mask = x["mask"] * (np.arange(WINDOW) % 2 == 0)
    return np.stack([x["magnitudes"], loss_mask, np.ones_like(loss_mask)], axis=-1).astype("float32")


def _fit_one_step(model, x, y):
    model.fit(x, y, epochs=1, batch_size=len(y), verbose=0)


def _saved_models(folder):
    """Save one of each kind of model the package writes, compiled and trained one step; return
    ``{name: (path, outputs)}`` with the inputs in ``folder/x.npz`` and ``folder/images.npy``."""
    keras.utils.set_random_seed(0)
    x = _windows()
    np.savez(folder / "x.npz", **x)
    saved = {}

    encoder = _tiny_astromer()
    encoder.compile()  # MaskedRMSE loss and MaskedR2 metric
    _fit_one_step(encoder, x, _reconstruction_targets(x))
    saved["astromer"] = encoder

    from astromer.models.classifier.light_curve_classifier import LightCurveClassifier, encoder_lr_optimizer

    for name, train_encoder in (("classifier_a", False), ("classifier_b", True)):
        clf = LightCurveClassifier(_tiny_astromer(), 3, head="skip", hidden_units=(8,),
                                   train_encoder=train_encoder, class_names=["x", "y", "z"])
        clf.compile(optimizer=encoder_lr_optimizer(clf, 1e-3, 1e-4) if train_encoder else "adam")
        _fit_one_step(clf, x, np.array([0, 1, 2, 0]))
        saved[name] = clf

    from astromer.models.classifier import MultiBandClassifier

    bands = {k: np.stack([v, v[::-1]], axis=1) for k, v in x.items()}  # (4, 2 bands, W)
    bands["mask"][1, 1] = 0.0  # object 1 lacks its second band
    np.savez(folder / "bands.npz", **bands)
    multiband = MultiBandClassifier(_tiny_astromer(), 3, ["g", "r"], hidden_units=(8,), train_encoder=True,
                                    class_names=["x", "y", "z"])
    multiband.standardize.set_statistics(np.full(multiband.feature_size, 0.5), np.full(multiband.feature_size, 2.0))
    multiband.compile(optimizer="adam")
    _fit_one_step(multiband, bands, np.array([0, 1, 2, 0]))
    saved["multiband"] = multiband

    from astromer.baselines import RawGRUClassifier

    gru = RawGRUClassifier(3, units=8, dense_units=8)
    gru.compile()
    _fit_one_step(gru, x, np.array([0, 1, 2, 0]))
    saved["gru"] = gru

    from astromer.models.classifier import WindowPoolingClassifier

    pooled = WindowPoolingClassifier(3, hidden_units=8, attention_units=4)
    windows = {"windows": np.random.default_rng(2).normal(size=(4, 3, 2, 16)).astype("float32"),
               "window_mask": np.array([[1, 1, 1], [1, 0, 0], [1, 1, 0], [0, 0, 0]], dtype="float32")}
    np.savez(folder / "windows.npz", **windows)
    pooled.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    _fit_one_step(pooled, windows, np.array([0, 1, 2, 0]))
    saved["window_pooling"] = pooled

    pt = astromer.AstroPT(num_layers=1, num_heads=2, embed_dim=16, block_size=16, patch_size=4, num_channels=1)
    images = np.random.default_rng(1).uniform(0, 255, (2, 16, 16, 1)).astype("float32")
    np.save(folder / "images.npy", images)
    pt.compile(jit_compile=False)
    tokens = pt.tokenize(images)
    pt.fit(tokens, epochs=1, batch_size=2, verbose=0)
    saved["astropt"] = pt

    from astromer.models.classifier import ImageClassifier

    image_clf = ImageClassifier(astromer.AstroPT(num_layers=2, num_heads=2, embed_dim=16, block_size=16,
                                                 patch_size=4, num_channels=1), 2, hidden_units=(8,), layer=0,
                                train_encoder=True, class_names=["a", "b"])
    image_clf.compile(optimizer="adam")
    _fit_one_step(image_clf, images / 255.0, np.array([0, 1]))
    saved["image_classifier"] = image_clf

    out = {}
    for name, model in saved.items():
        path = folder / f"{name}.keras"
        model.save(path)
        y = model(pt.tokenize(images)) if name == "astropt" else model(windows) if name == "window_pooling" \
            else model(images / 255.0) if name == "image_classifier" else model(bands) if name == "multiband" \
            else model(x)
        np.save(folder / f"{name}.npy", np.asarray(y))
        out[name] = path
    scores = encoder.evaluate(x, _reconstruction_targets(x), batch_size=4, return_dict=True, verbose=0)
    np.save(folder / "astromer.scores.npy", np.array([scores["loss"], scores["r2"]]))
    np.save(folder / "targets.npy", _reconstruction_targets(x))
    return out


LOAD_SCRIPT = """
import sys
{imports}
import numpy as np
x = dict(np.load("x.npz"))
images = np.load("images.npy")
for name in sys.argv[1:]:
    model = keras.saving.load_model(name + ".keras")
    inputs = dict(np.load("windows.npz")) if name == "window_pooling" else dict(np.load("bands.npz")) \
        if name == "multiband" else x
    y = model(model.tokenize(images)) if name == "astropt" else model(images / 255.0) \
        if name == "image_classifier" else model(inputs)
    np.save(name + ".loaded.npy", np.asarray(y))
    if name == "astromer":  # the compiled MaskedRMSE loss and MaskedR2 metric came back and work
        s = model.evaluate(x, np.load("targets.npy"), batch_size=4, return_dict=True, verbose=0)
        np.save("astromer.scores.loaded.npy", np.array([s["loss"], s["r2"]]))
    compiled = getattr(model, "optimizer", None) is not None
    iterations = int(model.optimizer.iterations) if compiled else "-"
    print(name, type(model).__name__, type(model.loss).__name__ if compiled else "-", iterations,
          len(model.trainable_variables))
"""


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("saved")
    return folder, _saved_models(folder)


@pytest.mark.parametrize("imports", ["import astromer, keras", "import keras, astromer"])
def test_keras_files_load_in_a_fresh_process(saved, imports):
    folder, paths = saved
    env = dict(os.environ, KERAS_BACKEND=keras.backend.backend(), TF_CPP_MIN_LOG_LEVEL="3")
    out = subprocess.run([sys.executable, "-c", LOAD_SCRIPT.format(imports=imports), *paths], cwd=folder,
                         env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    words = [line.split() for line in out.stdout.splitlines()]
    lines = {w[0]: w[1:] for w in words if w and w[0] in paths}
    assert lines["astromer"][:2] == ["Astromer", "MaskedRMSE"]
    assert lines["classifier_a"][:2] == ["LightCurveClassifier", "SparseCategoricalCrossentropy"]
    assert lines["classifier_b"][0] == "LightCurveClassifier" and lines["gru"][0] == "RawGRUClassifier"
    assert lines["astropt"][:2] == ["AstroPT", "Huber"]
    assert lines["window_pooling"][:2] == ["WindowPoolingClassifier", "SparseCategoricalCrossentropy"]
    # the image classifier reads block 0 of 2: block 1, the final norm and the decoder stay frozen
    assert lines["image_classifier"][:2] == ["ImageClassifier", "SparseCategoricalCrossentropy"]
    n_head, n_input, n_block = 6, 3, 6  # head: dense, norm, logits (2 each); tokeniser (2) + positions; a block
    assert lines["image_classifier"][-1] == str(n_head + n_input + n_block), lines["image_classifier"]
    assert lines["multiband"][:2] == ["MultiBandClassifier", "SparseCategoricalCrossentropy"]
    for name in ("astromer", "classifier_a", "classifier_b", "astropt", "window_pooling", "image_classifier",
                 "multiband"):  # RawGRUClassifier: no compile_from_config
        assert lines[name][-2] == "1", (name, lines[name])  # the optimizer state came back too
    # The frozen encoder of a scenario-a classifier stays frozen: only the head's 7 variables train.
    assert lines["classifier_a"][-1] == "7" and int(lines["classifier_b"][-1]) > 7
    assert "Skipping variable loading" not in out.stderr, out.stderr  # every optimizer state was restored
    np.testing.assert_allclose(np.load(folder / "astromer.scores.loaded.npy"), np.load(folder / "astromer.scores.npy"),
                               rtol=0, atol=1e-6)
    for name in paths:
        expected, loaded = np.load(folder / f"{name}.npy"), np.load(folder / f"{name}.loaded.npy")
        assert loaded.shape == expected.shape
        np.testing.assert_allclose(loaded, expected, rtol=0, atol=1e-6, err_msg=name)


def _registered_classes_in_source():
    found = {}
    for path in sorted((REPO_ROOT / "astromer").rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, (ast.ClassDef, ast.FunctionDef)) and any(
                "register_keras_serializable" in ast.unparse(d) for d in node.decorator_list
            ):
                module = ".".join(path.relative_to(REPO_ROOT).with_suffix("").parts)
                found[f"astromer>{node.name}"] = module
    return found


def test_every_registered_class_is_known_to_import_astromer():
    assert astromer._SERIALIZABLE == _registered_classes_in_source()
    objects = keras.saving.get_custom_objects()
    for name, module in astromer._SERIALIZABLE.items():
        cls = objects[name]
        if isinstance(cls, astromer._Deferred):
            cls = cls.resolve()
        assert cls.__module__ == module and keras.saving.get_registered_object(name) is cls
        assert keras.saving.get_registered_name(cls) == name


def test_import_astromer_stays_light():
    code = "import sys, astromer; print(sorted(m for m in ('keras', 'tensorflow', 'jax') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stderr


# ----------------------------------------------------------------------------- .keras wherever a model or preset is
def test_keras_files_load_as_presets(saved, tmp_path):
    folder, paths = saved
    x = dict(np.load(folder / "x.npz"))
    encoder = astromer.Astromer.from_preset(paths["astromer"])
    np.testing.assert_array_equal(np.asarray(encoder(x)), np.load(folder / "astromer.npy"))
    classifier = astromer.load_preset(paths["classifier_a"])
    assert isinstance(classifier, astromer.LightCurveClassifier) and classifier.class_names == ["x", "y", "z"]
    np.testing.assert_array_equal(np.asarray(classifier(x)), np.load(folder / "classifier_a.npy"))
    pt = astromer.AstroPT.from_preset(paths["astropt"])
    images = np.load(folder / "images.npy")
    np.testing.assert_array_equal(np.asarray(pt(pt.tokenize(images))), np.load(folder / "astropt.npy"))
    with pytest.raises(TypeError, match=r"holds a LightCurveClassifier, not an Astromer\.$"):
        astromer.Astromer.from_preset(paths["classifier_a"])
    renamed = tmp_path / "encoder.bin"  # recognised by content, not by name
    renamed.write_bytes(paths["astromer"].read_bytes())
    np.testing.assert_array_equal(np.asarray(astromer.load_preset(renamed)(x)), np.load(folder / "astromer.npy"))


@pytest.fixture(scope="module")
def survey(tmp_path_factory):
    from astromer.data.synthetic import write_simulated_survey

    return write_simulated_survey(tmp_path_factory.mktemp("survey"), 36, seed=2, max_observations=80)


def _astromer_command():
    script = os.path.join(os.path.dirname(sys.executable), "astromer")
    return [script] if os.path.isfile(script) else [sys.executable, "-m", "astromer"]


def _run_cli(argv, cwd):
    env = dict(os.environ, KERAS_BACKEND=keras.backend.backend())
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)


def test_classify_prints_a_reuse_command_that_works(survey, tmp_path):
    """Train with --model x.keras in one process, then run the printed command as printed in another."""
    encoder = astromer.Astromer(num_layers=1, num_heads=2, head_dim=8, ffn_dim=16, window_size=40)
    encoder.save(tmp_path / "encoder.keras")
    out = _run_cli([*_astromer_command(), "classify", str(survey), "-o", "my classifier", "--model", "encoder.keras",
                    "--epochs", "1", "--quiet"], cwd=tmp_path)  # a relative output folder with a space
    assert out.returncode == 0, out.stderr[-3000:]
    (command,) = re.findall(r"\(reuse: (astromer classify NEW_DATA .* -o OUT)\)$", out.stdout, flags=re.M)
    assert command == "astromer classify NEW_DATA --classifier 'my classifier/classifier.keras' -o OUT"
    head, _ = command.rsplit(" -o OUT", 1)
    argv = shlex.split(head.replace("NEW_DATA", shlex.quote(str(survey / "lightcurves.csv.gz")))) + ["-o", "predicted"]
    assert argv[0] == "astromer"
    again = _run_cli([*_astromer_command(), *argv[1:]], cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    import pandas as pd

    predictions = pd.read_csv(tmp_path / "predicted" / "predictions.csv")
    assert len(predictions) == 36 and {"p_cepheid", "p_non_variable"} <= set(predictions.columns)


def test_cli_takes_keras_files_and_preset_folders(survey, tmp_path):
    import contextlib
    import io

    import pandas as pd

    from astromer.cli.main import main

    encoder = astromer.Astromer(num_layers=1, num_heads=2, head_dim=8, ffn_dim=16, window_size=40)
    encoder.save(tmp_path / "encoder.keras")
    classifier = astromer.LightCurveClassifier(encoder, 6, hidden_units=(8,), class_names=[
        "cepheid", "eclipsing_binary", "long_period_variable", "non_variable", "rr_lyrae_ab", "rr_lyrae_c"])
    folder = astromer.save_preset(classifier, tmp_path / "classifier_preset")
    for argv in (["embed", survey, "-o", tmp_path / "e.parquet", "--preset", tmp_path / "encoder.keras", "--quiet"],
                 ["classify", survey / "lightcurves.csv.gz", "-o", tmp_path / "p", "--classifier", folder]):
        err = io.StringIO()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
            code = main([str(a) for a in argv])
        assert code == 0, err.getvalue()
    assert len(pd.read_parquet(tmp_path / "e.parquet")) == 36
    assert len(pd.read_csv(tmp_path / "p" / "predictions.csv")) == 36
