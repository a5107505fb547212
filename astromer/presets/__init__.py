"""Presets: loading models from original checkpoints and named presets."""

from astromer.presets.loader import load_preset

__all__ = ["load_preset"]
