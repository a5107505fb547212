"""Dataset recipes: ``records/NAME.toml`` files that say where a public data set lives
and how to turn it into records (``astromer records build NAME``).

A recipe has top-level options (``kind``, ``splits``, ``seed``, ``shard_size``),
``[rules]`` (cleaning rules), ``[labels]`` (``values``: raw value -> name,
``map``: name -> int), ``[filters]`` (``classes``, ``bands``) and one or more
``[[layouts]]``: a way the data can be laid out on disk, with its ``format`` and
``files``. A file entry is a name, or a table with ``name``, ``url``,
``sha256`` (empty when unknown, with ``sha256_note``) and ``extract``.

``build`` picks a layout: the one named by ``layout=``, else with
``source_dir`` the first layout whose files are all found under it (searched
by name, shallowest first), else the first layout whose files all have URLs,
which are downloaded (by :func:`astromer.io.download`: atomically, with a progress
bar, sha256-checked when the recipe knows it). See ``records/README.md``.
"""

from __future__ import annotations

import os
import sys
import tomllib
from pathlib import Path

from astromer import io as astromer_io
from astromer.errors import AstromerError
from astromer.io import IntegrityError, sha256_of
from astromer.records import sources as S
from astromer.records.archives import extract
from astromer.records import survey_sources
from astromer.data.cleaning import CleaningRules

RECIPE_DIR = Path(__file__).resolve().parents[2] / "records"      # a source checkout
INSTALLED_RECIPE_DIR = Path(sys.prefix) / "share" / "astromer-keras" / "records"  # a wheel
FORMATS = ("long", "raw_folder", "pattern_folder", "images", "ramp_variable_stars", "sesar2010")


class RecipeError(AstromerError, ValueError):
    """A recipe that cannot be found, parsed or satisfied."""


def recipe_path(name) -> Path:
    """Path of recipe ``name``: a .toml path, ``./records/NAME.toml`` or the repository's."""
    p = Path(os.fspath(name))
    if p.suffix == ".toml":
        if not p.is_file():
            raise FileNotFoundError(f"recipe file {str(p)!r} does not exist")
        return p
    for folder in (Path.cwd() / "records", RECIPE_DIR, INSTALLED_RECIPE_DIR):
        candidate = folder / f"{name}.toml"
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"no recipe named {name!r}; available: {', '.join(list_recipes()) or 'none'}")


def list_recipes() -> list:
    names = set()
    for folder in (Path.cwd() / "records", RECIPE_DIR, INSTALLED_RECIPE_DIR):
        if folder.is_dir():
            names.update(p.stem for p in folder.glob("*.toml"))
    return sorted(names)


def load_recipe(name) -> dict:
    path = recipe_path(name)
    try:
        with open(path, "rb") as handle:
            recipe = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise RecipeError(f"recipe {str(path)!r} is not valid TOML: {exc}") from None
    recipe.setdefault("name", path.stem)
    recipe["_path"] = str(path)
    layouts = recipe.get("layouts")
    if not layouts:
        raise RecipeError(f"recipe {str(path)!r} has no [[layouts]]")
    for lay in layouts:
        if lay.get("format") not in FORMATS:
            raise RecipeError(f"recipe {str(path)!r}: layout {lay.get('name')!r} has format "
                              f"{lay.get('format')!r}; known formats: {', '.join(FORMATS)}")
        lay["files"] = [f if isinstance(f, dict) else {"name": f} for f in lay.get("files", [])]
    return recipe


# ----------------------------------------------------------------------------------------------
# Finding or downloading the files
# ----------------------------------------------------------------------------------------------

def _find(source_dir, name):
    """Shallowest path under ``source_dir`` whose relative path ends with ``name``."""
    direct = Path(source_dir) / name
    if direct.exists():
        return direct
    best = None
    base = Path(name).name
    for root, dirs, files in os.walk(source_dir):
        dirs.sort()
        for entry in list(files) + list(dirs):
            if entry == base:
                p = Path(root) / entry
                if str(p).endswith(str(Path(name))) and (best is None or len(p.parts) < len(best.parts)):
                    best = p
    return best


