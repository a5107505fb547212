"""Deterministic train/val/test splits: stratified fractions, a given column, or few-shot folds.

Every draw comes from ``numpy.random.default_rng`` seeded with the user's seed
plus a stable hash of the stratum (label) and split, applied to SORTED ids, so
the same seed and the same object ids give the same splits on any machine, in
any worker count, whatever the input row order.

Specs (CLI ``--splits``):

``"0.8,0.1,0.1"`` or ``"train=0.8,val=0.1,test=0.1"``
    stratified by label (unlabelled objects form their own stratum); sizes per
    stratum by largest remainder, so they add up exactly.
``"column:NAME"``
    the labels table's column NAME gives each object's split.
``"fewshot:folds=3,spc=20/100/500,test=100,val=0.25"``
    the Astromer 2 protocol: a fixed test set of ``test`` objects per class
    (the same in every fold), then for each fold ``k`` and each ``n`` in
    ``spc`` a training set of ``n`` objects per class and a validation set of
    ``ceil(val * n)`` per class, drawn from the objects not in the test set.
    Within a fold the training sets are nested (20 within 100 within 500).
    Split names: ``test``, ``fold0_spc20_train``, ``fold0_spc20_val``, ...
``"none"``
    everything in one split called ``all``.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field

import numpy as np

UNLABELLED_STRATUM = "<unlabelled>"


@dataclass(frozen=True)
class SplitSpec:
    kind: str  # "fractions", "column", "fewshot", "none"
    fractions: tuple = ()  # ((name, fraction), ...)
    column: str = ""
    folds: int = 3
    spc: tuple = (20, 100, 500)
    test_per_class: int = 100
    val_ratio: float = 0.25

    def to_dict(self):
        if self.kind == "fractions":
            return {"kind": "fractions", "fractions": {k: v for k, v in self.fractions}}
        if self.kind == "column":
            return {"kind": "column", "column": self.column}
        if self.kind == "fewshot":
            return {"kind": "fewshot", "folds": self.folds, "spc": list(self.spc),
                    "test_per_class": self.test_per_class, "val_ratio": self.val_ratio}
        return {"kind": "none"}

    def text(self):
        d = self.to_dict()
        if self.kind == "fractions":
            return ",".join(f"{k}={v:g}" for k, v in self.fractions)
        if self.kind == "column":
            return f"column:{self.column}"
        if self.kind == "fewshot":
            return (f"fewshot:folds={self.folds},spc={'/'.join(map(str, self.spc))},"
                    f"test={self.test_per_class},val={self.val_ratio:g}")
        return d["kind"]


DEFAULT_NAMES = ("train", "val", "test")


def parse_split_spec(spec) -> SplitSpec:
    """Parse a split spec string (see the module docstring); a SplitSpec passes through."""
    if isinstance(spec, SplitSpec):
        return spec
    if spec is None:
        return SplitSpec("none")
    if isinstance(spec, dict):
        spec = ",".join(f"{k}={v}" for k, v in spec.items())
    text = str(spec).strip()
    if text in ("none", "all", ""):
        return SplitSpec("none")
    if text.startswith("column:"):
        col = text.split(":", 1)[1].strip()
        if not col:
            raise ValueError("split spec 'column:' needs a column name, e.g. column:split")
        return SplitSpec("column", column=col)
    if text.startswith("fewshot"):
        opts = {}
        body = text.split(":", 1)[1] if ":" in text else ""
        for part in filter(None, (p.strip() for p in body.split(","))):
            if "=" not in part:
                raise ValueError(f"few-shot option {part!r} must look like key=value")
            k, v = (s.strip() for s in part.split("=", 1))
            opts[k] = v
        unknown = set(opts) - {"folds", "spc", "test", "val"}
        if unknown:
            raise ValueError(f"unknown few-shot option(s) {sorted(unknown)}; use folds, spc, test, val")
        try:
            spec = SplitSpec(
                "fewshot",
                folds=int(opts.get("folds", 3)),
                spc=tuple(int(x) for x in opts.get("spc", "20/100/500").split("/")),
                test_per_class=int(opts.get("test", 100)),
                val_ratio=float(opts.get("val", 0.25)),
            )
        except ValueError:
            raise ValueError(f"bad few-shot split spec {text!r}; e.g. fewshot:folds=3,spc=20/100/500,"
                             "test=100,val=0.25") from None
        if spec.folds < 1 or min(spec.spc) < 1 or spec.test_per_class < 0 or spec.val_ratio < 0:
            raise ValueError(f"few-shot split spec {text!r}: folds, spc must be >= 1; test, val >= 0")
        return spec
    parts = [p.strip() for p in text.split(",") if p.strip()]
    named = []
    for i, part in enumerate(parts):
        if "=" in part:
            name, value = (s.strip() for s in part.split("=", 1))
        else:
            if i >= len(DEFAULT_NAMES):
                raise ValueError(f"split spec {text!r}: name splits beyond three, e.g. a=0.5,b=0.5")
            name, value = DEFAULT_NAMES[i], part
        try:
            frac = float(value)
        except ValueError:
            raise ValueError(f"split spec {text!r}: {value!r} is not a fraction") from None
        if not (0 <= frac <= 1) or not name.replace("_", "").replace("-", "").isalnum():
            raise ValueError(f"split spec {text!r}: bad split {name!r}={value!r}")
        named.append((name, frac))
    total = sum(f for _, f in named)
    if not math.isclose(total, 1.0, abs_tol=1e-6):
        raise ValueError(f"split fractions {text!r} add up to {total:g}, not 1")
    if len({n for n, _ in named}) != len(named):
        raise ValueError(f"split spec {text!r} names a split twice")
    return SplitSpec("fractions", fractions=tuple(named))


def _rng(seed, *keys):
    h = hashlib.sha256("\x1f".join(map(str, keys)).encode()).digest()
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, int.from_bytes(h[:8], "little")])


def _permuted(ids, seed, *keys):
    ids = sorted(ids)
    if not ids:
        return []
    order = _rng(seed, *keys).permutation(len(ids))
    return [ids[i] for i in order]


def _largest_remainder(n, fractions, rotate=0):
    """Integer sizes adding up to n; ties go to split ``rotate``, ``rotate+1``, ... so that
    successive strata do not all round the same split up."""
    raw = [n * f for f in fractions]
    counts = [int(math.floor(r + 1e-9)) for r in raw]
    rest = n - sum(counts)
    k = len(raw)
    order = sorted(range(k), key=lambda i: (-round(raw[i] - counts[i], 9), (i - rotate) % k))
    for i in order[:rest]:
        counts[i] += 1
    return counts


def _strata(labels):
    strata = {}
    for oid, name in labels.items():
        strata.setdefault(UNLABELLED_STRATUM if name is None else name, []).append(oid)
    return strata


def stratified_fractions(labels, fractions, seed=0):
    """``{name: ids}``: each stratum (label) of ``labels`` (``{object_id: label or None}``)
    cut by ``fractions`` (``((name, fraction), ...)``, adding up to 1) in the seeded order of
    its sorted ids, sizes by largest remainder. The one stratified draw of the package: the
    record writer's ``--splits 0.8,0.1,0.1``, the hold-outs of ``astromer classify`` and
    ``astromer evaluate`` (:mod:`astromer.tasks.splits`) and the simulated surveys use it."""
    names = [n for n, _ in fractions]
    fracs = [float(f) for _, f in fractions]
    groups = {n: [] for n in names}
    for j, (stratum, ids) in enumerate(sorted(_strata(labels).items())):
        perm = _permuted(ids, seed, "stratum", stratum)
        start = 0
        for name, count in zip(names, _largest_remainder(len(perm), fracs, rotate=j)):
            groups[name].extend(perm[start:start + count])
            start += count
    return groups


@dataclass
class SplitPlan:
    """Split name -> ordered object ids, plus notes (shortfalls, unused objects)."""

    splits: dict
    notes: list = field(default_factory=list)
    unused: list = field(default_factory=list)


def assign_splits(labels, spec, seed=0, extra=None) -> SplitPlan:
    """Assign objects to splits.

    Args:
        labels: ``{object_id: label_name or None}``.
        spec: a :class:`SplitSpec` or spec string.
        extra: ``{object_id: {column: value}}`` for ``column:`` specs.

    Returns a :class:`SplitPlan`; every split's ids are in a seeded random
    order (so shards mix classes), empty splits are omitted.
    """
    spec = parse_split_spec(spec)
    plan = SplitPlan({})
    if spec.kind == "none":
        plan.splits["all"] = _permuted(labels, seed, "order", "all")
    elif spec.kind == "column":
        groups = {}
        for oid in sorted(labels):
            value = (extra or {}).get(oid, {}).get(spec.column)
            if value is None or (isinstance(value, float) and math.isnan(value)) or str(value).strip() == "":
                raise ValueError(f"object {oid!r} has no value in split column {spec.column!r}")
            name = str(value).strip()
            if not name.replace("_", "").replace("-", "").isalnum():
                raise ValueError(f"object {oid!r}: split name {name!r} must be letters, digits, _ or -")
            groups.setdefault(name, []).append(oid)
        for name in sorted(groups, key=lambda n: (DEFAULT_NAMES.index(n) if n in DEFAULT_NAMES else 9, n)):
            plan.splits[name] = _permuted(groups[name], seed, "order", name)
    elif spec.kind == "fractions":
        names = [n for n, _ in spec.fractions]
        groups = stratified_fractions(labels, spec.fractions, seed)
        for name in names:
            if groups[name]:
                plan.splits[name] = _permuted(groups[name], seed, "order", name)
    else:
        _fewshot(labels, spec, seed, plan)
    return plan


def _fewshot(labels, spec, seed, plan):
    strata = _strata(labels)
    unlabelled = strata.pop(UNLABELLED_STRATUM, [])
    if unlabelled:
        plan.unused.extend(sorted(unlabelled))
        plan.notes.append(f"{len(unlabelled)} unlabelled objects are not used by the few-shot protocol")
    if not strata:
        raise ValueError("the few-shot protocol needs labelled objects; none were found")
    test, pools = [], {}
    for cls, ids in sorted(strata.items()):
        perm = _permuted(ids, seed, "fewshot-test", cls)
        n_test = min(spec.test_per_class, len(perm))
        if n_test < spec.test_per_class:
            plan.notes.append(f"class {cls!r}: only {len(perm)} objects, test set has {n_test}")
        test.extend(perm[:n_test])
        pools[cls] = perm[n_test:]
    used = set(test)
    out = {}
    pool_labels = {oid: cls for cls, pool in pools.items() for oid in pool}
    for fold in fewshot_folds(pool_labels, spec.spc, spec.folds, seed, classes=list(pools),
                              n_val=lambda n: int(math.ceil(spec.val_ratio * n))):
        key = f"fold{fold['fold']}_spc{fold['shots']}"
        out[f"{key}_train"], out[f"{key}_val"] = fold["train"], fold["val"]
        plan.notes.extend(fold["notes"])
        used.update(fold["train"])
        used.update(fold["val"])
    plan.splits["test"] = _permuted(test, seed, "order", "test")
    for name, ids in out.items():
        if ids:
            plan.splits[name] = _permuted(ids, seed, "order", name)
    plan.unused.extend(sorted(set(labels) - used - set(unlabelled)))


def fewshot_folds(labels, shots=(20, 100, 500), folds=3, seed=0, n_val=None, pool_ids=None, classes=None):
    """The few-shot folds, shared by ``astromer evaluate`` and ``records convert --splits fewshot``.

    For each fold ``k`` and each class, the class's pool objects are put in a seeded
    order (``seed``, the fold and the class name; ids sorted first, so the input order
    does not matter); for each ``n`` in ``shots`` the training set takes the first
    ``min(n, pool)`` objects of that order and the validation set the next ``n_val(n)``
    that are left, so training gets its shots first and validation what remains (none
    when a class has ``n`` objects or fewer). Training sets are nested within a fold
    (20 within 100 within 500).

    Args:
        labels: ``{object_id: class}`` (a dict or a pandas Series); ``None`` classes are skipped.
        shots: training objects per class wanted, in order.
        folds: number of folds.
        n_val: validation objects per class wanted: an int, or a function of ``n``
            (default ``ceil(n / 4)``).
        pool_ids: draw only from these ids (default: every id in ``labels``).
        classes: classes to report even when none of their objects is in the pool (count 0).

    Returns a list of dicts in fold-major order (fold 0 for every ``n``, then fold 1, ...)
    with ``fold``, ``shots``, ``train`` and ``val`` (ids, class by class),
    ``train_per_class`` and ``val_per_class`` (``{class: count}``, the real counts) and
    ``notes`` (one line per class that has fewer than ``n`` + validation objects).
    """
    items = labels.items() if hasattr(labels, "items") else labels
    if pool_ids is not None:
        wanted = set(pool_ids)
        items = [(o, c) for o, c in items if o in wanted]
    pools = {cls: [] for cls in (classes or ())}
    for oid, cls in items:
        if cls is not None:
            pools.setdefault(cls, []).append(oid)
    if n_val is None:
        def n_val(n):
            return int(math.ceil(n / 4))
    elif not callable(n_val):
        fixed = int(n_val)

        def n_val(n):
            return fixed
    result = []
    for fold in range(int(folds)):
        order = {cls: _permuted(pool, seed, "fewshot-fold", fold, cls) for cls, pool in sorted(pools.items())}
        for n in shots:
            n, want_val = int(n), int(n_val(int(n)))
            split = {"fold": fold, "shots": n, "train": [], "val": [], "train_per_class": {},
                     "val_per_class": {}, "notes": []}
            for cls, perm in order.items():
                n_train = min(n, len(perm))
                val = perm[n_train:n_train + want_val]
                split["train"].extend(perm[:n_train])
                split["val"].extend(val)
                split["train_per_class"][cls] = n_train
                split["val_per_class"][cls] = len(val)
                if n_train < n or len(val) < want_val:
                    split["notes"].append(
                        f"fold {fold}, {n} per class: class {cls!r} has {len(perm)} objects in the pool, fewer "
                        f"than {n} + {want_val} validation; train {n_train}, val {len(val)}")
            result.append(split)
    return result
