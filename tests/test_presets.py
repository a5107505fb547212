"""Named presets: mirror/cache/offline handling, integrity checks, our preset format, CLI."""

import functools
import http.server
import json
import os
import subprocess
import sys
import threading
import urllib.error

import numpy as np
import pytest

import astromer
from astromer.presets import download as dl
from astromer.presets.converters import astromer_original
from astromer.presets.registry import all_presets
from conftest import REPO_ROOT, require_shared


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty ASTROMER_HOME and the shared weights as mirror."""
    monkeypatch.setenv("ASTROMER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ASTROMER_MIRROR", str(require_shared("weights", "astromer")))
    monkeypatch.delenv("ASTROMER_OFFLINE", raising=False)
    return tmp_path / "home"


@pytest.fixture(scope="module")
def v1_ref():
    return np.load(require_shared("reference", "astromer_v1", "reference.npz"))


def _embedding_error(model, ref):
    emb = model.embed([ref["raw_lc150"]], verbose=0, time_precision="float32")[0]  # the original's arithmetic
    return np.abs(emb - ref["embedding"][0, :150])


def _flip_byte(path, offset=None):
    data = bytearray(path.read_bytes())
    offset = len(data) // 2 if offset is None else offset
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def _no_tf_checkpoint(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the TF checkpoint was read")

    monkeypatch.setattr(astromer_original, "read_tf_checkpoint", refuse)


def test_preset_files_are_complete():
    specs = all_presets()
    assert {"astromer_v1", "astromer_v1_atlas", "astromer_v2"} <= set(specs)
    assert astromer.list_presets() == sorted(specs)
    for name, spec in specs.items():
        src = spec["source"]
        assert src["url"].startswith("https://") and src["filename"] in src["url"], name
        assert len(src["sha256"]) == 64 and int(src["sha256"], 16) >= 0, name
        assert spec["license"] and spec["citation"] and spec["description"], name
    assert specs["astromer_v1"]["source"]["sha256"].startswith("76a204a3")
    assert specs["astromer_v2"]["source"]["filename"] == "pt_macho_v2_2025.zip"


def test_named_preset_from_mirror_then_from_cache(home, v1_ref, monkeypatch):
    model = astromer.load_preset("astromer_v1", progress=False)
    err = _embedding_error(model, v1_ref)
    assert err.max() < 1e-3 and err.mean() < 1e-5
    converted = home / "presets" / "astromer_v1"
    meta = json.loads((converted / "metadata.json").read_text())
    assert meta["parameter_count"] == 661_505
    assert meta["source"]["sha256"] == all_presets()["astromer_v1"]["source"]["sha256"]
    # Second call: from the converted preset, without reading the TF checkpoint.
    _no_tf_checkpoint(monkeypatch)
    again = astromer.load_preset("astromer_v1", progress=False)
    np.testing.assert_array_equal(_embedding_error(again, v1_ref), err)


def test_corrupted_cached_archive_is_repaired_from_the_mirror(home, v1_ref):
    astromer.load_preset("astromer_v1", progress=False)
    archive = home / "archives" / "macho_a0.zip"
    _flip_byte(archive)
    import shutil

    shutil.rmtree(home / "presets" / "astromer_v1")  # force a new conversion from the archive
    with pytest.warns(UserWarning, match="cached archive .*macho_a0.zip is corrupted"):
        model = astromer.load_preset("astromer_v1", progress=False)
    assert dl.sha256_of(archive) == all_presets()["astromer_v1"]["source"]["sha256"]
    assert _embedding_error(model, v1_ref).max() < 1e-3


def test_corrupted_converted_weights_are_reconverted(home, v1_ref):
    astromer.load_preset("astromer_v1", progress=False)
    weights = home / "presets" / "astromer_v1" / "model.weights.h5"
    _flip_byte(weights, offset=os.path.getsize(weights) - 100)
    with pytest.warns(UserWarning, match="model.weights.h5 is corrupted"):
        model = astromer.load_preset("astromer_v1", progress=False)
    assert _embedding_error(model, v1_ref).max() < 1e-3


def test_cached_conversion_from_another_converter_version_is_converted_again(home, v1_ref):
    from astromer.presets.loader import CONVERTER_VERSION

    astromer.load_preset("astromer_v1", progress=False)
    meta_path = home / "presets" / "astromer_v1" / "metadata.json"
    meta = json.loads(meta_path.read_text())
    assert meta["source"]["converter_version"] == CONVERTER_VERSION
    config_path = home / "presets" / "astromer_v1" / "config.json"
    config = json.loads(config_path.read_text())
    config["config"]["dropout"] = 0.1                       # what converter version 1 wrote
    config_path.write_text(json.dumps(config))
    meta["source"]["converter_version"] = 1
    meta["files"]["config.json"] = dl.sha256_of(config_path)
    meta_path.write_text(json.dumps(meta))
    model = astromer.load_preset("astromer_v1", progress=False)
    assert model.dropout == 0.0
    assert json.loads(meta_path.read_text())["source"]["converter_version"] == CONVERTER_VERSION
    assert _embedding_error(model, v1_ref).max() < 1e-3


def test_astromer_1_presets_train_with_dropout_off_as_the_original_did(v1_ref):
    """The original library never passed training=True (its encoder defaults to training=False),
    so the published weights were trained without dropout. With conf.json's 0.1 switched on, the
    training-mode reconstruction strays from the inference one by ~3x the variance of the
    reconstruction itself (masked R2 on EROS-1: 0.74 in inference, about -1 in training mode),
    and fine-tuning (scenarios b, c) would start from a broken model."""
    import keras

    archive = require_shared("weights", "astromer", "macho_a0.zip")
    x = {"times": v1_ref["times"], "magnitudes": v1_ref["input"], "mask": 1 - v1_ref["mask_in"]}

    def deviation(model):   # squared distance of training from inference mode / variance of inference
        inference = keras.ops.convert_to_numpy(model(x, training=False))
        keras.utils.set_random_seed(0)
        training = keras.ops.convert_to_numpy(model(x, training=True))
        return np.sum((training - inference) ** 2) / np.sum((inference - inference.mean(1, keepdims=True)) ** 2)

    model = astromer.load_preset(archive)
    assert model.dropout == 0.0 and model.get_config()["dropout"] == 0.0
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(x)), v1_ref["reconstruction"][..., 0], atol=1e-4)
    assert deviation(model) == 0.0
    assert deviation(astromer.Astromer.from_preset(archive, dropout=0.1)) > 1.0   # why the preset turns it off


def test_truncated_mirror_file_is_never_loaded(home, tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    raw = require_shared("weights", "astromer", "macho_a0.zip").read_bytes()
    (mirror / "macho_a0.zip").write_bytes(raw[: len(raw) // 3])
    monkeypatch.setenv("ASTROMER_MIRROR", str(mirror))
    monkeypatch.setenv("ASTROMER_OFFLINE", "1")
    with pytest.warns(UserWarning, match="mirror copy"), pytest.raises(FileNotFoundError, match="macho_a0.zip"):
        astromer.load_preset("astromer_v1", progress=False)
    assert not (home / "archives" / "macho_a0.zip").exists()


def test_missing_v2_archive_fails_fast_with_a_useful_message(home, monkeypatch):
    def no_network(*args, **kwargs):
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(dl.urllib.request, "urlopen", no_network)
    with pytest.raises(FileNotFoundError) as info:
        astromer.load_preset("astromer_v2", progress=False)
    message = str(info.value)
    assert "pt_macho_v2_2025.zip" in message
    assert "https://zenodo.org/records/18207945/files/pt_macho_v2_2025.zip" in message
    assert str(home / "archives") in message and "ASTROMER_MIRROR" in message
    monkeypatch.setenv("ASTROMER_OFFLINE", "1")
    with pytest.raises(FileNotFoundError, match="ASTROMER_OFFLINE=1"):
        astromer.load_preset("astromer_v2", progress=False)


def test_atlas_preset(home, v1_ref):
    model = astromer.load_preset("astromer_v1_atlas", progress=False)
    assert model.count_params() == 661_505
    assert np.isfinite(model.embed([v1_ref["raw_lc150"]], verbose=0).pooled).all()


def test_save_and_load_preset_round_trip(tmp_path, v1_ref):
    model = astromer.load_preset(require_shared("weights", "astromer", "macho_a0.zip"))
    folder = astromer.save_preset(model, tmp_path / "mine")
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "metadata.json", "model.weights.h5"]
    loaded = astromer.load_preset(folder)
    assert isinstance(loaded, astromer.Astromer) and loaded.get_config() == model.get_config()
    x = {"times": v1_ref["times"], "magnitudes": v1_ref["input"], "mask": 1 - v1_ref["mask_in"]}
    np.testing.assert_array_equal(np.asarray(loaded(x)), np.asarray(model(x)))
    assert astromer.Astromer.from_preset(folder).count_params() == 661_505


def test_from_preset_works_before_the_presets_floor_is_imported(tmp_path):
    """The models import nothing of presets/: ``from_preset`` finds the loader through
    astromer.models.preset_hook, which imports it on first use."""
    model = astromer.Astromer(num_layers=1, num_heads=2, head_dim=8, ffn_dim=16, window_size=20)
    folder = astromer.save_preset(model, tmp_path / "tiny")
    script = ("import sys\n"
              "from astromer.models import Astromer, AstroPT\n"
              "before = 'astromer.presets.loader' in sys.modules\n"
              "m = Astromer.from_preset(sys.argv[1])\n"
              "print(before, type(m).__name__, m.count_params())\n"
              "try:\n    AstroPT.from_preset(sys.argv[1])\nexcept TypeError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", script, str(folder)], capture_output=True, text=True,
                         env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.strip().splitlines()
    assert lines[0] == f"False Astromer {model.count_params()}"
    assert lines[1] == f"Preset {str(folder)!r} holds a Astromer, not an AstroPT."


def test_preset_saved_on_one_backend_loads_on_the_other(tmp_path, v1_ref):
    import keras

    model = astromer.load_preset(require_shared("weights", "astromer", "macho_a0.zip"))
    astromer.save_preset(model, tmp_path / "p")
    x = {"times": v1_ref["times"][:2], "magnitudes": v1_ref["input"][:2], "mask": 1 - v1_ref["mask_in"][:2]}
    np.savez(tmp_path / "x.npz", **x)
    other = "jax" if keras.backend.backend() == "tensorflow" else "tensorflow"
    script = (
        "import numpy as np, astromer; x = dict(np.load('x.npz')); "
        "np.save('out.npy', np.asarray(astromer.load_preset('p')(x)))"
    )
    env = dict(os.environ, KERAS_BACKEND=other)
    subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, check=True, capture_output=True)
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), np.asarray(model(x)), atol=1e-5)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_download_verifies_and_is_atomic(server, tmp_path):
    root, url = server
    (root / "a.bin").write_bytes(b"x" * 5000)
    good = dl.sha256_of(root / "a.bin")
    dest = tmp_path / "dl" / "a.bin"
    dl.download(f"{url}/a.bin", dest, sha256=good, progress=False)
    assert dest.read_bytes() == b"x" * 5000
    with pytest.raises(dl.IntegrityError, match="sha256"):
        dl.download(f"{url}/a.bin", tmp_path / "dl" / "b.bin", sha256="0" * 64, progress=False)
    with pytest.raises(urllib.error.HTTPError):
        dl.download(f"{url}/missing.bin", tmp_path / "dl" / "c.bin", progress=False)
    assert sorted(p.name for p in (tmp_path / "dl").iterdir()) == ["a.bin"]  # nothing partial left


def test_url_handle_and_named_preset_download(server, home, monkeypatch, v1_ref):
    root, url = server
    (root / "macho_a0.zip").write_bytes(require_shared("weights", "astromer", "macho_a0.zip").read_bytes())
    model = astromer.load_preset(f"{url}/macho_a0.zip", progress=False)
    assert _embedding_error(model, v1_ref).max() < 1e-3
    # A named preset whose archive is only on the "network":
    monkeypatch.delenv("ASTROMER_MIRROR")
    spec = dict(all_presets()["astromer_v1"])
    spec["source"] = dict(spec["source"], url=f"{url}/macho_a0.zip")
    monkeypatch.setattr("astromer.presets.loader.get_preset", lambda name: spec)
    monkeypatch.setattr("astromer.presets.loader.all_presets", lambda: {"astromer_v1": spec})
    model = astromer.load_preset("astromer_v1", progress=False)
    assert (home / "archives" / "macho_a0.zip").is_file()
    assert _embedding_error(model, v1_ref).max() < 1e-3


def _cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "astromer", *args], capture_output=True, text=True,
                          cwd=REPO_ROOT, env=dict(os.environ, **(env or {})))


def test_cli_presets_list_convert_and_errors(tmp_path):
    out = _cli("presets", "list")
    assert out.returncode == 0, out.stderr
    for name, spec in all_presets().items():
        line = next(l for l in out.stdout.splitlines() if l.startswith(name + " "))
        assert spec["source"]["url"] in line and spec["license"] in line
    archive = require_shared("weights", "astromer", "macho_a0.zip")
    out = _cli("presets", "convert", str(archive), str(tmp_path / "conv"))
    assert out.returncode == 0, out.stderr
    assert "661,505 parameters" in out.stdout
    meta = json.loads((tmp_path / "conv" / "metadata.json").read_text())
    assert meta["source"]["sha256"] == all_presets()["astromer_v1"]["source"]["sha256"]
    bad = _cli("presets", "download", "astromer_v2", "-q",
               env={"ASTROMER_HOME": str(tmp_path / "h"), "ASTROMER_OFFLINE": "1"})
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0 and "pt_macho_v2_2025.zip" in bad.stderr
    missing = _cli("presets", "convert", str(tmp_path / "nope.zip"), str(tmp_path / "o"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr


def test_hf_handles_map_to_hub_addresses(monkeypatch, tmp_path):
    from astromer.presets import loader

    requested = []

    def fake_remote(url, progress=True):
        requested.append(url)
        raise FileNotFoundError("offline test")

    monkeypatch.setattr(loader, "_remote_file", fake_remote)
    with pytest.raises(FileNotFoundError):
        astromer.load_preset("hf://someone/astromer-preset")
    assert requested == ["https://huggingface.co/someone/astromer-preset/resolve/main/config.json"]
    requested.clear()
    with pytest.raises(FileNotFoundError):
        astromer.load_preset("hf://someone/repo/weights/macho_a0.zip")
    assert requested == ["https://huggingface.co/someone/repo/resolve/main/weights/macho_a0.zip"]
    with pytest.raises(ValueError, match="hf://owner/repo"):
        astromer.load_preset("hf://justone")


def test_from_preset_takes_keras_hub_options(v1_ref, tmp_path):
    import keras

    archive = require_shared("weights", "astromer", "macho_a0.zip")
    base = astromer.Astromer.from_preset(archive)
    x = {"times": v1_ref["times"][:2], "magnitudes": v1_ref["input"][:2], "mask": 1 - v1_ref["mask_in"][:2]}
    reference = keras.ops.convert_to_numpy(base(x))

    half = astromer.Astromer.from_preset(archive, dtype="bfloat16")
    assert {str(v.dtype) for v in half.weights} == {"bfloat16"}
    assert np.isfinite(keras.ops.convert_to_numpy(keras.ops.cast(half(x), "float32"))).all()
    mixed = astromer.Astromer.from_preset(archive, dtype="mixed_bfloat16")   # float32 weights, bf16 compute
    assert {str(v.dtype) for v in mixed.weights} == {"float32"} and mixed.compute_dtype == "bfloat16"
    out = keras.ops.convert_to_numpy(keras.ops.cast(mixed(x), "float32"))
    np.testing.assert_array_equal(mixed.get_weights()[0], base.get_weights()[0])
    assert np.corrcoef(out.ravel(), reference.ravel())[0, 1] > 0.95, np.corrcoef(out.ravel(), reference.ravel())

    frozen = astromer.Astromer.from_preset(archive, trainable=False)
    assert frozen.trainable_weights == [] and len(frozen.non_trainable_weights) == len(base.weights)
    assert base.trainable and len(base.trainable_weights) == len(base.weights)

    fresh = astromer.Astromer.from_preset(archive, load_weights=False, num_layers=1)
    assert fresh.num_layers == 1 and fresh.count_params() < base.count_params()
    np.testing.assert_allclose(keras.ops.convert_to_numpy(
        astromer.Astromer.from_preset(archive, dropout=0.3)(x)), reference, atol=1e-6)   # inference: no dropout

    saved = astromer.save_preset(frozen, tmp_path / "frozen")
    assert not astromer.Astromer.from_preset(saved).trainable                # kept as saved by default
    assert len(astromer.Astromer.from_preset(saved, trainable=True).trainable_weights) == len(base.weights)

    with pytest.raises(ValueError, match="cannot load the weights of preset .* pass load_weights=False"):
        astromer.Astromer.from_preset(archive, num_layers=1)
    with pytest.raises(TypeError, match=r"got unknown argument\(s\) \['widht'\]; it takes load_weights, dtype"):
        astromer.Astromer.from_preset(archive, widht=64)


def test_keras_hub_names_presets_save_to_preset_and_a_classifier_from_an_encoder_preset(home, v1_ref, tmp_path):
    import keras

    assert sorted(astromer.Astromer.presets) == ["astromer_v1", "astromer_v1_atlas", "astromer_v2"]
    assert sorted(astromer.AstroPT.presets) == ["astropt_v1_0830m", "astropt_v1_2100m"]
    assert astromer.LightCurveClassifier.presets.keys() == astromer.Astromer.presets.keys()   # encoder presets
    assert astromer.Astromer.presets["astromer_v1"]["source"]["filename"] == "macho_a0.zip"

    frozen = astromer.Astromer.from_preset("astromer_v1", trainable=False, progress=False)
    assert frozen.trainable_weights == [] and len(frozen.non_trainable_weights) == len(frozen.weights) > 0
    folder = frozen.save_to_preset(tmp_path / "mine")
    assert sorted(os.listdir(folder)) == ["config.json", "metadata.json", "model.weights.h5"]
    again = astromer.Astromer.from_preset(folder)
    assert not again.trainable
    np.testing.assert_array_equal(_embedding_error(again, v1_ref), _embedding_error(frozen, v1_ref))

    classifier = astromer.LightCurveClassifier.from_preset("astromer_v1", num_classes=3, class_names=list("abc"),
                                                           progress=False)
    assert classifier.num_classes == 3 and classifier.encoder.num_layers == 2 and not classifier.encoder.trainable
    x = {"times": v1_ref["times"][:2], "magnitudes": v1_ref["input"][:2], "mask": 1 - v1_ref["mask_in"][:2]}
    saved = classifier.save_to_preset(tmp_path / "classifier")
    loaded = astromer.LightCurveClassifier.from_preset(saved)
    assert loaded.class_names == ["a", "b", "c"]
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(loaded(x)), keras.ops.convert_to_numpy(classifier(x)))
    with pytest.raises(ValueError, match=r"is a classifier of 3 classes, not 4; load its encoder with"):
        astromer.LightCurveClassifier.from_preset(saved, num_classes=4)
    with pytest.raises(ValueError, match=r"preset 'astromer_v1' is an Astromer encoder: pass num_classes="):
        astromer.LightCurveClassifier.from_preset("astromer_v1", progress=False)
    with pytest.raises(TypeError, match=r"is a saved classifier: its head is fixed, so \['head'\] cannot be given"):
        astromer.LightCurveClassifier.from_preset(saved, head="mlp")