def _resolve_local(layout, source_dir):
    found = {}
    for f in layout["files"]:
        p = _find(source_dir, f["name"])
        if p is None:
            return None
        found[f["name"]] = p
    return found


def download(url, dest, sha256=None, progress=True):
    """``dest`` if it is already there (and matches ``sha256``), else :func:`astromer.io.download`
    of ``url`` to it (a temporary file, then renamed); failures raise :class:`RecipeError`."""
    dest = Path(dest)
    if dest.exists() and (not sha256 or sha256_of(dest) == sha256):
        return dest
    try:
        return astromer_io.download(url, dest, sha256=sha256, progress=progress, timeout=60)
    except IntegrityError as exc:
        raise RecipeError(str(exc)) from None
    except OSError as exc:
        raise RecipeError(f"download of {url} failed: {exc}") from None


def _fetch(layout, download_dir, progress):
    missing = [f["name"] for f in layout["files"] if not f.get("url")]
    if missing:
        raise RecipeError(
            f"layout {layout.get('name')!r} has no download URL for {missing}; get the files "
            "from the recipe's homepage and pass --source-dir")
    found = {}
    for f in layout["files"]:
        dest = download(f["url"], Path(download_dir) / f.get("save_as", Path(f["name"]).name),
                        sha256=f.get("sha256") or None, progress=progress)
        if f.get("extract"):
            extract(dest, download_dir)
        found[f["name"]] = dest
    return found


def choose_layout(recipe, source_dir=None, layout=None, download_dir=None, progress=True):
    """Returns ``(layout dict, {file name: path}, base folder)``."""
    layouts = recipe["layouts"]
    if layout is not None:
        chosen = [lay for lay in layouts if lay.get("name") == layout]
        if not chosen:
            raise RecipeError(f"recipe {recipe['name']!r} has no layout {layout!r}; layouts: "
                              f"{[lay.get('name') for lay in layouts]}")
        layouts = chosen
    if source_dir is not None:
        source_dir = os.fspath(source_dir)
        if not os.path.isdir(source_dir):
            raise FileNotFoundError(f"source folder {source_dir!r} does not exist")
        for lay in layouts:
            found = _resolve_local(lay, source_dir)
            if found is not None:
                return lay, found, source_dir
        wanted = "; ".join(f"{lay.get('name')}: {[f['name'] for f in lay['files']]}" for lay in layouts)
        raise FileNotFoundError(
            f"{source_dir!r} holds none of recipe {recipe['name']!r}'s layouts ({wanted})")
    for lay in layouts:
        if lay["files"] and all(f.get("url") for f in lay["files"]):
            download_dir = download_dir or os.path.join(
                os.path.expanduser("~"), ".cache", "astromer", "records", recipe["name"])
            return lay, _fetch(lay, download_dir, progress), download_dir
    raise RecipeError(
        f"recipe {recipe['name']!r} has no layout that can be downloaded automatically; "
        f"see {recipe.get('homepage', 'its homepage')} and pass --source-dir")


# ----------------------------------------------------------------------------------------------
# Source from a layout
# ----------------------------------------------------------------------------------------------

def _folder_of(found, layout, key, base):
    """Folder of a layout entry: a listed file's folder, or a sub-folder of the base."""
    name = layout.get(key)
    if name and name in found:
        return str(found[name])
    if name:
        p = _find(base, name)
        if p is None:
            raise FileNotFoundError(f"folder {name!r} not found under {base!r}")
        return str(p)
    return str(base)


