"""Object-level classification of curves longer than one window: attention pooling over windows.

A curve longer than the encoder's window is cut into several windows. Scenario a classifies each
window and averages the window logits per object; here a learned, gated attention (Ilse et al.
2018, attention-based multiple-instance learning) weighs each object's windows instead, so the
windows that carry the signal (the well-sampled ones, the ones covering a full period) count most.

It trains on the frozen encoder's pooled features (:func:`astromer.tasks.finetune.feature_model`,
computed once, shared with scenario a), grouped per object by :func:`object_windows`.
"""

import keras
import numpy as np
from keras import ops

from astromer.layers.pooling import LayerWeighting


@keras.saving.register_keras_serializable(package="astromer")
class WindowAttentionPooling(keras.layers.Layer):
    """``(B, W, d)`` window vectors and a ``(B, W)`` window mask -> ``(B, d)``: the sum of the
    windows weighted by ``softmax_w(v . (tanh(V h_w) * sigmoid(U h_w)))`` over real windows only
    (an object with no real window gives zeros). ``attention_weights`` returns the weights."""

    def __init__(self, units=128, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.tanh_branch = keras.layers.Dense(self.units, activation="tanh", name="tanh_branch")
        self.gate = keras.layers.Dense(self.units, activation="sigmoid", name="gate")
        self.score = keras.layers.Dense(1, name="score")

    def build(self, x_shape, mask_shape=None):
        shape = tuple(x_shape)
        self.tanh_branch.build(shape)
        self.gate.build(shape)
        self.score.build(shape[:-1] + (self.units,))
        self.built = True

    def attention_weights(self, x, mask):
        scores = ops.squeeze(self.score(self.tanh_branch(x) * self.gate(x)), -1)
        valid = ops.cast(mask, "bool")
        scores = ops.where(valid, scores, ops.full_like(scores, -1e9))
        weights = ops.softmax(scores, axis=-1)
        return weights * ops.cast(valid, weights.dtype)

    def call(self, x, mask):
        return ops.sum(x * self.attention_weights(x, mask)[..., None], axis=1)

    def compute_output_shape(self, x_shape, mask_shape=None):
        return (x_shape[0], x_shape[-1])

    def get_config(self):
        config = super().get_config()
        config["units"] = self.units
        return config


@keras.saving.register_keras_serializable(package="astromer")
class WindowPoolingClassifier(keras.Model):
    """Per-object logits from the frozen-encoder features of all its windows.

    Inputs: ``{"windows": (B, W, L, d), "window_mask": (B, W)}`` (from :func:`object_windows`):
    each window's ``L`` per-layer vectors are combined by a learned layer weighting (as the skip
    head), projected by ``Dense(hidden_units, relu)``, pooled over windows by
    :class:`WindowAttentionPooling`, normalised and classified.
    """

    def __init__(self, num_classes, hidden_units=256, attention_units=128, dropout=0.1, **kwargs):
        super().__init__(**kwargs)
        self.num_classes, self.hidden_units = int(num_classes), int(hidden_units)
        self.attention_units, self.dropout = int(attention_units), float(dropout)
        self.weighting = LayerWeighting(name="layer_weighting")
        self.project = keras.layers.Dense(self.hidden_units, activation="relu", name="project")
        self.drop = keras.layers.Dropout(self.dropout)
        self.pooling = WindowAttentionPooling(self.attention_units, name="window_attention")
        self.norm = keras.layers.LayerNormalization(name="norm")
        self.logits = keras.layers.Dense(self.num_classes, name="logits")

    def _windows(self, windows):
        shape = ops.shape(windows)
        flat = ops.reshape(windows, (-1, shape[2], shape[3]))
        vectors = self.drop(self.project(self.weighting(flat)))
        return ops.reshape(vectors, (shape[0], shape[1], self.hidden_units))

    def call(self, inputs, training=None):
        vectors = self._windows(inputs["windows"])
        pooled = self.pooling(vectors, inputs["window_mask"])
        return self.logits(self.norm(self.drop(pooled, training=training)))

    def attention(self, inputs):
        """``(B, W)`` attention weights of each object's windows (0 at padding)."""
        return self.pooling.attention_weights(self._windows(inputs["windows"]), inputs["window_mask"])

    def get_config(self):
        config = super().get_config()
        config.update({"num_classes": self.num_classes, "hidden_units": self.hidden_units,
                       "attention_units": self.attention_units, "dropout": self.dropout})
        return config


def object_windows(features, groups, max_windows=None):
    """Group window rows by object: ``(ids, {"windows": (n, W, ...), "window_mask": (n, W)})``.

    ``features``: ``(N, ...)`` one row per window; ``groups``: the object of each row (objects in
    order of first appearance). ``W`` is the most windows of any object, or ``max_windows``
    (then an object's windows beyond it are left out, evenly spread ones kept)."""
    from astromer.models.classifier.light_curve_classifier import group_codes

    features = np.asarray(features)
    order, codes = group_codes(groups)
    by_object = np.argsort(codes, kind="stable")
    rows = [r.tolist() for r in np.split(by_object, np.cumsum(np.bincount(codes))[:-1])]
    if max_windows is not None:
        rows = [r if len(r) <= max_windows else [r[j] for j in np.linspace(0, len(r) - 1, max_windows).astype(int)]
                for r in rows]
    width = max(len(r) for r in rows)
    windows = np.zeros((len(order), width) + features.shape[1:], dtype=features.dtype)
    mask = np.zeros((len(order), width), dtype="float32")
    for k, r in enumerate(rows):
        windows[k, :len(r)] = features[r]
        mask[k, :len(r)] = 1.0
    return order, {"windows": windows, "window_mask": mask}
