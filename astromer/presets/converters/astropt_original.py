"""Converter for ORIGINAL astroPT checkpoints (``torch.save`` files of Smith42/astroPT).

Three state-dict schemas exist (after stripping the ``_orig_mod.`` prefix that
``torch.compile`` adds):

- ``v1`` (astroPT 1.0, the paper's weights): ``transformer.wte.{0,2}``,
  ``transformer.wpe.weight``, ``lm_head.{0,2,4}`` (ReLU MLPs with biases);
- ``v2`` (astroPT 2.0.x): ``transformer.wte.images.*``,
  ``transformer.wpe.images.wpe.weight``, ``lm_head.images.*``;
- ``v2_modules`` (later astroPT 2.x): ``encoders.images.*``,
  ``embedders.images.wpe.weight``, ``decoders.images.*``.

All share ``transformer.h.{i}.*`` and ``transformer.ln_f``. Only the single
``images`` modality is supported. The checkpoint is read with the safe reader
of :mod:`astromer.presets.converters.torch_zip` (no torch, no pickled code).
"""

import re
from pathlib import Path

import numpy as np

from astromer.models.astropt.architectures import FAMILIES
from astromer.models.astropt.astropt_model import AstroPT
from astromer.presets.converters.torch_zip import MAX_PICKLE_BYTES, is_torch_zip, load_torch_checkpoint, read_member
from astromer.presets.converters.weights import assign_weights

PREFIX = "_orig_mod."
_SCHEMA_MARKERS = {
    "v1": "transformer.wte.0.weight",
    "v2": "transformer.wte.images.",
    "v2_modules": "encoders.images.",
}
_CHECKPOINT_SUFFIXES = (".pt", ".pth", ".ckpt")


# ----------------------------------------------------------------------------- detection
def _pickle_mentions_gpt(path):
    """Cheap content check of a torch zip: its pickle names nanoGPT-style block weights."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as zf:
            name = next(n for n in zf.namelist() if n.endswith("/data.pkl") and n.count("/") == 1)
            data = read_member(zf, name, MAX_PICKLE_BYTES, path)  # an oversized pickle is refused, not read
    except (StopIteration, zipfile.BadZipFile, OSError, KeyError):
        return False
    return b"transformer.h.0.attn.c_attn.weight" in data and (b"lm_head" in data or b"decoders." in data)


def find_checkpoint_file(folder):
    """The astroPT checkpoint in ``folder``: ``ckpt.pt`` if present, else the ``*_ckpt.pt`` with the
    highest iteration, else the only ``.pt``; ``None`` if there is none."""
    folder = Path(folder)
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in _CHECKPOINT_SUFFIXES)
    files = [p for p in files if is_torch_zip(p) and _pickle_mentions_gpt(p)]
    if not files:
        return None
    for p in files:
        if p.name == "ckpt.pt":
            return p

    def iteration(p):
        m = re.match(r"(\d+)_ckpt", p.stem)
        return int(m.group(1)) if m else -1

    return max(files, key=lambda p: (iteration(p), p.name))


def is_astropt_checkpoint(path):
    """True for an original astroPT checkpoint: a ``.pt`` torch zip whose pickle holds a nanoGPT-style
    state dict, or a folder holding one (as the reference folders: ``ckpt.pt`` + ``hparams.txt``).

    Only the archive's member names and the pickle's bytes are inspected; nothing is unpickled.
    """
    path = Path(path)
    if path.is_dir():
        return find_checkpoint_file(path) is not None
    return path.is_file() and is_torch_zip(path) and _pickle_mentions_gpt(path)


# ----------------------------------------------------------------------------- configuration
def read_hparams(path):
    """``hparams.txt`` (``key: value`` lines, as train.py writes it) as a dict of strings."""
    out = {}
    for line in Path(path).read_text().splitlines():
        if ":" in line:
            key, value = line.split(":", 1)
            out[key.strip()] = value.strip()
    return out


def _as_bool(value, default):
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def strip_prefix(state_dict):
    """Drop torch.compile's ``_orig_mod.`` prefix from every key."""
    return {(k[len(PREFIX):] if k.startswith(PREFIX) else k): v for k, v in state_dict.items()}


