"""Baselines for light-curve classification: a raw GRU, and variability features (16 hand-picked
ones, or ~34 per band from the light-curve package) with a class-balanced random forest or
gradient-boosting classifier."""

from astromer.baselines.features import (
    FEATURE_CLASSIFIERS,
    FEATURE_NAMES,
    feature_classifier,
    gradient_boosting,
    object_features,
    random_forest,
    variability_features,
)
from astromer.baselines.gru import RawGRUClassifier
from astromer.baselines.lc_features import (
    best_periods,
    lc_band_features,
    lc_extractor,
    lc_feature_names,
    object_lc_features,
)

__all__ = ["FEATURE_CLASSIFIERS", "FEATURE_NAMES", "LC_FEATURE_NAMES", "RawGRUClassifier", "best_periods",
           "feature_classifier",
           "gradient_boosting", "lc_band_features", "lc_extractor", "lc_feature_names", "object_features",
           "object_lc_features", "random_forest", "variability_features"]


def __getattr__(name):
    if name == "LC_FEATURE_NAMES":  # needs light-curve: built on first use
        from astromer.baselines import lc_features

        return lc_features.LC_FEATURE_NAMES
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
