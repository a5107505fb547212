"""Converters for the ORIGINAL Astromer checkpoints.

- Astromer 1 TF object checkpoint (``macho_a0.zip``: ``conf.json`` + ``weights.index``),
- Astromer 1 legacy Keras h5 (``atlas.zip``: ``conf.json`` + ``weights.h5``),
- Astromer 2 pretraining folder (``config.toml`` + ``weights.index``).

Both TF checkpoints use the same object-path keys (Python attribute names of the
original code), so one key map serves v1 and v2. TensorFlow is imported only
here, to read checkpoints.
"""

import json
import re
import tomllib
from pathlib import Path

import h5py
import numpy as np

from astromer.models.astromer.architectures import ASTROMER_V1
from astromer.models.astromer.astromer_model import Astromer
from astromer.presets.converters.weights import WeightMismatchError, assign_weights

_SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"
_IGNORED = ("_CHECKPOINTABLE_OBJECT_GRAPH", "save_counter")


def original_variable_map(model):
    """Original checkpoint key (without ``/.ATTRIBUTES/VARIABLE_VALUE``) -> model variable."""
    out = {}

    def dense(prefix, layer):
        out[f"{prefix}/kernel"] = layer.kernel
        out[f"{prefix}/bias"] = layer.bias

    def norm(prefix, layer):
        out[f"{prefix}/gamma"] = layer.gamma
        out[f"{prefix}/beta"] = layer.beta

    enc, head = "layer_with_weights-0", "layer_with_weights-1"
    dense(f"{enc}/inp_transform", model.embedding.magnitude_projection)
    for i, block in enumerate(model.blocks):
        p = f"{enc}/enc_layers/{i}"
        dense(f"{p}/mha/wq", block.attention.query_dense)
        dense(f"{p}/mha/wk", block.attention.key_dense)
        dense(f"{p}/mha/wv", block.attention.value_dense)
        dense(f"{p}/mha/dense", block.attention.output_dense)
        dense(f"{p}/ffn/layer_with_weights-0", block.ffn_inner)
        dense(f"{p}/ffn/layer_with_weights-1", block.ffn_outer)
        norm(f"{p}/layernorm1", block.norm1)
        norm(f"{p}/layernorm2", block.norm2)
        if block.use_leak:
            dense(f"{p}/reshape_leak_1", block.leak_attention)
            dense(f"{p}/reshape_leak_2", block.leak_ffn)
    norm(f"{head}/bn_0", model.head.norm)
    dense(f"{head}/reg_layer", model.head.dense)
    if model.embedding.use_mask_token:
        out["msk_token"] = model.embedding.mask_token
    return out


def read_tf_checkpoint(prefix):
    """Read a TF object checkpoint into ``{key: array}`` (optimizer slots and bookkeeping dropped)."""
    import tensorflow as tf

    prefix = str(prefix)
    try:
        reader = tf.train.load_checkpoint(prefix)
    except Exception as exc:  # corrupted or truncated files
        raise ValueError(f"Cannot read the TensorFlow checkpoint {prefix!r}: {exc}") from exc
    values = {}
    for key in reader.get_variable_to_shape_map():
        if key.startswith(_IGNORED) or ".OPTIMIZER_SLOT" in key or key.startswith("optimizer/"):
            continue
        name = key[: -len(_SUFFIX)] if key.endswith(_SUFFIX) else key
        try:
            values[name] = reader.get_tensor(key)
        except Exception as exc:  # truncated data file
            raise ValueError(
                f"The TensorFlow checkpoint {prefix!r} is corrupted or truncated: reading {key!r} "
                f"failed ({type(exc).__name__}: {exc}). Re-download or re-extract it."
            ) from exc
    return values


def original_time_rates(dim, base=10000.0):
    """The float32 rates ``1/base**(2k/dim)`` exactly as the original TensorFlow code computes them.

    TensorFlow's float32 ``pow`` and ``reciprocal`` are not correctly rounded,
    and at times of ~1500 days a one-ulp rate difference moves the encoding by
    ~1e-4, so converted models carry these exact values (see ``time_rates``).
    """
    import tensorflow as tf

    k = tf.range(dim, dtype=tf.float32)
    exponent = tf.divide(tf.multiply(2.0, k), tf.cast(dim, tf.float32))
    rates = tf.math.reciprocal(tf.pow(tf.constant(base, tf.float32), exponent))
    return [float(r) for r in rates.numpy()]


