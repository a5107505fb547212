"""Baselines for light-curve classification: a raw GRU and variability features + random forest."""

from astromer.baselines.features import FEATURE_NAMES, object_features, random_forest, variability_features
from astromer.baselines.gru import RawGRUClassifier

__all__ = ["FEATURE_NAMES", "RawGRUClassifier", "object_features", "random_forest", "variability_features"]
