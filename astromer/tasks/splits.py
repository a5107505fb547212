"""The one seeded, stratified hold-out of labelled objects (test, then validation) and the
per-class draw of training shots, shared by ``astromer classify``, ``astromer evaluate``
and the harness's data loading.

Record folders are split when they are written (:mod:`astromer.records.splits`,
hash-seeded so that any number of workers gives the same splits); a ``split``
column with ``test`` rows (which such folders carry) is always honoured.
"""

from __future__ import annotations

import numpy as np

from astromer.tasks.inputs import InputError


def _class_sizes(labels):
    return ", ".join(f"{k}={v}" for k, v in labels.value_counts().sort_index().items())


def hold_out(ids, labels, fraction, seed=0, what="test", where=""):
    """``(rest, held_out)`` id lists: a stratified ``fraction`` of ``ids`` drawn with ``seed``.

    ``labels``: a pandas Series ``object_id -> class``. A class too small to be
    stratified is an error naming the class sizes (for ``what="test"``); a
    validation hold-out (``what="val"``) falls back to an unstratified draw.
    """
    from sklearn.model_selection import train_test_split

    ids = list(ids)
    strata = labels.loc[ids].tolist()
    try:
        rest, held = train_test_split(ids, test_size=fraction, stratify=strata, random_state=seed)
    except ValueError as exc:
        if what != "test":
            rest, held = train_test_split(ids, test_size=fraction, random_state=seed)
        else:
            raise InputError(
                f"cannot hold out a stratified {fraction:.0%} test set from {len(ids)} labelled objects{where} "
                f"(objects per class: {_class_sizes(labels.loc[ids])}; scikit-learn: {exc}); label more objects "
                "per class or give a 'split' column with 'test' rows") from None
    return list(rest), list(held)


def split_ids(labels, seed=0, test_fraction=0.2, val_fraction=0.1, where=""):
    """``{"train", "val", "test"}`` object-id lists of the labelled rows of ``labels``
    (``object_id, label[, split]``): the ``split`` column when it has ``test`` rows (a
    missing ``val`` is carved from ``train``), else stratified fractions."""
    labelled = labels[labels["label"].notna()]
    lab = labelled.set_index("object_id")["label"]
    if "split" in labelled.columns and (labelled["split"] == "test").any():
        out = {s: labelled.loc[labelled["split"] == s, "object_id"].tolist() for s in ("train", "val", "test")}
        if not out["val"] and val_fraction:
            out["train"], out["val"] = hold_out(out["train"], lab, val_fraction, seed, what="val")
        return out
    rest, test = hold_out(labelled["object_id"].tolist(), lab, test_fraction, seed, where=where)
    train, val = hold_out(rest, lab, val_fraction, seed, what="val") if val_fraction else (rest, [])
    return {"train": train, "val": val, "test": test}


def take_shots(ids, labels, shots, seed=0):
    """At most ``shots`` ids per class from ``ids`` (sorted per class, then a seeded permutation)."""
    rng = np.random.default_rng(seed)
    picked = []
    for cls in sorted(labels.loc[ids].unique()):
        members = sorted(o for o in ids if labels[o] == cls)
        picked += list(rng.permutation(members)[: int(shots)])
    return picked
