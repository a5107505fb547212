"""Phase folding: each object's observations placed on one cycle of its period.

A sparse survey curve (EROS-1: ~120 points over ~900 d) shows a 0.5 d RR Lyrae as scattered
points; folded on its period the same points trace the pulsation's shape. The encoder reads the
folded curve like any other (:func:`fold_light_curves` only rewrites the time column), so its
embeddings describe the shape of one cycle, which neither the unfolded embeddings nor the
variability features (periodogram peaks, amplitudes, moments) capture.

The period usually comes from the light-curve features' periodogram
(:func:`astromer.baselines.lc_features.best_periods`). Measured on EROS-1 (few-shot harness,
3 folds, object-level macro F1; ``benchmarks/results/eros1_fewshot``): see the ``*_fold`` rows.
"""

import numpy as np
import pandas as pd

from astromer.data.light_curves import REQUIRED_COLUMNS

#: days one folded cycle spans (phase 0..1 -> time 0..FOLD_SCALE)
FOLD_SCALE = 100.0


def fold_light_curves(table, periods, scale=FOLD_SCALE):
    """``table`` (a DataFrame with ``object_id``, ``time``, ``mag`` and any other columns) with each
    object's times replaced by ``scale * phase``, ``phase = ((time - first time of the object) /
    period) mod 1`` (one epoch per object, so its bands stay in phase); objects in their order of
    first appearance, each one's rows sorted by band (when there is one) and folded time.

    ``periods``: object id -> period in days (a dict or a pandas Series). Objects without a
    finite positive period are dropped. Returns ``(folded_table, dropped_objects)``, the latter a
    sorted list of the dropped ids. Raises ``ValueError`` naming the missing column, a
    non-positive ``scale``, or when no object has a period.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"fold_light_curves: table has no column {missing[0]!r}")
    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"fold_light_curves: scale must be a positive number of days, got {scale!r}")
    periods = pd.Series(periods, dtype=np.float64) if isinstance(periods, dict) else periods.astype(np.float64)
    period = table["object_id"].map(periods).to_numpy(dtype=np.float64)
    usable = np.isfinite(period) & (period > 0)
    dropped = sorted(set(table["object_id"][~usable]), key=str)
    if not usable.any():
        raise ValueError(f"fold_light_curves: none of the {table['object_id'].nunique()} objects has a finite "
                         "positive period")
    out = table[usable].copy()
    # a non-numeric or missing time stays NaN: the curve preparation drops and counts it later
    time = pd.to_numeric(out["time"], errors="coerce").to_numpy(dtype=np.float64)
    start = pd.Series(time, index=out.index).groupby(out["object_id"], sort=False).transform("min").to_numpy()
    out["time"] = np.mod(time - start, period[usable]) / period[usable] * float(scale)
    # objects stay in their order of first appearance (rows of an embedding follow it), bands
    # and folded times sorted within each
    out["__order"] = pd.factorize(out["object_id"])[0]
    keys = ["__order", "band", "time"] if "band" in out.columns else ["__order", "time"]
    out = out.sort_values(keys, kind="stable").drop(columns="__order")
    return out.reset_index(drop=True), dropped