def source_from_layout(recipe, layout, found, base):
    labels_cfg = recipe.get("labels", {})
    values = labels_cfg.get("values")
    filters = recipe.get("filters", {})
    bands = filters.get("bands")
    keep = bool(recipe.get("keep_unlabelled", False))
    fmt = layout["format"]
    if fmt == "long":
        src = S.long_table_source(
            found[layout["curves"]], found.get(layout.get("labels")) if layout.get("labels") else None,
            columns=layout.get("columns"), label_column=layout.get("label_column", "label"),
            label_id_column=layout.get("label_id_column"), label_values=values,
            keep_unlabelled=keep, bands=bands, band_map=layout.get("band_map"),
            has_errors=layout.get("has_errors", True),
            extra_label_columns=tuple(layout.get("extra_label_columns", ())))
    elif fmt == "raw_folder":
        folder = _folder_of(found, layout, "folder", base)
        src = S.raw_folder_source(
            folder, str(found.get(layout.get("metadata"), layout.get("metadata", "metadata.csv"))),
            id_column=layout.get("id_column", "ID"), label_column=layout.get("label_column", "Class"),
            band_column=layout.get("band_column", "Band"), path_column=layout.get("path_column", "Path"),
            keep_unlabelled=keep, bands=bands, band_map=layout.get("band_map"), label_values=values,
            read_options=layout.get("read_options"))
    elif fmt == "pattern_folder":
        folder = _folder_of(found, layout, "folder", base)
        if layout["files"] and not layout.get("folder"):
            folder = str(Path(found[layout["files"][0]["name"]]).parent)
        src = S.pattern_folder_source(
            folder, layout["pattern"], found.get(layout.get("labels")) if layout.get("labels") else None,
            label_id_column=layout.get("label_id_column", "object_id"),
            label_column=layout.get("label_column", "label"), label_values=values,
            keep_unlabelled=keep or recipe.get("unlabelled", False), bands=bands,
            band_map=layout.get("band_map"), read_options=layout.get("read_options"))
    elif fmt == "images":
        folder = _folder_of(found, layout, "folder", base)
        src = S.image_folder_source(
            folder, found.get(layout.get("labels")) if layout.get("labels") else None,
            id_column=layout.get("id_column", "object_id"),
            label_column=layout.get("label_column", "label"), path_column=layout.get("path_column"),
            label_values=values, target_columns=tuple(layout.get("target_columns", ())),
            keep_unlabelled=keep)
    elif fmt == "ramp_variable_stars":
        folder = str(Path(found[layout["files"][0]["name"]]).parent)
        src = survey_sources.ramp_variable_stars_source(folder, type_names=values, keep_unlabelled=keep)
    else:  # sesar2010
        src = survey_sources.sesar2010_source(found[layout["table1"]], found[layout["table2"]], type_names=values)
    classes = filters.get("classes")
    if classes is not None:
        allowed = set(map(str, classes))
        for oid in [o for o, it in src.items.items() if it.label_name not in allowed]:
            src.report.add("objects", "class_not_selected", 1, oid)
            del src.items[oid]
    return src


def build(name, output_dir, *, source_dir=None, layout=None, download_dir=None, splits=None,
          seed=None, shard_size=None, workers=1, resume=False, overwrite=False, progress=True,
          beam_runner=None, beam_options=None):
    """Run recipe ``name`` into ``output_dir``; returns the metadata dict.

    With ``beam_runner`` the conversion runs as an Apache Beam pipeline
    (:mod:`astromer.records.beam_pipeline`) instead of local worker processes.
    """
    from astromer.records.writer import write_dataset

    recipe = load_recipe(name)
    lay, found, base = choose_layout(recipe, source_dir, layout, download_dir, progress)
    src = source_from_layout(recipe, lay, found, base)
    rules = CleaningRules.from_dict({**recipe.get("rules", {}), "has_errors": src.has_errors}) \
        if src.kind == "light_curve" else None
    labels_cfg = recipe.get("labels", {})
    common = dict(
        splits=splits if splits is not None else recipe.get("splits", "0.8,0.1,0.1"),
        seed=seed if seed is not None else recipe.get("seed", 0),
        shard_size=shard_size if shard_size is not None else recipe.get("shard_size", 1000),
        resume=resume, overwrite=overwrite, rules=rules,
        label_map=labels_cfg.get("map"), name=recipe["name"],
        extra_metadata={"recipe": recipe["name"], "layout": lay.get("name"),
                        "homepage": recipe.get("homepage", ""), "citation": recipe.get("citation", "")},
    )
    if beam_runner:
        from astromer.records.beam_pipeline import write_dataset_beam

        return write_dataset_beam(src, output_dir, runner=beam_runner,
                                  pipeline_options=beam_options, **common)
    return write_dataset(src, output_dir, workers=workers, progress=progress, **common)
