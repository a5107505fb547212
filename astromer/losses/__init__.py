"""Losses of astromer."""

from astromer.losses.masked_rmse import LOSS_MASK, TARGET, WEIGHT, MaskedRMSE, unpack_targets

__all__ = ["MaskedRMSE", "unpack_targets", "TARGET", "LOSS_MASK", "WEIGHT"]