# --------------------------------------------------------------------------- v1
def v1_config(conf):
    """Model arguments from an Astromer 1 ``conf.json`` dict.

    ``head_dim`` there is the model WIDTH (4 heads x 64); ``base`` is ignored by
    the original code (the time encoding always uses 10000).

    ``dropout`` is 0, whatever ``conf.json`` says (0.1 in the published weights): the original
    library's training step calls ``model(batch)`` without ``training=True`` and its encoder's
    ``call`` defaults to ``training=False``, so those weights were trained with dropout off. Ours
    honour ``training=True`` in ``fit``, and with 0.1 the published encoder's masked R² on EROS-1
    falls from 0.74 (inference) to about -1 in training mode, so fine-tuning (scenarios b, c)
    would start from a broken model. Inference is unchanged; ``from_preset(..., dropout=0.1)``
    restores it for a user who wants it.
    """
    try:
        heads = int(conf["heads"])
        width = int(conf["head_dim"])
        config = dict(
            ASTROMER_V1,
            num_layers=int(conf["layers"]),
            num_heads=heads,
            head_dim=width // heads,
            ffn_dim=int(conf["dff"]),
            dropout=0.0,
            use_leak=bool(conf.get("use_leak", False)),
            window_size=int(conf.get("max_obs", 200)),
            time_rates=original_time_rates(width),
        )
    except KeyError as exc:
        raise ValueError(f"Astromer 1 conf.json lacks the key {exc}; found {sorted(conf)}.") from None
    if width % heads:
        raise ValueError(f"conf.json: head_dim (model width) {width} is not divisible by heads {heads}.")
    return config


def _read_json(path):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"Cannot read {path}: {exc}") from exc


def load_astromer_v1_checkpoint(folder):
    """Astromer 1 from a folder with ``conf.json`` and a TF object checkpoint ``weights.*``."""
    folder = Path(folder)
    model = Astromer(**v1_config(_read_json(folder / "conf.json")), name="astromer")
    values = read_tf_checkpoint(folder / "weights")
    assign_weights(original_variable_map(model), values, f"the Astromer 1 checkpoint in {folder}")
    return model


def _h5_weights(group):
    names = [n.decode() if isinstance(n, bytes) else n for n in group.attrs["weight_names"]]
    return [(n, np.asarray(group[n])) for n in names]


def load_astromer_v1_h5(folder):
    """Astromer 1 from a folder with ``conf.json`` and a legacy Keras 2 ``weights.h5`` (ATLAS).

    Legacy h5 files name variables by global TF counters (``dense_3``), so the
    tensors are matched by their order inside each layer group, checked against
    the expected variable kinds and shapes.
    """
    folder = Path(folder)
    model = Astromer(**v1_config(_read_json(folder / "conf.json")), name="astromer")
    path = folder / "weights.h5"
    try:
        with h5py.File(path, "r") as f:
            layer_names = [n.decode() if isinstance(n, bytes) else n for n in f.attrs["layer_names"]]
            missing_groups = {"encoder", "regression"} - set(layer_names)
            if missing_groups:
                raise WeightMismatchError(
                    f"{path} has no layer group(s) {sorted(missing_groups)}; it holds {layer_names}."
                )
            encoder = _h5_weights(f["encoder"])
            regression = _h5_weights(f["regression"])
    except (OSError, KeyError) as exc:
        raise ValueError(f"Cannot read the Keras h5 weights {path}: {exc}") from exc

    values = {}
    # Order within the encoder group: inp_transform, then per block
    # WQ, WK, WV, MixerDense, FFN dense x2, LayerNorm x2 (kernel/bias, gamma/beta).
    patterns = ["dense/kernel", "dense/bias"]
    per_block = ["WQ/kernel", "WQ/bias", "WK/kernel", "WK/bias", "WV/kernel", "WV/bias",
                 "MixerDense/kernel", "MixerDense/bias", "dense_\\d+/kernel", "dense_\\d+/bias",
                 "dense_\\d+/kernel", "dense_\\d+/bias", "layer_normalization[_\\d]*/gamma",
                 "layer_normalization[_\\d]*/beta", "layer_normalization[_\\d]*/gamma",
                 "layer_normalization[_\\d]*/beta"]
    if model.use_leak:
        raise ValueError("use_leak=True is not supported for legacy h5 Astromer 1 weights.")
    enc = "layer_with_weights-0"
    target = [f"{enc}/inp_transform/kernel", f"{enc}/inp_transform/bias"]
    for i in range(model.num_layers):
        p = f"{enc}/enc_layers/{i}"
        patterns += per_block
        target += [f"{p}/mha/{n}/{w}" for n in ("wq", "wk", "wv", "dense") for w in ("kernel", "bias")]
        target += [f"{p}/ffn/layer_with_weights-{j}/{w}" for j in (0, 1) for w in ("kernel", "bias")]
        target += [f"{p}/layernorm{j}/{w}" for j in (1, 2) for w in ("gamma", "beta")]
    if len(encoder) != len(target):
        raise WeightMismatchError(
            f"{path}: the encoder group holds {len(encoder)} tensors, the model needs {len(target)} "
            f"({model.num_layers} blocks per conf.json)."
        )
    for (name, value), pattern, key in zip(encoder, patterns, target):
        if not re.search(pattern + ":0$", name):
            raise WeightMismatchError(f"{path}: tensor {name!r} found where {pattern!r} was expected.")
        values[key] = value
    head = "layer_with_weights-1"
    head_patterns = {
        f"{head}/reg_layer/kernel": "RegLayer/kernel", f"{head}/reg_layer/bias": "RegLayer/bias",
        f"{head}/bn_0/gamma": "layer_normalization[_\\d]*/gamma",
        f"{head}/bn_0/beta": "layer_normalization[_\\d]*/beta",
    }
    for key, pattern in head_patterns.items():
        found = [v for n, v in regression if re.search(pattern + ":0$", n)]
        if len(found) != 1:
            raise WeightMismatchError(
                f"{path}: expected one {pattern!r} tensor in the regression group, found {len(found)} "
                f"among {[n for n, _ in regression]}."
            )
        values[key] = found[0]
    assign_weights(original_variable_map(model), values, f"the Astromer 1 h5 weights {path}")
    return model


