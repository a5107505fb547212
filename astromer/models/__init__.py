"""Models of astromer."""

from astromer.models.astromer import ARCHITECTURES, Astromer, LightCurveEmbeddings

__all__ = ["ARCHITECTURES", "Astromer", "LightCurveEmbeddings"]
