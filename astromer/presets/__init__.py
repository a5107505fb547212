"""Presets: named published weights, our preset format, and converters of original checkpoints."""

from astromer.presets.loader import convert_original, download_preset, load_preset
from astromer.presets.preset_format import CorruptedPresetError, UnverifiedPresetError, load_saved_preset, save_preset
from astromer.presets.registry import get_preset, list_presets

__all__ = [
    "CorruptedPresetError",
    "UnverifiedPresetError",
    "convert_original",
    "download_preset",
    "get_preset",
    "list_presets",
    "load_preset",
    "load_saved_preset",
    "save_preset",
]
