"""The feature baselines: light-curve package features and the scikit-learn classifiers."""

import numpy as np
import pandas as pd
import pytest

from astromer.baselines import (
    LC_FEATURE_NAMES,
    best_periods,
    feature_classifier,
    lc_band_features,
    lc_extractor,
    object_lc_features,
)
from astromer.data import prepare_light_curves
from astromer.data.synthetic import simulate_light_curves


def test_light_curve_features_recover_simulated_periods():
    # RR Lyrae (0.45-0.9 d) and Cepheids (3-50 d): their true periods are in the labels
    curves, labels = simulate_light_curves(6, classes=("rr_lyrae_ab", "cepheid"), seed=3, min_observations=150,
                                           max_observations=300)
    ids, X, names = object_lc_features(prepare_light_curves(curves), n_jobs=1)
    found = X[:, names.index("r_periodogram_period_0")]
    true = labels.set_index("object_id").loc[ids, "period"].to_numpy()
    assert true.min() < 1 and true.max() > 3
    np.testing.assert_allclose(found, true, rtol=0.02)
    # the package default (average Nyquist) cannot see periods this short on a ~900 d baseline
    default = lc_extractor(min_period=None, nyquist="average", max_freq_factor=1.0)
    t, m, e = (curves[curves.object_id == ids[0]][c].to_numpy(float) for c in ("time", "mag", "mag_err"))
    keep = np.concatenate([[True], np.diff(t) > 0])
    assert default(t[keep], m[keep], e[keep])[list(default.names).index("periodogram_period_0")] > 2 * true[0]


def test_best_periods_take_the_band_with_the_strongest_peak():
    curves, labels = simulate_light_curves(4, classes=("rr_lyrae_ab", "cepheid"), seed=3, min_observations=150,
                                           max_observations=300)
    ids, X, names = object_lc_features(prepare_light_curves(curves), n_jobs=1)
    periods = best_periods(ids, X, names)
    assert list(periods.index) == ids and periods.name == "period"
    true = labels.set_index("object_id").loc[ids, "period"].to_numpy()
    np.testing.assert_allclose(periods.to_numpy(), true, rtol=0.02)
    # two bands: the period of the one whose first peak has the higher signal-to-noise; none: NaN
    columns = ["b_periodogram_period_0", "b_periodogram_period_s_to_n_0",
               "r_periodogram_period_0", "r_periodogram_period_s_to_n_0"]
    X2 = np.array([[1.5, 3.0, 0.6, 9.0], [1.5, 3.0, np.nan, 9.0], [np.nan, np.nan, -1.0, 5.0]])
    np.testing.assert_array_equal(best_periods(["x", "y", "z"], X2, columns).to_numpy(), [0.6, 1.5, np.nan])
    with pytest.raises(ValueError, match="best_periods: columns have no periodogram_period_0"):
        best_periods(["x"], X2[:1, :1], columns[:1])


def test_features_per_band_names_and_missing_band():
    rng = np.random.default_rng(0)
    rows = []
    for oid, bands in (("a", ("b", "r")), ("b", ("r",))):
        for band in bands:
            t = np.sort(rng.uniform(0, 100, 40))
            rows += [(oid, band, ti, 15 + np.sin(ti), 0.05) for ti in t]
    table = pd.DataFrame(rows, columns=["object_id", "band", "time", "mag", "mag_err"])
    ids, X, names = object_lc_features(prepare_light_curves(table), n_jobs=1)
    k = len(LC_FEATURE_NAMES)
    assert k == 34 and ids == ["a", "b"] and X.shape == (2, 2 * k)
    assert names[:2] == ["b_observation_count", "b_duration"] and names[k] == "r_observation_count"
    assert names[-1] == "r_periodogram_period_s_to_n_1"
    assert np.isnan(X[1, :k]).all()  # object b has no b band
    assert X[1, k] == 40 and X[0, 0] == 40
    assert X[0, names.index("r_mean")] == pytest.approx(15, abs=0.3)


