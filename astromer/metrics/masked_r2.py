"""Coefficient of determination of the masked reconstruction."""

import keras
from keras import ops

from astromer.losses.masked_rmse import unpack_targets


@keras.saving.register_keras_serializable(package="astromer")
class MaskedR2(keras.metrics.Metric):
    """R^2 over the probed positions, accumulated over an epoch.

    ``1 - SS_res / SS_tot``, where ``SS_tot`` uses each window's mean of the
    true probed magnitudes (the original ``custom_r2``, summed over batches).
    """

    def __init__(self, name="r2", **kwargs):
        super().__init__(name=name, **kwargs)
        self.ss_res = self.add_variable(shape=(), initializer="zeros", name="ss_res")
        self.ss_tot = self.add_variable(shape=(), initializer="zeros", name="ss_tot")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.cast(y_true, self.dtype)
        y_pred = ops.cast(y_pred, self.dtype)
        target, mask, _ = unpack_targets(y_true)
        mean = ops.divide_no_nan(ops.sum(target * mask, axis=1), ops.sum(mask, axis=1))
        self.ss_res.assign_add(ops.sum(ops.square(target - y_pred) * mask))
        self.ss_tot.assign_add(ops.sum(ops.square(target - mean[:, None]) * mask))

    def result(self):
        return 1.0 - ops.divide_no_nan(self.ss_res, self.ss_tot)

    def reset_state(self):
        self.ss_res.assign(0.0)
        self.ss_tot.assign(0.0)
