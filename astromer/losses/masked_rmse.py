"""The masked reconstruction loss of Astromer."""

import keras
from keras import ops

# Layout of the packed ``y_true`` tensor (B, T, 3) produced by astromer.data pipelines.
TARGET, LOSS_MASK, WEIGHT = 0, 1, 2


def unpack_targets(y_true):
    """Split a packed ``(B, T, 3)`` target into (target, loss_mask, weight), each (B, T)."""
    return y_true[..., TARGET], y_true[..., LOSS_MASK], y_true[..., WEIGHT]


@keras.saving.register_keras_serializable(package="astromer")
class MaskedRMSE(keras.losses.Loss):
    """Root of the mean over windows of the masked mean squared error.

    ``y_true`` is ``(B, T, 3)``: [true magnitude, loss mask, weight]; ``y_pred``
    is ``(B, T)``. Per window: ``sum(w * m * (y - yhat)^2) / sum(m)`` (0 for a
    window without probed positions), then the mean over the batch, then the
    square root, as in the original ``custom_rmse``. With
    ``uncertainty_weighted=True`` the weights ``w`` are used (Astromer 2's
    ``correct_loss``); otherwise ``w = 1``.
    """

    def __init__(self, uncertainty_weighted=False, name="masked_rmse", **kwargs):
        super().__init__(name=name, **kwargs)
        self.uncertainty_weighted = bool(uncertainty_weighted)

    def call(self, y_true, y_pred):
        target, mask, weight = unpack_targets(y_true)
        residuals = ops.square(target - y_pred) * mask
        if self.uncertainty_weighted:
            residuals = residuals * weight
        per_window = ops.divide_no_nan(ops.sum(residuals, axis=1), ops.sum(mask, axis=1))
        return ops.sqrt(ops.mean(per_window))

    def get_config(self):
        config = super().get_config()
        config.update({"uncertainty_weighted": self.uncertainty_weighted})
        return config
