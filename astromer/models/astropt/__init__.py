from astromer.models.astropt.architectures import FAMILIES as ASTROPT_FAMILIES
from astromer.models.astropt.architectures import SIZES as ASTROPT_SIZES
from astromer.models.astropt.astropt_model import AstroPT

__all__ = ["ASTROPT_FAMILIES", "ASTROPT_SIZES", "AstroPT"]