# --------------------------------------------------------------------------- v2
_MASK_FORMATS = {"K": "key", "Q": "query", "QK": "query_key"}


def v2_config(opt):
    """Model arguments from an Astromer 2 ``config.toml`` dict (the original argparse options)."""
    try:
        arch = opt.get("arch", "base")
        if arch != "base":
            raise ValueError(
                f"config.toml arch={arch!r}: only the 'base' Astromer 2 encoder is supported."
            )
        mask_format = opt.get("mask_format", "K")
        if mask_format not in _MASK_FORMATS:
            raise ValueError(
                f"config.toml mask_format={mask_format!r} is not supported "
                f"(supported: {sorted(_MASK_FORMATS)})."
            )
        heads, head_dim = int(opt["num_heads"]), int(opt["head_dim"])
        pe_dim = int(opt.get("pe_dim", heads * head_dim))
        if pe_dim != heads * head_dim:
            raise ValueError(
                f"config.toml pe_dim={pe_dim} differs from num_heads*head_dim={heads * head_dim}; "
                "the original model cannot have been built with these values."
            )
        return dict(
            num_layers=int(opt["num_layers"]),
            num_heads=heads,
            head_dim=head_dim,
            ffn_dim=int(opt["mixer"]),
            window_size=int(opt.get("window_size", 200)),
            dropout=float(opt.get("dropout", 0.0)),
            ffn_activation="tanh",
            block_style="post",
            use_leak=bool(opt.get("use_leak", False)),
            attention_mask_format=_MASK_FORMATS[mask_format],
            attention_mask_alpha=float(opt.get("m_alpha", -1e9)),
            attention_temperature=float(opt.get("temperature", 0.0)),
            layer_norm_epsilon=1e-6,
            # The original functional graph drops its AddMSKToken layer: no token.
            mask_token=False,
            time_rates=original_time_rates(heads * head_dim),
        )
    except KeyError as exc:
        raise ValueError(f"Astromer 2 config.toml lacks the key {exc}; found {sorted(opt)}.") from None


def load_astromer_v2_folder(folder):
    """Astromer 2 from an original pretraining folder (``config.toml`` + ``weights.*``)."""
    folder = Path(folder)
    try:
        opt = tomllib.loads((folder / "config.toml").read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"Cannot read {folder / 'config.toml'}: {exc}") from exc
    model = Astromer(**v2_config(opt), name="astromer")
    values = read_tf_checkpoint(folder / "weights")
    assign_weights(original_variable_map(model), values, f"the Astromer 2 checkpoint in {folder}")
    return model
