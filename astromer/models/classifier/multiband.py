"""``MultiBandClassifier``: one object, all its bands, one prediction.

The scenarios of :class:`LightCurveClassifier` classify each band's windows on their own and
average the logits. Here the shared encoder reads every band of an object and the head sees the
bands side by side: per band, the mean and standard deviation over the observation embeddings
(every block's output side by side by default: what the logistic probe of ``astromer evaluate``
reads, ``Astromer.embed(layers="blocks")``), standardised, into one linear (or MLP) head. The position of a band's block in the head's input is its learned band identity; a band an
object lacks contributes zeros.

The head can start from a fitted scikit-learn probe (:meth:`MultiBandClassifier.set_head_from_probe`):
then the model predicts exactly as the probe does, and fine-tuning the encoder through the
object-level loss (scenario b, :func:`astromer.tasks.multiband.fit_multiband`) starts there.
"""

import keras
import numpy as np
from keras import ops

from astromer.layers.pooling import masked_mean
from astromer.models.classifier.heads import CompiledLikeAClassifier
from astromer.models.astromer.astromer_model import EMBED_LAYERS
from astromer.models.classifier.light_curve_classifier import ObjectPredictions, OnAnEncoder, aggregate_logits


def masked_std(x, mask):
    """Population standard deviation of ``x`` (..., T, d) over the positions where ``mask`` is 1
    (0 if none), as ``numpy.std``."""
    mean = masked_mean(x, mask)
    m = ops.cast(mask, x.dtype)[..., None]
    var = ops.divide_no_nan(ops.sum(ops.square(x - mean[..., None, :]) * m, axis=-2), ops.sum(m, axis=-2))
    # sqrt's gradient is infinite at 0 (a band with one observation, or an empty one): the
    # double where keeps it 0 there, so fine-tuning never turns the weights into NaN
    positive = var > 0
    return ops.where(positive, ops.sqrt(ops.where(positive, var, 1.0)), 0.0)


@keras.saving.register_keras_serializable(package="astromer")
class Standardize(keras.layers.Layer):
    """``(x - mean) / scale`` with fixed (non-trainable) ``mean`` and ``scale`` per feature, as
    scikit-learn's ``StandardScaler``; set them with :meth:`set_statistics` (default 0 and 1)."""

    def build(self, input_shape):
        d = input_shape[-1]
        self.mean = self.add_weight(shape=(d,), initializer="zeros", trainable=False, name="mean")
        self.scale = self.add_weight(shape=(d,), initializer="ones", trainable=False, name="scale")
        self.built = True

    def set_statistics(self, mean, scale):
        self.mean.assign(np.asarray(mean, "float32"))
        self.scale.assign(np.asarray(scale, "float32"))

    def call(self, x):
        return (x - ops.cast(self.mean, x.dtype)) / ops.cast(self.scale, x.dtype)


