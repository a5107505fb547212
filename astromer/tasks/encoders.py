"""Loading the Astromer encoder a command works with, and copying one for fine-tuning."""

from __future__ import annotations

import os

from astromer.tasks.inputs import InputError


def load_encoder(preset=None, model=None, kind="Astromer"):
    """An encoder from ``--model`` (a preset folder or original archive) or ``--preset``:
    ``kind`` ``"Astromer"`` (light curves) or ``"AstroPT"`` (images)."""
    import astromer

    handle = model or preset
    if handle is None:
        raise InputError("give --preset NAME or --model DIR")
    if model is not None and not os.path.exists(model):
        raise FileNotFoundError(f"model {model!r} does not exist")
    encoder = astromer.load_preset(handle, progress=False)
    if not isinstance(encoder, getattr(astromer, kind)):
        what = "an Astromer light-curve model" if kind == "Astromer" else "an AstroPT image model"
        raise InputError(f"{handle} holds a {type(encoder).__name__}, not {what}")
    return encoder


def fresh_copy(model):
    """A new model with the same architecture and weights (for fine-tuning without side effects)."""
    clone = type(model).from_config(model.get_config())
    clone.set_weights(model.get_weights())
    return clone
