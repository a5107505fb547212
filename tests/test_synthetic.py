"""The embedded simulators: light curves (classes, cadence, errors, seeding) and galaxy images."""

import numpy as np
import pandas as pd
import pytest

from astromer.baselines.features import lomb_scargle_peak
from astromer.data.synthetic import CLASSES, simulate_galaxies, simulate_light_curves, write_simulated_survey


@pytest.fixture(scope="module")
def sample():
    return simulate_light_curves(120, seed=3)


def test_layout_classes_and_labels(sample):
    curves, labels = sample
    assert list(curves.columns) == ["object_id", "band", "time", "mag", "mag_err"]
    assert list(labels.columns[:2]) == ["object_id", "label"]
    assert labels["label"].value_counts().to_dict() == {c: 20 for c in CLASSES}
    assert set(curves["object_id"]) == set(labels["object_id"])
    assert curves.equals(curves.sort_values(["object_id", "band", "time"]).reset_index(drop=True))
    sizes = curves.groupby("object_id").size()
    assert sizes.min() >= 5 and sizes.max() <= 400 and sizes.std() > 30  # random lengths
    assert np.isfinite(curves[["time", "mag", "mag_err"]].to_numpy()).all() and (curves["mag_err"] > 0).all()
    periods = labels.set_index("label")["period"]
    assert periods["rr_lyrae_ab"].between(0.45, 0.9).all() and periods["rr_lyrae_c"].between(0.25, 0.45).all()
    assert periods["cepheid"].between(3, 50).all() and periods["long_period_variable"].between(100, 500).all()
    assert periods["non_variable"].isna().all()


def test_seeded_and_extensible():
    a, la = simulate_light_curves(18, seed=5)
    b, lb = simulate_light_curves(18, seed=5)
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(la, lb)
    c, _ = simulate_light_curves(18, seed=6)
    assert not a["mag"].equals(c["mag"])
    more, _ = simulate_light_curves(24, seed=5)  # object i depends only on (seed, i)
    first = more[more["object_id"].isin(set(a["object_id"]))].reset_index(drop=True)
    pd.testing.assert_frame_equal(first, a)


def test_cadence_has_seasons_nights_and_clusters(sample):
    curves, _ = sample
    gaps = curves.groupby("object_id")["time"].apply(lambda t: np.diff(t.to_numpy()))
    all_gaps = np.concatenate(gaps.to_list())
    assert (all_gaps > 60).mean() > 0.002  # seasonal gaps
    assert (all_gaps < 0.2).mean() > 0.2  # several exposures within a night
    night_phase = (curves["time"] % 1.0)
    assert night_phase.between(0.0, 0.5).mean() > 0.95  # exposures at night (around local midnight)
    span = curves.groupby("object_id")["time"].agg(np.ptp)
    assert span.median() > 500


def test_errors_grow_with_magnitude_and_outliers_exist(sample):
    curves, _ = sample
    assert np.corrcoef(curves["mag"], np.log(curves["mag_err"]))[0, 1] > 0.6
    assert curves["mag"].max() < 21.5  # detection limit
    nonvar = curves[curves["object_id"].isin(simulate_light_curves(120, seed=3)[1].query(
        "label == 'non_variable'")["object_id"])]
    z = nonvar.groupby("object_id")["mag"].transform(lambda m: (m - m.median())) / nonvar["mag_err"]
    assert (z.abs() > 4).mean() > 0.002 and (z.abs() < 3).mean() > 0.9


def test_periods_are_recoverable():
    curves, labels = simulate_light_curves(36, seed=11, min_observations=150, baseline_days=300)
    ranges = {"rr_lyrae_ab": (0.4, 1.0), "rr_lyrae_c": (0.2, 0.5), "cepheid": (2.0, 60.0)}
    hits = {}
    for _, row in labels[labels["label"].isin(list(ranges))].iterrows():
        c = curves[curves["object_id"] == row["object_id"]]
        lo, hi = ranges[row["label"]]
        period, _ = lomb_scargle_peak(c["time"].to_numpy() - 58000, c["mag"].to_numpy(), min_period=lo,
                                      max_period=hi, n_frequencies=8000)
        hits.setdefault(row["label"], []).append(abs(period / row["period"] - 1) < 0.01)
    assert {k: np.mean(v) >= 0.8 for k, v in hits.items()} == dict.fromkeys(ranges, True), hits


