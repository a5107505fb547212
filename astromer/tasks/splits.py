"""The stratified test / validation hold-out of labelled objects and the per-class draw of
training shots used by ``astromer classify``, ``astromer evaluate`` and the harness's data
loading. Both delegate to the package's one splitter, :mod:`astromer.data.splits` (the
record writer's): hash-seeded per class over sorted ids, so the same seed and ids give the
same sets whatever the input order; a ``split`` column with ``test`` rows is always honoured.
"""

from __future__ import annotations

import logging

from astromer.data.splits import fewshot_folds, stratified_fractions
from astromer.tasks.inputs import InputError

log = logging.getLogger("astromer.splits")


def _class_sizes(labels):
    return ", ".join(f"{k}={v}" for k, v in labels.value_counts().sort_index().items())


def hold_out(ids, labels, fraction, seed=0, what="test", where=""):
    """``(rest, held_out)`` id lists: a stratified ``fraction`` of ``ids`` (per class, sizes by
    largest remainder; :func:`astromer.data.splits.stratified_fractions`) drawn with ``seed``.

    ``labels``: a pandas Series ``object_id -> class``. For ``what="test"`` a class left
    without a test object or without a training object is an error naming the class sizes;
    a validation hold-out (``what="val"``) simply takes what the sizes allow.
    """
    ids = list(ids)
    sub = labels.loc[ids]
    groups = stratified_fractions(dict(zip(ids, sub.tolist())), (("rest", 1.0 - fraction), ("held", fraction)),
                                  seed=seed)
    rest, held = groups["rest"], groups["held"]
    if what == "test" and fraction > 0:
        short = sorted(set(sub) - set(labels.loc[held]) | set(sub) - set(labels.loc[rest]))
        if short:
            raise InputError(
                f"cannot hold out a stratified {fraction:.0%} test set from {len(ids)} labelled objects{where} "
                f"(objects per class: {_class_sizes(sub)}; too few in {', '.join(map(repr, short))}); label more "
                "objects per class or give a 'split' column with 'test' rows")
    return rest, held


def given_test_split(labels, where=""):
    """Whether the ``split`` column of ``labels`` marks a test set (has ``test`` rows). A split
    column without them is logged with the values it has (a stratified test set is drawn)."""
    if "split" not in labels.columns:
        return False
    if (labels["split"] == "test").any():
        return True
    values = sorted(map(str, labels["split"].dropna().unique()))
    if values:
        log.warning(f"the split column{where} has no 'test' rows (values {values[:6]}); a stratified test set "
                    "is drawn instead")
    return False


def split_ids(labels, seed=0, test_fraction=0.2, val_fraction=0.1, where=""):
    """``{"train", "val", "test"}`` object-id lists of the labelled rows of ``labels``
    (``object_id, label[, split]``): the ``split`` column when it has ``test`` rows (a
    missing ``val`` is carved from ``train``), else stratified fractions."""
    labelled = labels[labels["label"].notna()]
    lab = labelled.set_index("object_id")["label"]
    if given_test_split(labelled, where):
        out = {s: labelled.loc[labelled["split"] == s, "object_id"].tolist() for s in ("train", "val", "test")}
        if not out["train"]:
            raise InputError(f"the split column{where} marks no 'train' objects (values "
                             f"{sorted(map(str, labelled['split'].dropna().unique()))}); use train, val and test")
        if not out["val"] and val_fraction:
            out["train"], out["val"] = hold_out(out["train"], lab, val_fraction, seed, what="val")
        return out
    rest, test = hold_out(labelled["object_id"].tolist(), lab, test_fraction, seed, where=where)
    train, val = hold_out(rest, lab, val_fraction, seed, what="val") if val_fraction else (rest, [])
    return {"train": train, "val": val, "test": test}


def take_shots(ids, labels, shots, seed=0):
    """At most ``shots`` ids per class from ``ids``: fold 0 of
    :func:`astromer.data.splits.fewshot_folds` (a seeded order of each class's sorted ids)."""
    ids = list(ids)
    return fewshot_folds(labels.loc[ids], shots=(int(shots),), folds=1, seed=seed, n_val=0)[0]["train"]
