"""A raw-data baseline: a GRU over (time step, magnitude) windows."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="astromer")
class RawGRUClassifier(keras.Model):
    """GRU classifier on the same input dict as Astromer (``times``, ``magnitudes``, ``mask``).

    Per step it sees the zero-mean magnitude and the time since the previous
    observation (days, log1p-scaled); padding is masked out of the recurrence.
    Returns logits ``(B, num_classes)``.
    """

    def __init__(self, num_classes, units=64, dense_units=64, dropout=0.1, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = int(num_classes)
        self.units = int(units)
        self.dense_units = int(dense_units)
        self.dropout = float(dropout)
        self.gru = keras.layers.GRU(self.units, name="gru")
        self.hidden = keras.layers.Dense(self.dense_units, activation="relu", name="hidden")
        self.drop = keras.layers.Dropout(self.dropout)
        self.logits = keras.layers.Dense(self.num_classes, name="logits")

    def call(self, inputs, training=None):
        times = ops.cast(inputs["times"], "float32")
        mags = ops.cast(inputs["magnitudes"], "float32")
        mask = ops.cast(inputs["mask"], "float32")
        dt = ops.concatenate([ops.zeros_like(times[:, :1]), times[:, 1:] - times[:, :-1]], axis=1)
        dt = ops.log1p(ops.maximum(dt, 0.0)) * mask
        steps = ops.stack([mags * mask, dt], axis=-1)
        h = self.gru(steps, mask=ops.cast(mask, "bool"), training=training)
        return self.logits(self.drop(self.hidden(h), training=training))

    def compile(self, optimizer="adam", loss=None, metrics=None, **kwargs):
        loss = loss or keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        metrics = metrics or [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.update({"num_classes": self.num_classes, "units": self.units,
                       "dense_units": self.dense_units, "dropout": self.dropout})
        return config
