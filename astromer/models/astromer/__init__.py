from astromer.models.astromer.architectures import ARCHITECTURES
from astromer.models.astromer.astromer_model import Astromer
from astromer.models.astromer.embeddings import LightCurveEmbeddings

__all__ = ["ARCHITECTURES", "Astromer", "LightCurveEmbeddings"]