def detect_schema(keys):
    keys = list(keys)
    found = [name for name, marker in _SCHEMA_MARKERS.items() if any(k.startswith(marker) for k in keys)]
    if len(found) != 1:
        raise ValueError(
            "Not an astroPT state dict: expected exactly one of the key schemas "
            f"{ {n: m + '*' for n, m in _SCHEMA_MARKERS.items()} }, found {found or 'none'}."
        )
    modalities = {k.split(".")[2] for k in keys if k.startswith("transformer.wte.") and found[0] == "v2"}
    modalities |= {k.split(".")[1] for k in keys if k.startswith("encoders.")}
    if modalities - {"images"}:
        raise ValueError(
            f"This astroPT checkpoint has modalities {sorted(modalities)}; only the single 'images' "
            "modality is supported."
        )
    return found[0]


def _get(obj, name, default=None):
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def model_config(checkpoint, state, schema, hparams=None):
    """``AstroPT`` constructor arguments from the checkpoint's ``model_args``/``config`` and tensors."""
    hparams = hparams or {}
    args = checkpoint.get("model_args") or {}
    train_config = checkpoint.get("config") or {}

    def setting(name, default=None):
        for source in (args, train_config, hparams):
            if _get(source, name) is not None:
                return _get(source, name)
        return default

    family = "v1" if schema == "v1" else "v2"
    wpe = state["transformer.wpe.weight" if schema == "v1" else
                ("transformer.wpe.images.wpe.weight" if schema == "v2" else "embedders.images.wpe.weight")]
    block_size, n_embd = wpe.shape
    n_layer = len({int(m.group(1)) for k in state if (m := re.match(r"transformer\.h\.(\d+)\.", k))})
    n_head = setting("n_head")
    if n_head is None:
        raise ValueError("The checkpoint has no model_args/hparams giving n_head; cannot rebuild the attention heads.")
    if schema == "v1":
        patch_dim = state["transformer.wte.0.weight"].shape[1]
        patch_size = int(setting("patch_size", 16))
        tokenizer = "relu_mlp"
    else:
        enc = "transformer.wte.images." if schema == "v2" else "encoders.images."
        patch_dim = state[enc + "c_fc.weight"].shape[1]
        modalities = _get(args, "modalities") or []
        images = next((m for m in modalities if _get(m, "name") == "images"), None)
        patch_size = int(_get(images, "patch_size", None) or setting("patch_size", 16))
        tokenizer = "aim" if (enc + "c_proj.weight") in state else "affine"
        declared = setting("tokeniser", "aim")
        if declared not in ("aim", "affine"):
            raise ValueError(f"astroPT tokeniser {declared!r} is not supported (only 'aim' and 'affine').")
    if patch_dim % (patch_size * patch_size):
        raise ValueError(f"Patch vectors of size {patch_dim} do not fit patch_size {patch_size}.")
    n_chan = patch_dim // (patch_size * patch_size)
    attn_type = setting("attn_type", "causal")
    if attn_type != "causal":
        raise ValueError(f"Only causal astroPT models are supported; this one has attn_type={attn_type!r}.")
    use_hf = _as_bool(setting("use_hf"), family == "v2")
    config = dict(FAMILIES[family])
    config.update(
        num_layers=n_layer,
        num_heads=int(n_head),
        embed_dim=int(n_embd),
        block_size=int(block_size),
        patch_size=patch_size,
        num_channels=int(n_chan),
        dropout=float(setting("dropout", 0.0)),
        use_bias=_as_bool(setting("bias"), False),
        tokenizer=tokenizer,
        spiral=_as_bool(setting("spiral"), True),
        # The Hugging Face data path transposes every image (np.array(img).swapaxes(0, 2))
        # and rounds tokens to float16; the local-file path reads (C, H, W) in bfloat16.
        transpose_images=use_hf,
        token_precision="float16" if use_hf else "bfloat16",
    )
    return config


