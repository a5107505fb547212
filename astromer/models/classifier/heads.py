"""Classification heads over Astromer encoder outputs."""

import keras
from keras import ops

from astromer.layers.pooling import LayerWeighting, masked_max, masked_mean
from astromer.models.compilation import default_jit_compile

HEADS = ("skip", "mean", "max")


class CompiledLikeAClassifier:
    """``compile`` defaults of the classifiers over an encoder (light curves and images):
    sparse categorical cross-entropy on logits and accuracy; and the restore of that compile
    state from a ``.keras`` file (the optimizer built, so its saved state loads)."""

    def compile(self, optimizer="adam", loss=None, metrics=None, **kwargs):
        """Defaults: sparse categorical cross-entropy on logits, accuracy; ``jit_compile``:
        :func:`astromer.models.compilation.default_jit_compile`."""
        if loss is None:
            loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        if metrics is None:
            metrics = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
        kwargs.setdefault("jit_compile", default_jit_compile())
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)

    def compile_from_config(self, config):
        self.compile(**keras.saving.deserialize_keras_object(config))
        if getattr(self, "optimizer", None) is not None and self.built:
            self.optimizer.build(self.trainable_variables)


def pooled_features(layer_outputs, mask, head):
    """What a head consumes: ``(B, L+1, d)`` per-layer masked means for ``"skip"``,
    ``(B, 1, d)`` masked mean or max of the last layer otherwise.

    ``layer_outputs``: the list from ``Astromer.encode(..., all_layers=True)``;
    ``mask``: ``(B, T)``, 1 at real observations. Precompute these once to train a
    head on a frozen encoder quickly (identical to training through the encoder).
    """
    if head == "skip":
        return ops.stack([masked_mean(z, mask) for z in layer_outputs], axis=1)
    pool = masked_mean if head == "mean" else masked_max
    return ops.expand_dims(pool(layer_outputs[-1], mask), 1)


@keras.saving.register_keras_serializable(package="astromer")
class ClassificationHead(keras.layers.Layer):
    """Pooled features ``(B, L, d)`` -> class logits ``(B, num_classes)``.

    ``"skip"`` (Astromer 2): a learned softmax weighting of the per-layer means
    (input embedding and every block), then ``Dense(1024, relu) -> Dense(512, relu)
    -> Dense(256, relu) -> LayerNorm -> Dense(num_classes)``. ``"mean"``/``"max"``
    use the single pooled vector with the same MLP.
    """

    def __init__(self, num_classes, head="skip", hidden_units=(1024, 512, 256), dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        if head not in HEADS:
            raise ValueError(f"head must be one of {HEADS}, got {head!r}")
        self.num_classes = int(num_classes)
        self.head = head
        self.hidden_units = tuple(int(u) for u in hidden_units)
        self.dropout = float(dropout)
        self.weighting = LayerWeighting(name="layer_weighting") if head == "skip" else None
        self.hidden = [keras.layers.Dense(u, activation="relu", name=f"dense_{i}")
                       for i, u in enumerate(self.hidden_units)]
        self.drop = keras.layers.Dropout(self.dropout)
        self.norm = keras.layers.LayerNormalization(name="norm")
        self.logits = keras.layers.Dense(self.num_classes, name="logits")

    def build(self, input_shape):
        width = input_shape[-1]
        if self.weighting is not None:
            self.weighting.build(input_shape)
        shape = (None, width)
        for layer in self.hidden:
            layer.build(shape)
            shape = (None, layer.units)
        self.norm.build(shape)
        self.logits.build(shape)
        self.built = True

    def call(self, features, training=None):
        x = self.weighting(features) if self.weighting is not None else features[:, 0]
        for layer in self.hidden:
            x = self.drop(layer(x), training=training)
        return self.logits(self.norm(x))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_classes)

    def get_config(self):
        config = super().get_config()
        config.update({"num_classes": self.num_classes, "head": self.head,
                       "hidden_units": list(self.hidden_units), "dropout": self.dropout})
        return config