@keras.saving.register_keras_serializable(package="astromer")
class MultiBandClassifier(OnAnEncoder, ObjectPredictions, CompiledLikeAClassifier, keras.Model):
    """Classify objects from all their bands with one shared Astromer encoder.

    ``model(inputs)``: ``inputs`` the dict of ``(B, K, W)`` ``times``/``magnitudes``/``mask``
    (K = ``len(bands)``, from :func:`astromer.data.classification.band_windows`); returns class
    logits ``(B, num_classes)``. ``hidden_units=()`` (default): a linear head on the
    standardised band statistics (a multinomial logistic regression); otherwise ReLU layers first.
    ``train_encoder``: as in :class:`LightCurveClassifier` (False: frozen, inference mode).
    ``embedding_layers``: the observation embeddings the statistics are taken over, ``"blocks"``
    (every block's output side by side) or ``"last"`` (the encoder output).
    ``predict_objects`` / ``predict_proba`` / ``predict_labels`` take raw curves, one row per object.
    """

    def __init__(self, encoder, num_classes, bands, hidden_units=(), dropout=0.0, train_encoder=False,
                 class_names=None, embedding_layers="blocks", **kwargs):
        super().__init__(**kwargs)
        self._attach(encoder, num_classes, class_names, train_encoder)
        self.bands = [str(b) for b in bands]
        if not self.bands or len(set(self.bands)) != len(self.bands):
            raise ValueError(f"bands must be distinct and at least one; got {self.bands}")
        if embedding_layers not in EMBED_LAYERS:
            raise ValueError(f"embedding_layers must be one of {EMBED_LAYERS}, got {embedding_layers!r}")
        self.embedding_layers = embedding_layers
        self.hidden_units = tuple(int(u) for u in hidden_units)
        self.dropout = float(dropout)
        self.standardize = Standardize(name="standardize")
        self.hidden = [keras.layers.Dense(u, activation="relu", name=f"dense_{i}")
                       for i, u in enumerate(self.hidden_units)]
        self.drop = keras.layers.Dropout(self.dropout)
        self.logits = keras.layers.Dense(self.num_classes, name="logits")
        shape = (None, self.feature_size)
        self.standardize.build(shape)
        for layer in self.hidden:
            layer.build(shape)
            shape = (None, layer.units)
        self.logits.build(shape)
        self.built = True

    @property
    def feature_size(self):
        """Width of the head's input: mean and std per band, bands side by side."""
        per_observation = self.encoder.width * (self.encoder.num_layers if self.embedding_layers == "blocks" else 1)
        return 2 * per_observation * len(self.bands)

    def features(self, inputs, training=False):
        """``(B, feature_size)``: per band the mean then the std over its observation embeddings
        (``embedding_layers``, at ``mask`` 1), bands side by side; zeros for an empty band.
        ``inputs`` may carry ``"key_bias"`` ``(B, K, T)`` (samples cut by :meth:`trim`)."""
        x = {k: inputs[k] for k in ("times", "magnitudes", "mask")}
        shape = ops.shape(x["mask"])
        flat = {k: ops.reshape(v, (-1, shape[-1])) for k, v in x.items()}
        key_bias = inputs.get("key_bias")
        if key_bias is not None:  # windows cut by astromer.data.windows.trim_windows
            key_bias = ops.reshape(key_bias, (-1, shape[-1]))
        if self.embedding_layers == "blocks":
            z = self.encoder.encode_blocks(flat, training=training, key_bias=key_bias)
        else:
            z = self.encoder.encode(flat, training=training, key_bias=key_bias)
        stats = ops.concatenate([masked_mean(z, flat["mask"]), masked_std(z, flat["mask"])], axis=-1)
        return ops.reshape(stats, (-1, self.feature_size))

    def head(self, features, training=None):
        """Class logits from :meth:`features`."""
        h = self.standardize(features)
        for layer in self.hidden:
            h = self.drop(layer(h), training=training)
        return self.logits(self.drop(h, training=training))

    def call(self, inputs, training=None):
        encoder_training = training if self.train_encoder else False
        return self.head(self.features(inputs, training=encoder_training), training=training)

    def set_head_from_probe(self, probe):
        """Start the head from a fitted ``StandardScaler -> LogisticRegression`` pipeline (or a
        ``GridSearchCV`` over one, e.g. :func:`astromer.hybrid.embedding_probe`) trained on
        :meth:`features`: afterwards the model's logits give the probe's probabilities. Only
        for the linear head (``hidden_units=()``)."""
        if self.hidden_units:
            raise ValueError("set_head_from_probe needs the linear head (hidden_units=())")
        pipeline = getattr(probe, "best_estimator_", probe)
        scaler, logistic = pipeline[0], pipeline[-1]
        if len(logistic.classes_) != self.num_classes or list(logistic.classes_) != list(range(self.num_classes)):
            raise ValueError(f"the probe was fitted on classes {list(logistic.classes_)}; this model has "
                             f"classes 0..{self.num_classes - 1} (integer labels, every class present)")
        coef, intercept = logistic.coef_, logistic.intercept_
        if self.num_classes == 2:  # scikit-learn keeps one row: the logit of class 1 against class 0
            coef, intercept = np.vstack([np.zeros_like(coef), coef]), np.concatenate([[0.0], intercept])
        scale = np.where(scaler.scale_ > 0, scaler.scale_, 1.0) if scaler.scale_ is not None else 1.0
        self.standardize.set_statistics(scaler.mean_, scale * np.ones(self.feature_size))
        self.logits.kernel.assign(coef.T.astype("float32"))
        self.logits.bias.assign(intercept.astype("float32"))

    def trim(self, x, errors=None):
        """Samples ``x`` (dict of ``(S, K, W)``) cut to the shortest length (a multiple of 8) that
        holds every window's real steps (:func:`astromer.data.windows.trim_windows`; with
        ``"key_bias"`` where the encoder attends its padding, Astromer 1), and ``errors`` cut
        alike. The model gives the same logits on them, with less compute when every curve is
        shorter than a window; training on them keeps every batch as it was. Returns ``(x, errors)``."""
        from astromer.data.windows import trim_windows

        out, length = trim_windows(x, self.encoder.window_size, attended=not self.encoder.padding_is_ignored)
        return out, None if errors is None else np.asarray(errors)[..., :length]

    def predict_objects(self, light_curves, ids=None, batch_size=256, verbose=0):
        """``(object_ids, probabilities (N, C))`` for raw curves (a DataFrame with a ``band``
        column, or anything :func:`astromer.data.prepare_light_curves` takes): the bands of each
        object side by side (:func:`astromer.data.classification.band_windows`, cut by
        :meth:`trim`); an object with several windows per band gets the mean of its samples' logits."""
        from astromer.data.classification import band_windows
        from astromer.models.batched_inference import predict_in_batches, require_finite

        objects, x, _, _ = band_windows(light_curves, ids=ids, window_size=self.encoder.window_size,
                                        bands=self.bands)
        x, _ = self.trim(x)
        logits = predict_in_batches(self, x, batch_size=batch_size, verbose=verbose)
        require_finite(logits, objects, "prediction")
        return aggregate_logits(logits, objects)

    def get_config(self):
        config = super().get_config()
        config.update({
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "num_classes": self.num_classes,
            "bands": list(self.bands),
            "hidden_units": list(self.hidden_units),
            "dropout": self.dropout,
            "train_encoder": self.train_encoder,
            "class_names": self.class_names,
            "embedding_layers": self.embedding_layers,
        })
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)
