"""Phase folding of light curves (astromer.data.folding)."""

import numpy as np
import pandas as pd
import pytest

from astromer.data import FOLD_SCALE, fold_light_curves, prepare_light_curves


def _table():
    rng = np.random.default_rng(1)
    rows = []
    for oid, period in (("rr", 0.5371), ("cep", 7.25), ("noise", np.nan)):
        for band, shift in (("b", 0.0), ("r", 3.3)):
            t = 2450000.0 + shift + np.sort(rng.uniform(0, 900, 60))  # JD-scale times
            mag = 15 + (np.sin(2 * np.pi * (t - 2450000.0) / period) if np.isfinite(period) else rng.normal(0, 1, 60))
            rows += [(oid, band, ti, mi, 0.02) for ti, mi in zip(t, mag)]
    return pd.DataFrame(rows, columns=["object_id", "band", "time", "mag", "mag_err"]).sample(frac=1, random_state=0)


def test_folding_puts_every_cycle_on_one_shape_in_float64():
    table = _table()
    folded, dropped = fold_light_curves(table, {"rr": 0.5371, "cep": 7.25, "noise": np.nan})
    assert dropped == ["noise"]
    assert len(folded) == 4 * 60
    first_seen = [o for o in dict.fromkeys(table["object_id"]) if o != "noise"]
    assert list(dict.fromkeys(folded["object_id"])) == first_seen  # order of first appearance kept
    assert folded["time"].between(0, FOLD_SCALE).all() and folded["time"].dtype == np.float64
    for (oid, band), curve in folded.groupby(["object_id", "band"], sort=False):
        assert np.all(np.diff(curve["time"].to_numpy()) >= 0)  # sorted by folded time
    # one epoch per object (its first time over all bands): the two bands stay in phase, so the
    # folded sine is the same function of folded time in both, to float64 precision
    for oid, period in (("rr", 0.5371), ("cep", 7.25)):
        start = table.loc[table.object_id == oid, "time"].min()
        curve = folded[folded.object_id == oid]
        expected = 15 + np.sin(2 * np.pi * ((start - 2450000.0) / period + curve["time"] / FOLD_SCALE))
        np.testing.assert_allclose(curve["mag"], expected, atol=1e-6)
    # the other columns travel with their rows
    merged = folded.merge(table, on=["object_id", "band", "mag"], suffixes=("", "_orig"))
    assert len(merged) == len(folded) and (merged["mag_err"] == merged["mag_err_orig"]).all()


def test_folding_takes_a_series_and_a_scale_and_keeps_bad_times_for_the_cleaning_to_count():
    table = _table()
    table = table[table.object_id == "rr"].astype({"time": object})
    table.iloc[0, table.columns.get_loc("time")] = "n/a"
    folded, dropped = fold_light_curves(table, pd.Series({"rr": 0.5371}), scale=1.0)
    assert dropped == [] and folded["time"].isna().sum() == 1 and folded["time"].max() < 1.0
    with pytest.warns(UserWarning, match="1 rows dropped: nonfinite_time"):
        prepared = prepare_light_curves(folded)
    assert sum(prepared.report.rows.values()) == 1 and len(prepared.curves) == 2


@pytest.mark.parametrize("kwargs, message", [
    (dict(table=pd.DataFrame({"object_id": ["a"], "mag": [1.0]}), periods={"a": 1.0}),
     "fold_light_curves: table has no column 'time'"),
    (dict(table=_table(), periods={"rr": 1.0}, scale=0.0),
     "fold_light_curves: scale must be a positive number of days, got 0.0"),
    (dict(table=_table(), periods={"rr": -1.0, "cep": np.inf}),
     "fold_light_curves: none of the 3 objects has a finite positive period"),
])
def test_folding_names_bad_input(kwargs, message):
    with pytest.raises(ValueError) as error:
        fold_light_curves(**kwargs)
    assert str(error.value) == message