def test_short_curves_give_nan_not_errors():
    three = np.array([[0.0, 15.0, 0.1], [1.0, 15.4, 0.1], [2.0, 15.1, 0.1]])
    repeated_time = np.array([[0.0, 15.0, 0.1], [1.0, 15.4, 0.1], [1.0, 15.6, 0.1], [2.0, 15.1, 0.1],
                              [3.0, 15.2, 0.1]])
    no_errors = np.column_stack([np.arange(10.0), 15 + np.sin(np.arange(10.0)), np.zeros(10)])
    X = lc_band_features([three, np.zeros((0, 3)), repeated_time, no_errors], n_jobs=1)
    f = {name: X[:, j] for j, name in enumerate(LC_FEATURE_NAMES)}
    assert f["observation_count"][0] == 3 and f["mean"][0] == pytest.approx(15.1667, abs=1e-3)
    assert np.isnan(f["kurtosis"][0]) and np.isnan(f["anderson_darling_normal"][0])  # need 4 and 4+ points
    assert np.isnan(X[1]).all()  # an empty curve: all NaN
    assert f["observation_count"][2] == 4  # a repeated time keeps its first row
    assert np.isnan(f["chi2"][3]) and np.isnan(f["weighted_mean"][3]) and np.isnan(f["stetson_K"][3])
    assert f["standard_deviation"][3] > 0  # features without errors are still computed
    assert not np.isinf(X).any()


@pytest.mark.parametrize("kind", ["rf", "hgb"])
def test_feature_classifiers_fit_a_tiny_set_with_missing_values(kind):
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], [30, 12, 6])  # imbalanced
    X = rng.normal(size=(len(y), 5)) + 3 * y[:, None]
    X[::7, 1] = np.nan
    model = feature_classifier(kind, seed=0, n_jobs=1, **({"max_iter": 40} if kind == "hgb" else {"n_estimators": 50}))
    params = model.get_params()
    assert params[f"{type(model[-1]).__name__.lower()}__class_weight"] == "balanced"
    model.fit(X, y)
    test = rng.normal(size=(9, 5)) + 3 * np.repeat([0, 1, 2], 3)[:, None]
    test[0, :] = np.nan
    assert (model.predict(test)[1:] == np.repeat([0, 1, 2], 3)[1:]).mean() >= 7 / 8
    with pytest.raises(ValueError, match="unknown feature classifier"):
        feature_classifier("svm")


@pytest.mark.parametrize("kind", ["rf", "hgb"])
def test_feature_classifiers_fit_with_a_band_no_training_object_has(kind):
    """A band that almost no object has (one ZTF i-band point in the whole BTS sample) leaves its
    feature columns NaN in every training row; gradient boosting used to fail inside
    scikit-learn's binning ("window shape cannot be larger than input array shape")."""
    rng = np.random.default_rng(1)
    y = np.repeat([0, 1], 20)
    X = rng.normal(size=(40, 4)) + 2 * y[:, None]
    X[:, 2] = np.nan  # the missing band's feature
    model = feature_classifier(kind, seed=0, n_jobs=1, **({"max_iter": 20} if kind == "hgb" else {"n_estimators": 30}))
    model.fit(X, y)
    test = rng.normal(size=(6, 4)) + 2 * np.repeat([0, 1], 3)[:, None]
    test[0, 2] = 5.0  # a test object that has the band: its value is ignored, not an error
    assert (model.predict(test) == np.repeat([0, 1], 3)).mean() >= 5 / 6
    if kind == "hgb":
        assert model[0].keep_.tolist() == [True, True, False, True]
        assert model[-1].n_features_in_ == 3
        with pytest.raises(ValueError, match="every feature column is missing \\(NaN\\) for all 40 training objects"):
            feature_classifier("hgb").fit(np.full((40, 3), np.nan), y)
