"""Numerical parity with the ORIGINAL astroPT 2.0.9 and v1.0.0 (../shared/reference/astropt_v{1,2}).

Tolerances (issue 6): tokens max |diff| < 1e-5; predictions, per-block hidden
states and embeddings < 1e-4; the loss relative < 1e-5.
"""

import sys

import keras
import numpy as np
import pytest

import astromer
from astromer.presets.converters import astropt_original
from astromer.presets.converters.astropt_original import is_astropt_checkpoint, load_astropt_checkpoint
from astromer.presets.converters.weights import WeightMismatchError
from conftest import require_shared
from torch_zip_writer import Tensor, write_torch_zip

VERSIONS = ("v1", "v2")
N_PARAMS = {"v1": 271_872, "v2": 577_984}  # generation_meta.json of each reference


@pytest.fixture(scope="module", params=VERSIONS)
def ref(request):
    folder = require_shared("reference", f"astropt_{request.param}")
    model = astromer.load_preset(folder)  # the public path: detected by content, no torch
    assert "torch" not in sys.modules
    return request.param, model, np.load(folder / "reference.npz")


def _maxdiff(a, b):
    return float(np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)).max())


def test_converted_architecture(ref):
    version, model, _ = ref
    assert isinstance(model, astromer.AstroPT)
    assert (model.num_layers, model.num_heads, model.embed_dim, model.block_size) == (3, 4, 64, 64)
    assert model.count_params() == N_PARAMS[version]
    if version == "v2":
        assert model.tokenizer == "aim" and model.transpose_images and model.token_precision == "float16"
        assert model.embedding_layer is None and model.embedding_tokens is None
    else:
        assert model.tokenizer == "relu_mlp" and not model.transpose_images
        assert model.token_precision == "bfloat16"
        assert model.embedding_layer == -1 and model.embedding_tokens == 64


def test_tokens_from_the_stored_images(ref):
    _, model, r = ref
    tokens = model.tokenize(r["images_uint8_hwc"])
    assert tokens.shape == (4, 64, 768)
    assert _maxdiff(tokens, r["tokens"]) < 1e-5
    np.testing.assert_array_equal(r["spiral_order"], astromer.layers.spiral_order(8))


def test_tokens_in_graph_agree_to_one_float16_step(ref):
    """The in-graph layer (used by fit on images) is float32: rare last-bit differences only."""
    _, model, r = ref
    graph = np.asarray(model.standardize(model.patcher(r["images_uint8_hwc"])))
    diff = np.abs(graph - r["tokens"])
    assert diff.max() <= 2e-3 and (diff > 0).mean() < 2e-3


def test_next_patch_predictions(ref):
    _, model, r = ref
    x = r["tokens"][:, :-1]
    assert _maxdiff(model(x), r["predictions"]) < 1e-4
    positions = np.broadcast_to(np.arange(63), (4, 63))  # explicit positions (v2 stores them: 0..63)
    assert _maxdiff(model(x, positions=positions), r["predictions"]) < 1e-4
    if "positions" in r:
        np.testing.assert_array_equal(r["positions"][:, :-1], positions)
    assert _maxdiff(model(r["images_uint8_hwc"]), r["predictions"]) < 1e-4  # the training forward


def test_per_block_hidden_states(ref):
    _, model, r = ref
    states = model.hidden_states(r["tokens"][:, :-1])
    names = ["hidden_in", "hidden_block0", "hidden_block1", "hidden_block2"]
    assert len(states) == len(names)
    for state, name in zip(states, names):
        assert _maxdiff(state, r[name]) < 1e-4, name


def test_embeddings_from_raw_images(ref):
    _, model, r = ref
    images = r["images_uint8_hwc"]
    assert _maxdiff(model.embed(images), r["embeddings_mean"]) < 1e-4
    assert _maxdiff(model.embed(images.astype("float32")), r["embeddings_mean"]) < 1e-4
    assert _maxdiff(model.embed(images, pooling="none"), r["embeddings_none"]) < 1e-4
    assert _maxdiff(model.embed_tokens(r["tokens"]), r["embeddings_mean"]) < 1e-4


def test_loss(ref):
    _, model, r = ref
    pred = model(r["tokens"][:, :-1])
    loss = float(keras.losses.Huber(delta=1.0)(r["tokens"][:, 1:], pred))
    assert abs(loss - float(r["loss"])) / float(r["loss"]) < 1e-5
    model.compile()
    evaluated = model.evaluate(r["tokens"], verbose=0, batch_size=4)  # targets: the next tokens
    assert abs(evaluated - float(r["loss"])) / float(r["loss"]) < 1e-5


