"""Models of astromer."""

from astromer.models.astromer import ARCHITECTURES, Astromer, LightCurveEmbeddings
from astromer.models.classifier import ImageClassifier, LightCurveClassifier, MultiBandClassifier
from astromer.models.astropt import ASTROPT_FAMILIES, ASTROPT_SIZES, AstroPT

__all__ = ["ARCHITECTURES", "ASTROPT_FAMILIES", "ASTROPT_SIZES", "AstroPT", "Astromer", "LightCurveEmbeddings",
           "ImageClassifier", "LightCurveClassifier", "MultiBandClassifier"]
