"""astromer: astronomy foundation models (Astromer, AstroPT) for Keras 3.

Quick start::

    import astromer
    model = astromer.load_preset("path/to/macho_a0.zip")
    result = model.embed([curve])          # curve: (n, 3) array of time, mag, err
"""

__version__ = "0.1.0"

from astromer import data, layers, losses, metrics  # noqa: E402,F401
from astromer.models import Astromer, LightCurveEmbeddings  # noqa: E402
from astromer.presets import load_preset  # noqa: E402

__all__ = ["Astromer", "LightCurveEmbeddings", "load_preset", "__version__"]