def test_shapes_of_the_classes():
    curves, labels = simulate_light_curves(60, seed=2, min_observations=200)
    skew = curves.groupby("object_id")["mag"].skew()
    amp = curves.groupby("object_id")["mag"].agg(lambda m: np.percentile(m, 95) - np.percentile(m, 5))
    by = labels.set_index("object_id")["label"]
    assert skew[by == "eclipsing_binary"].median() > 1.0  # dips: magnitudes skewed faintwards
    assert amp[by == "rr_lyrae_ab"].median() > amp[by == "rr_lyrae_c"].median()
    assert amp[by == "long_period_variable"].median() > 1.0 > amp[by == "rr_lyrae_c"].median()
    assert amp[by == "non_variable"].median() < 0.15


def test_bands_and_validation():
    curves, _ = simulate_light_curves(6, bands=("g", "r"), seed=0)
    assert set(curves["band"]) == {"g", "r"}
    g = curves[curves["band"] == "g"].groupby("object_id")["mag"].std()
    r = curves[curves["band"] == "r"].groupby("object_id")["mag"].std()
    assert (g.iloc[:5] > r.iloc[:5]).mean() >= 0.6  # larger amplitudes in g
    with pytest.raises(ValueError, match="unknown classes"):
        simulate_light_curves(5, classes=("quasar",))
    with pytest.raises(ValueError, match="unknown bands"):
        simulate_light_curves(5, bands=("x",))


def test_simulated_survey_goes_through_the_records_writer(tmp_path):
    from astromer.records import long_table_source, write_dataset

    folder = write_simulated_survey(tmp_path / "survey", 24, seed=1)
    labels = pd.read_csv(folder / "labels.csv")
    assert (labels["split"] == "test").sum() == 6
    meta = write_dataset(long_table_source(folder / "lightcurves.csv.gz", folder / "labels.csv",
                                           extra_label_columns=("split",)),
                         tmp_path / "records", splits="column:split", progress=False)
    assert meta["counts"]["objects"] == 24 and set(meta["splits"]) == {"train", "test"}


def test_galaxies():
    images, labels = simulate_galaxies(9, size=64, seed=0)
    assert images.shape == (9, 64, 64, 3) and images.dtype == np.uint8
    assert labels["label"].tolist() == ["elliptical", "spiral", "edge_on"] * 3
    again, _ = simulate_galaxies(9, size=64, seed=0)
    assert np.array_equal(images, again)
    assert not np.array_equal(images, simulate_galaxies(9, size=64, seed=1)[0])

    def elongation(image):
        w = image.astype(float).sum(-1)
        w = np.where(w > np.percentile(w, 90), w, 0)
        y, x = np.mgrid[: w.shape[0], : w.shape[1]]
        cx, cy = (w * x).sum() / w.sum(), (w * y).sum() / w.sum()
        cov = np.cov(np.stack([x.ravel() - cx, y.ravel() - cy]), aweights=w.ravel())
        ev = np.linalg.eigvalsh(cov)
        return ev[1] / ev[0]

    kinds = labels["label"].to_numpy()
    e = np.array([elongation(im) for im in images])
    assert e[kinds == "edge_on"].min() > e[kinds == "elliptical"].max()
    # discs are bluer than ellipticals
    colour = images[..., 2].astype(float).sum((1, 2)) / images[..., 0].astype(float).sum((1, 2))
    assert colour[kinds == "spiral"].mean() > colour[kinds == "elliptical"].mean()
    with pytest.raises(ValueError, match="unknown galaxy classes"):
        simulate_galaxies(2, classes=("blob",))
