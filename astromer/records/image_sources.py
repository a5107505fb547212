"""Image sources: folders (one subfolder per class, or flat with a labels table), in-memory
arrays, HDF5/FITS stacks, each a :class:`~astromer.records.items.Source` of image items
(re-exported by :mod:`astromer.records.sources`)."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from astromer.data.cleaning import Report
from astromer.records.image_arrays import FITS_EXTENSIONS, file_stem, fits_holds_images
from astromer.records.items import ImageItem, Source
from astromer.records.tables import SourceError, _attach_labels, _file_signature, _label_str, load_labels

IMAGE_EXTENSIONS = (".jpeg", ".jpg", ".png")



def _image_files(folder):
    """``{stem: path}`` of the image files directly in ``folder`` (JPEG, PNG, FITS)."""
    found = {}
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if name.startswith((".", "_")) or not os.path.isfile(path) or not _is_image_name(name):
            continue
        stem = file_stem(name)
        if stem in found:
            raise SourceError(f"image folder {folder!r} has two images for {stem!r}: "
                              f"{os.path.basename(found[stem])} and {name}")
        found[stem] = path
    return found


def _is_image_name(name):
    return name.lower().endswith(IMAGE_EXTENSIONS + FITS_EXTENSIONS)


def image_layout(folder):
    """``"flat"`` (images directly in ``folder``), ``"class_folders"`` (one subfolder of images per
    class, nothing else) or None (no images at either level)."""
    folder = os.fspath(folder)
    flat = _image_files(folder)
    if flat:
        first = next(iter(flat.values()))
        if not first.lower().endswith(IMAGE_EXTENSIONS) and not fits_holds_images(first):
            return None  # FITS tables (light curves), not cutouts
        return "flat"
    if _class_folders(folder):
        return "class_folders"
    return None


def _class_folders(folder):
    """``{class name: {relative stem: path}}`` of the subfolders that hold images (any depth)."""
    classes = {}
    for name in sorted(os.listdir(folder)):
        sub = os.path.join(folder, name)
        if name.startswith((".", "_")) or not os.path.isdir(sub):
            continue
        files = {}
        for root, dirs, names in os.walk(sub):
            dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_")))
            for n in sorted(names):
                if not n.startswith((".", "_")) and _is_image_name(n):
                    rel = os.path.relpath(os.path.join(root, n), sub)
                    files[os.path.join(os.path.dirname(rel), file_stem(n))] = os.path.join(root, n)
        if files:
            classes[name] = files
    return classes


def image_folder_source(folder, labels=None, *, id_column="object_id", label_column="label",
                        path_column=None, label_values=None, target_columns=(), extra_columns=(),
                        keep_unlabelled=False, layout="auto") -> Source:
    """Images in a folder: JPEG, PNG or FITS cutouts (FITS read with astropy, the ``astro`` extra).

    Layouts (``layout="auto"`` picks one):

    - ``"flat"``: ``<object_id>.<jpeg|jpg|png|fits>`` files plus a ``labels`` table (object id,
      label and any other columns); or, with ``path_column``, the table gives each image's path
      relative to ``folder``. Without a table every image is unlabelled.
    - ``"class_folders"``: one subfolder per class (``spiral/``, ``elliptical/``; the folder name is
      the label, images at any depth inside it), the layout of Keras'
      ``image_dataset_from_directory`` and torchvision's ``ImageFolder``. Object ids are the paths
      inside the class folder without extension (``0001``, ``night2/0001``), prefixed by
      ``<class>/`` for every image when two classes hold the same name. A ``labels`` table then
      only adds columns (its ``label_column`` is not read); images missing from it are dropped
      and counted unless ``keep_unlabelled``.

    Images not in the labels table are dropped and counted unless ``keep_unlabelled``; labels
    without an image are counted. ``target_columns`` are numeric columns stored as the record's
    ``targets``; ``extra_columns`` (e.g. a ``split`` column for ``splits="column:split"``) are
    carried per object.
    """
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"image folder {folder!r} does not exist")
    if layout == "auto":
        layout = "flat" if (labels is not None and path_column) else (image_layout(folder) or "flat")
    if layout not in ("flat", "class_folders"):
        raise ValueError(f"layout must be 'auto', 'flat' or 'class_folders', got {layout!r}")
    report = Report()
    target_columns, extra_columns = tuple(target_columns), tuple(extra_columns)
    wanted = tuple(dict.fromkeys(target_columns + extra_columns + ((path_column,) if path_column else ())))
    if layout == "class_folders":
        classes = _class_folders(folder)
        if not classes:
            raise SourceError(f"image folder {folder!r} has no subfolder with images "
                              f"({', '.join(IMAGE_EXTENSIONS + FITS_EXTENSIONS)})")
        stems = [stem for files in classes.values() for stem in files]
        unique = len(set(stems)) == len(stems)
        found, label_map = {}, {}
        for cls, files in classes.items():
            for stem, path in files.items():
                oid = stem.replace(os.sep, "/") if unique else f"{cls}/{stem.replace(os.sep, '/')}"
                found[oid], label_map[oid] = path, cls
        extra = {}
        if labels is not None:
            _, extra = load_labels(labels, id_column=id_column, label_column=wanted[0] if wanted else id_column,
                                   extra_columns=wanted, report=report)
            for oid in sorted(set(extra) - set(found)):
                report.add("objects", "label_without_curve", 1, oid)
            missing = [oid for oid in found if oid not in extra]
            if missing and wanted and not keep_unlabelled:
                for oid in missing:
                    report.add("objects", "curve_without_label", 1, oid)
                found = {oid: p for oid, p in found.items() if oid in extra}
        if label_values:
            vm = {str(k): str(v) for k, v in label_values.items()}
            label_map = {oid: vm.get(c, c) for oid, c in label_map.items()}
        attached = {oid: label_map[oid] for oid in sorted(found)}
    else:
        label_map, extra = load_labels(
            labels, id_column=id_column, label_column=label_column, value_map=label_values,
            extra_columns=wanted, report=report,
        ) if labels is not None else (None, {})
        if path_column:
            found = {oid: os.path.join(folder, str(cols[path_column])) for oid, cols in extra.items()}
        else:
            found = _image_files(folder)
        attached = _attach_labels(sorted(found), label_map, keep_unlabelled, report)
    items, carried = {}, {}
    for oid, lab in attached.items():
        cols = extra.get(oid, {})
        targets = {}
        for c in target_columns:
            v = pd.to_numeric(pd.Series([cols.get(c)]), errors="coerce").iloc[0]
            targets[c] = float(v)
        items[oid] = ImageItem(oid, lab, found[oid], targets)
        if extra_columns:
            carried[oid] = {c: cols.get(c) for c in extra_columns}
    desc = {"type": "image_folder", "folder": os.path.abspath(folder), "layout": layout, "images": len(found)}
    if labels is not None and not isinstance(labels, pd.DataFrame):
        desc["labels"] = _file_signature(labels)
    return Source("image", items, report, extra=carried, description=desc)


def image_array_source(images, labels=None, *, ids=None, targets=None, extra=None,
                       channels_first=False, description=None) -> Source:
    """Images held in memory: ``images`` ``(N, H, W)`` or ``(N, H, W, C)`` (``(N, C, H, W)`` with
    ``channels_first``), any numeric dtype (see :mod:`astromer.records.image_arrays` for how
    they are stored), or a list of ``(H, W[, C])`` arrays.

    ``labels``: N label names or numbers (None or NaN: unlabelled); ``ids``: N object ids
    (default ``"0".."N-1"``), kept as text; ``targets``: ``{name: N numbers}`` stored as the
    records' targets; ``extra``: ``{column: N values}`` carried per object (a split column).
    """
    from astromer.records.image_arrays import channels_last

    if isinstance(images, np.ndarray):
        if images.ndim == 3:
            images = images[..., None]
        elif images.ndim != 4:
            raise ValueError(f"images must be (N, H, W) or (N, H, W, C), got shape {images.shape}")
        elif channels_first:
            images = np.moveaxis(images, 1, -1)
        n = len(images)
    else:
        images = [channels_last(a, channels_first) for a in images]
        n = len(images)
    if n == 0:
        raise SourceError("no images given (an empty array)")
    ids = [str(i) for i in range(n)] if ids is None else [_label_str(i) for i in list(ids)]
    if len(ids) != n or len(set(ids)) != n:
        raise SourceError(f"ids must be {n} distinct values, one per image; got {len(ids)} "
                          f"({len(ids) - len(set(ids))} repeated)")

    def column(values, what):
        values = list(values)
        if len(values) != n:
            raise SourceError(f"{what} has {len(values)} values for {n} images")
        return values

    names = [None] * n if labels is None else [
        None if (v is None or pd.isna(v) or str(v).strip() == "") else _label_str(v)
        for v in column(labels, "labels")]
    targets = {k: column(v, f"target {k!r}") for k, v in (targets or {}).items()}
    extra = {k: column(v, f"column {k!r}") for k, v in (extra or {}).items()}
    items, carried = {}, {}
    for k, oid in enumerate(ids):
        items[oid] = ImageItem(oid, names[k], f"array[{k}]", {t: float(v[k]) for t, v in targets.items()},
                               array=images[k])
        if extra:
            carried[oid] = {c: v[k] for c, v in extra.items()}
    order = sorted(items)
    return Source("image", {oid: items[oid] for oid in order}, Report(),
                  extra={oid: carried[oid] for oid in order} if carried else {},
                  description=description or {"type": "image_arrays", "images": n})


def image_cube_source(path, labels=None, *, key=None, id_key=None, channels_first=None,
                      id_column="object_id", label_column="label", target_columns=(), extra_columns=(),
                      keep_unlabelled=False) -> Source:
    """A stack of cutouts in one HDF5 or FITS file (:func:`astromer.records.image_arrays.read_cube`),
    with an optional labels table joined on the ids stored in the file (or ``"0".."N-1"``)."""
    from astromer.records.image_arrays import read_cube

    images, ids = read_cube(path, key=key, id_key=id_key, channels_first=channels_first)
    ids = [str(i) for i in range(len(images))] if ids is None else ids
    report = Report()
    target_columns, extra_columns = tuple(target_columns), tuple(extra_columns)
    label_map, cols = load_labels(labels, id_column=id_column, label_column=label_column,
                                  extra_columns=tuple(dict.fromkeys(target_columns + extra_columns)),
                                  report=report) if labels is not None else (None, {})
    attached = _attach_labels(ids, label_map, keep_unlabelled, report)
    keep = [k for k, oid in enumerate(ids) if oid in attached]
    kept = [ids[k] for k in keep]
    src = image_array_source(
        images[keep], [attached[o] for o in kept], ids=kept,
        targets={c: [pd.to_numeric(pd.Series([cols.get(o, {}).get(c)]), errors="coerce").iloc[0] for o in kept]
                 for c in target_columns},
        extra={c: [cols.get(o, {}).get(c) for o in kept] for c in extra_columns},
        description={"type": "image_cube", "file": _file_signature(path), "images": len(images)})
    src.report = report
    return src


def image_source(path, labels=None, *, id_column="object_id", label_column="label", path_column=None,
                 columns=(), target_columns=(), images_key=None, ids_key=None, channels_first=None,
                 keep_unlabelled=True) -> Source:
    """The source of any image input: an image folder (:func:`image_folder_source`), an HDF5/FITS
    stack (:func:`image_cube_source`) or a ``.npy`` array, carrying ``columns`` of the labels table
    and storing ``target_columns`` as targets."""
    from astromer.records.image_arrays import is_fits, is_hdf5

    path = os.fspath(path)
    if labels is not None and not isinstance(labels, pd.DataFrame) and not os.path.exists(labels):
        raise FileNotFoundError(f"labels table {labels!r} does not exist")
    columns = tuple(columns)
    if os.path.isdir(path):
        return image_folder_source(path, labels, id_column=id_column, label_column=label_column,
                                   path_column=path_column, extra_columns=columns, target_columns=target_columns,
                                     keep_unlabelled=keep_unlabelled)
    if is_hdf5(path) or is_fits(path):
        return image_cube_source(path, labels, key=images_key, id_key=ids_key, channels_first=channels_first,
                                 id_column=id_column, label_column=label_column, extra_columns=columns,
                                 target_columns=target_columns,
                                   keep_unlabelled=keep_unlabelled)
    if path.lower().endswith(".npy"):
        if not os.path.isfile(path):
            raise FileNotFoundError(f"image array {path!r} does not exist")
        try:
            array = np.load(path, allow_pickle=False)
        except ValueError as exc:
            raise SourceError(f"{path}: not a plain NumPy array file ({exc})") from exc
        src = image_array_source(array, channels_first=bool(channels_first),
                                   description={"type": "npy", "file": os.path.abspath(path)})
        if labels is None:
            return src
        return _join_labels(src, labels, id_column, label_column, columns, target_columns, keep_unlabelled)
    raise SourceError(f"{path!r} is not an image input: give an image records folder, an image folder "
                     "(one subfolder per class, or images + --labels), an HDF5/FITS stack or a .npy array")


def _join_labels(src, labels, id_column, label_column, columns, target_columns, keep_unlabelled):
    label_map, cols = load_labels(labels, id_column=id_column, label_column=label_column,
                                  extra_columns=tuple(dict.fromkeys(tuple(columns) + tuple(target_columns))),
                                  report=src.report)
    attached = _attach_labels(list(src.items), label_map, keep_unlabelled, src.report)
    items = {}
    for oid, lab in attached.items():
        item = src.items[oid]
        item.label_name = lab
        item.targets = {c: float(pd.to_numeric(pd.Series([cols.get(oid, {}).get(c)]), errors="coerce").iloc[0])
                        for c in target_columns}
        items[oid] = item
    src.items = items
    src.extra = {oid: {c: cols.get(oid, {}).get(c) for c in columns} for oid in items} if columns else {}
    return src
