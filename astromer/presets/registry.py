"""The named presets: one JSON file per preset in the repository's ``presets/`` folder."""

import json
import sys
from pathlib import Path

REQUIRED_KEYS = ("name", "class", "description", "source", "converter", "license", "citation")


def preset_dirs():
    """Folders searched for ``NAME.json``: the source tree's ``presets/`` (editable installs),
    then ``<prefix>/share/astromer-keras/presets`` (wheel installs)."""
    here = Path(__file__).resolve()
    return [here.parents[2] / "presets", Path(sys.prefix) / "share" / "astromer-keras" / "presets"]


def _read(path):
    try:
        spec = json.loads(path.read_text())
    except ValueError as exc:
        raise ValueError(f"Preset file {path} is not valid JSON: {exc}") from exc
    missing = [k for k in REQUIRED_KEYS if k not in spec]
    if missing:
        raise ValueError(f"Preset file {path} lacks {missing}.")
    if spec["name"] != path.stem:
        raise ValueError(f"Preset file {path} names itself {spec['name']!r}; the file name must match.")
    return spec


def all_presets():
    """``{name: spec}`` for every preset file found (first folder wins)."""
    specs = {}
    for folder in preset_dirs():
        if folder.is_dir():
            for path in sorted(folder.glob("*.json")):
                specs.setdefault(path.stem, _read(path))
    return specs


def list_presets():
    """Names of the available presets, sorted."""
    return sorted(all_presets())


def get_preset(name):
    """The spec dict of preset ``name`` (a KeyError-free ValueError listing the names otherwise)."""
    specs = all_presets()
    if name not in specs:
        raise ValueError(f"Unknown preset {name!r}; available presets: {', '.join(sorted(specs))}.")
    return specs[name]