# ----------------------------------------------------------------------------- weights
def original_variable_map(model, schema):
    """Original (prefix-free) key -> (model variable, transpose?)."""
    out = {}

    def linear(key, dense):
        out[f"{key}.weight"] = (dense.kernel, True)
        if dense.use_bias:
            out[f"{key}.bias"] = (dense.bias, False)

    def norm(key, layer):
        out[f"{key}.weight"] = (layer.gamma, False)
        if layer.center:
            out[f"{key}.bias"] = (layer.beta, False)

    if schema == "v1":
        for i, idx in enumerate((0, 2)):
            linear(f"transformer.wte.{idx}", model.encoder.denses[i])
        for i, idx in enumerate((0, 2, 4)):
            linear(f"lm_head.{idx}", model.decoder.denses[i])
        out["transformer.wpe.weight"] = (model.position_embedding.embeddings, False)
    else:
        enc, dec, wpe = (
            ("transformer.wte.images", "lm_head.images", "transformer.wpe.images.wpe.weight")
            if schema == "v2"
            else ("encoders.images", "decoders.images", "embedders.images.wpe.weight")
        )
        names = ("c_fc", "c_proj") if model.tokenizer == "aim" else ("c_fc",)
        for name, dense in zip(names, model.encoder.denses):
            linear(f"{enc}.{name}", dense)
        for name, dense in zip(names, model.decoder.denses):
            linear(f"{dec}.{name}", dense)
        out[wpe] = (model.position_embedding.embeddings, False)
    for i, block in enumerate(model.blocks):
        p = f"transformer.h.{i}"
        norm(f"{p}.ln_1", block.ln_1)
        linear(f"{p}.attn.c_attn", block.attn.c_attn)
        linear(f"{p}.attn.c_proj", block.attn.c_proj)
        norm(f"{p}.ln_2", block.ln_2)
        linear(f"{p}.mlp.c_fc", block.c_fc)
        linear(f"{p}.mlp.c_proj", block.c_proj)
    norm("transformer.ln_f", model.final_norm)
    return out


def load_astropt_checkpoint(path):
    """Build an :class:`astromer.AstroPT` from an original astroPT checkpoint (file or folder).

    The architecture comes from the checkpoint's ``model_args`` (and its
    ``config``/``hparams.txt`` for the data path), the weights from its
    ``model`` state dict. Every tensor must match; otherwise a
    :class:`WeightMismatchError` lists the differences and nothing is loaded.
    """
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    file = find_checkpoint_file(path) if path.is_dir() else path
    if file is None:
        raise ValueError(f"{path} holds no astroPT checkpoint (a .pt file from astroPT's train.py).")
    hparams = read_hparams(folder / "hparams.txt") if (folder / "hparams.txt").is_file() else {}
    checkpoint = load_torch_checkpoint(file)
    if not isinstance(checkpoint, dict) or "model" not in checkpoint:
        raise ValueError(f"{file} is a torch file but not an astroPT training checkpoint (no 'model' entry).")
    state = strip_prefix(checkpoint["model"])
    schema = detect_schema(state)
    # Drop the causal-mask buffers that torch < 2.0 (no flash attention) stores as "attn.bias".
    state = {k: v for k, v in state.items() if not (k.endswith(".attn.bias") and tuple(v.shape[:2]) == (1, 1))}
    model = AstroPT(**model_config(checkpoint, state, schema, hparams), name="astropt")
    mapping = original_variable_map(model, schema)
    values = {}
    for key, tensor in state.items():
        array = np.asarray(tensor, dtype=np.float32)
        values[key] = array.T if key in mapping and mapping[key][1] else array
    assign_weights({k: v for k, (v, _) in mapping.items()}, values, source=str(file))
    return model
