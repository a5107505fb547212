"""Metrics of astromer."""

from astromer.metrics.masked_r2 import MaskedR2

__all__ = ["MaskedR2"]