# ----------------------------------------------------------------------------- detection and schemas
def test_detection_by_content(tmp_path):
    v2 = require_shared("reference", "astropt_v2")
    v1 = require_shared("reference", "astropt_v1")
    assert is_astropt_checkpoint(v2) and is_astropt_checkpoint(v2 / "ckpt.pt")
    assert is_astropt_checkpoint(v1) and is_astropt_checkpoint(v1 / "000000_ckpt.pt")
    assert astropt_original.find_checkpoint_file(v1).name == "000000_ckpt.pt"
    assert not is_astropt_checkpoint(require_shared("reference", "astromer_v2_leak"))
    assert not is_astropt_checkpoint(v2 / "reference.npz")
    assert not is_astropt_checkpoint(tmp_path)
    write_torch_zip(tmp_path / "other.pt", {"weights": Tensor(np.zeros(3, "float32"))})
    assert not is_astropt_checkpoint(tmp_path / "other.pt")


def _v2_checkpoint_with(tmp_path, rename=lambda k: k, drop=(), extra=None):
    from astromer.presets.converters.torch_zip import load_torch_checkpoint

    ckpt = load_torch_checkpoint(require_shared("reference", "astropt_v2", "ckpt.pt"))
    state = {rename(k): Tensor(np.asarray(v)) for k, v in ckpt["model"].items() if k not in drop}
    state.update(extra or {})
    images = ckpt["model_args"]["modalities"][0]
    args = {k: v for k, v in ckpt["model_args"].items() if k != "modalities"}
    args["modalities"] = [dict(images.fields)]
    return write_torch_zip(tmp_path / "ckpt.pt", {"model": state, "model_args": args, "config": ckpt["config"]})


def test_later_v2_schema_encoders_decoders_embedders(tmp_path):
    """astroPT 2.x after 2.0.9 renamed wte/wpe/lm_head to encoders/embedders/decoders."""

    def rename(key):
        key = key.replace("_orig_mod.", "")
        key = key.replace("transformer.wte.images.", "encoders.images.")
        key = key.replace("transformer.wpe.images.", "embedders.images.")
        return key.replace("lm_head.images.", "decoders.images.")

    path = _v2_checkpoint_with(tmp_path, rename=rename)
    model = load_astropt_checkpoint(path)
    r = np.load(require_shared("reference", "astropt_v2", "reference.npz"))
    assert _maxdiff(model(r["tokens"][:, :-1]), r["predictions"]) < 1e-4


def test_mismatched_checkpoint_loads_nothing(tmp_path):
    key = "_orig_mod.transformer.h.2.mlp.c_fc.weight"
    extra = {"_orig_mod.transformer.h.2.extra": Tensor(np.ones(2, "f4"))}
    path = _v2_checkpoint_with(tmp_path, drop=(key,), extra=extra)
    with pytest.raises(WeightMismatchError, match="transformer.h.2.mlp.c_fc.weight") as info:
        load_astropt_checkpoint(path)
    assert "transformer.h.2.extra" in str(info.value)


def test_other_modalities_are_refused(tmp_path):
    path = _v2_checkpoint_with(
        tmp_path, extra={"_orig_mod.transformer.wte.spectra.c_fc.weight": Tensor(np.ones((4, 4), "f4"))}
    )
    with pytest.raises(ValueError, match="only the single 'images'"):
        load_astropt_checkpoint(path)


@pytest.mark.parametrize("version", VERSIONS)
def test_load_preset_reproduces_the_reference(version):
    """The acceptance check: astromer.load_preset(folder or .pt) with torch absent."""
    folder = require_shared("reference", f"astropt_{version}")
    r = np.load(folder / "reference.npz")
    checkpoint = astropt_original.find_checkpoint_file(folder)
    for handle in (folder, checkpoint):
        model = astromer.load_preset(str(handle))
        assert isinstance(model, astromer.AstroPT)
        assert _maxdiff(model(r["tokens"][:, :-1]), r["predictions"]) < 1e-4
        assert _maxdiff(model.embed(r["images_uint8_hwc"]), r["embeddings_mean"]) < 1e-4
    assert isinstance(astromer.AstroPT.from_preset(str(folder)), astromer.AstroPT)
