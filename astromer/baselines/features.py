"""A classic baseline: 16 standard variability features per band, and the scikit-learn
classifiers of the feature baselines (a class-balanced random forest and a class-balanced
histogram gradient-boosting classifier), used on these features and on the light-curve package's
(:mod:`astromer.baselines.lc_features`)."""

import numpy as np
from scipy import signal, stats
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

FEATURE_NAMES = (
    "n_obs", "time_span", "mean_mag", "std", "amplitude", "skewness", "kurtosis", "mad",
    "beyond_1std", "p90_p10_ratio", "ls_period", "ls_log_period", "ls_power", "mean_err",
    "von_neumann_eta", "linear_trend",
)


def lomb_scargle_peak(t, y, min_period=0.1, max_period=1000.0, n_frequencies=3000):
    """Best period (days) and its normalised power, by scipy's Lomb-Scargle on a log grid."""
    if len(t) < 4 or np.ptp(t) <= 0:
        return np.nan, 0.0
    freqs = np.geomspace(1.0 / max_period, 1.0 / min_period, n_frequencies)
    power = signal.lombscargle(t, y - y.mean(), 2 * np.pi * freqs, normalize=True)
    best = int(np.argmax(power))
    return 1.0 / freqs[best], float(power[best])


def variability_features(curve):
    """The features of one cleaned curve ``(n, 3)`` (time, mag, err), as in FEATURE_NAMES."""
    t, y, e = curve[:, 0], curve[:, 1], curve[:, 2]
    n = len(t)
    std = float(np.std(y)) if n > 1 else 0.0
    p = np.percentile(y, [5, 10, 50, 90, 95]) if n else np.zeros(5)
    period, power = lomb_scargle_peak(t, y)
    eta = float(np.sum(np.diff(y) ** 2) / ((n - 1) * std**2)) if n > 2 and std > 0 else 0.0
    trend = float(np.polyfit(t - t.mean(), y, 1)[0]) if n > 2 and np.ptp(t) > 0 else 0.0
    return np.array([
        n, np.ptp(t) if n else 0.0, np.mean(y) if n else 0.0, std, (p[4] - p[0]) / 2,
        stats.skew(y) if n > 2 else 0.0, stats.kurtosis(y) if n > 3 else 0.0,
        np.median(np.abs(y - p[2])) if n else 0.0,
        np.mean(np.abs(y - y.mean()) > std) if n > 1 else 0.0,
        (p[3] - p[1]) / (p[4] - p[0]) if p[4] > p[0] else 0.0,
        period if np.isfinite(period) else 0.0, np.log10(period) if np.isfinite(period) else 0.0, power,
        np.mean(e) if n else 0.0, eta, trend,
    ], dtype="float64")


def object_features(prepared, bands=None):
    """One row per object: the features of each band side by side (missing band -> NaN, then 0).

    ``prepared``: :class:`astromer.data.PreparedCurves` whose ids are object ids or
    ``(object_id, band)`` tuples. Returns ``(object_ids, X, column_names)``.
    """
    keys = [i if isinstance(i, tuple) else (i, "") for i in prepared.ids]
    bands = sorted({b for _, b in keys}) if bands is None else list(bands)
    objects = list(dict.fromkeys(o for o, _ in keys))
    row = {o: i for i, o in enumerate(objects)}
    X = np.full((len(objects), len(bands) * len(FEATURE_NAMES)), np.nan)
    for (obj, band), curve in zip(keys, prepared.curves):
        if band in bands:
            j = bands.index(band) * len(FEATURE_NAMES)
            X[row[obj], j:j + len(FEATURE_NAMES)] = variability_features(curve)
    names = [f"{b}_{f}" if b else f for b in bands for f in FEATURE_NAMES]
    return objects, np.nan_to_num(X, nan=0.0), names


def random_forest(seed=0, n_estimators=1000, n_jobs=-1):
    """The baseline classifier: a balanced random forest (``n_jobs`` threads; -1: every core).

    1,000 trees, not scikit-learn's 100: at 20 labelled objects per class a smaller forest's score
    moves with its seed. On EROS-1 (light-curve features, 20 per class) 300 trees gave 3-fold macro
    F1 from 74.3 to 75.3 over five seeds (mean 74.7), 1,000 trees 75.3 to 75.8 (mean 75.6):
    ``benchmarks/results/forest_seeds_eros1.md``."""
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(n_estimators=n_estimators, class_weight="balanced", random_state=seed,
                                  n_jobs=n_jobs)


def gradient_boosting(seed=0, max_iter=300, learning_rate=0.05, max_leaf_nodes=15, min_samples_leaf=5,
                      l2_regularization=1.0):
    """A class-balanced ``HistGradientBoostingClassifier``. NaN features are handled natively
    (each split learns which side missing values go). The settings were chosen a priori for
    training sets of 80-2,000 objects (small leaves, a slow learning rate, no early stopping, so
    nothing is held out of the few labelled objects), not tuned on any test set. Its threads
    are OpenMP's: limit them with ``threadpoolctl`` (the few-shot harness does, from ``n_jobs``)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(
        max_iter=max_iter, learning_rate=learning_rate, max_leaf_nodes=max_leaf_nodes,
        min_samples_leaf=min_samples_leaf, l2_regularization=l2_regularization, class_weight="balanced",
        early_stopping=False, random_state=seed)


FEATURE_CLASSIFIERS = ("rf", "hgb")


class DropEmptyColumns(TransformerMixin, BaseEstimator):
    """Drops the columns that are missing (NaN) in every training row; the others pass unchanged.

    A band that (almost) no object has, e.g. one ZTF i-band point in a whole survey, leaves its
    features NaN for every training object; scikit-learn 1.9's ``HistGradientBoostingClassifier``
    then fails inside its binning ("window shape cannot be larger than input array shape")."""

    def fit(self, X, y=None):
        X = np.asarray(X, dtype=np.float64)
        self.n_features_in_ = X.shape[1]
        self.keep_ = ~np.isnan(X).all(axis=0)
        if not self.keep_.any():
            raise ValueError(f"every feature column is missing (NaN) for all {len(X)} training objects")
        return self

    def transform(self, X):
        check_is_fitted(self, "keep_")
        X = np.asarray(X, dtype=np.float64)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} feature columns; this was fitted on {self.n_features_in_}")
        return X[:, self.keep_]


def feature_classifier(kind, seed=0, n_jobs=-1, **params):
    """``"rf"``: median imputation of NaN features (fitted on the training rows), then
    :func:`random_forest`; ``"hgb"``: columns missing in every training row dropped
    (:class:`DropEmptyColumns`), then :func:`gradient_boosting` (other missing values native).
    ``params`` go to :func:`random_forest` / :func:`gradient_boosting`."""
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline

    if kind == "rf":
        return make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True),
                             random_forest(seed=seed, n_jobs=n_jobs, **params))
    if kind == "hgb":
        return make_pipeline(DropEmptyColumns(), gradient_boosting(seed=seed, **params))
    raise ValueError(f"unknown feature classifier {kind!r}; choose from {FEATURE_CLASSIFIERS}")
