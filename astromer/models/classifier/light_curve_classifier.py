"""``astromer.LightCurveClassifier``: an Astromer encoder plus a classification head."""

import keras
import numpy as np

from astromer.models.classifier.heads import ClassificationHead, CompiledLikeAClassifier, pooled_features
from astromer.models.preset_hook import PresetMixin, load_preset_as

#: ``LightCurveClassifier.from_preset`` keywords that shape the new head (the rest load the encoder)
HEAD_OPTIONS = ("head", "hidden_units", "dropout", "train_encoder", "class_names")


class OnAnEncoder:
    """What the light-curve classifiers share about their encoder: attaching it (a config dict
    deserialised), the classes, and the switch between frozen (a) and fine-tuned (b)."""

    def _attach(self, encoder, num_classes, class_names, train_encoder):
        if isinstance(encoder, dict):
            encoder = keras.saving.deserialize_keras_object(encoder)
        self.encoder = encoder
        self.num_classes = int(num_classes)
        self.class_names = None if class_names is None else [str(c) for c in class_names]
        if self.class_names is not None and len(self.class_names) != self.num_classes:
            raise ValueError(f"{len(self.class_names)} class_names for {self.num_classes} classes.")
        self.set_encoder_trainable(train_encoder)

    def set_encoder_trainable(self, trainable):
        """Switch between scenario a (frozen) and b (fine-tuned); compile again afterwards. The
        reconstruction head takes no part in classification and stays frozen."""
        self.train_encoder = bool(trainable)
        _set_trainable(self.encoder, self.train_encoder)
        _set_trainable(self.encoder.head, False)


class ObjectPredictions:
    """scikit-learn's names over a classifier's ``predict_objects(light_curves, ids, batch_size,
    verbose) -> (object_ids, probabilities)``: ``classes_``, ``predict_proba`` and ``predict_labels``
    (for :class:`LightCurveClassifier` and the multi-band classifier; needs ``class_names`` and
    ``num_classes``)."""

    @property
    def classes_(self):
        """The class labels, index-aligned with the probability columns (scikit-learn's name):
        ``class_names`` when given, else ``0 .. num_classes - 1``."""
        return np.array(self.class_names if self.class_names is not None else range(self.num_classes))

    def predict_proba(self, light_curves, ids=None, batch_size=256, verbose=0):
        """``(N, C)`` object probabilities, objects in order of first appearance (scikit-learn's
        convention; :meth:`predict_objects` also returns the ids). Columns follow ``classes_``."""
        return self.predict_objects(light_curves, ids=ids, batch_size=batch_size, verbose=verbose)[1]

    def predict_labels(self, light_curves, ids=None, batch_size=256, verbose=0):
        """``(object_ids, labels)``: the most probable of ``classes_`` per object. (Keras' own
        ``predict`` stays window-level, on model inputs.)"""
        ids, probabilities = self.predict_objects(light_curves, ids=ids, batch_size=batch_size, verbose=verbose)
        return ids, self.classes_[np.argmax(probabilities, axis=1)]


@keras.saving.register_keras_serializable(package="astromer")
class LightCurveClassifier(OnAnEncoder, ObjectPredictions, CompiledLikeAClassifier, PresetMixin, keras.Model):
    """Classify light-curve windows with an Astromer encoder and a head.

    ``model(inputs)`` takes the Astromer input dict (``mask`` = 1 at real
    observations) and returns class logits ``(B, num_classes)``.

    The three fine-tuning scenarios:

    - (a) ``train_encoder=False``: the encoder is frozen (``encoder.trainable`` is
      set to False and it runs in inference mode); only the head trains.
    - (b) ``train_encoder=True``: encoder and head train together; pass
      ``optimizer=encoder_lr_optimizer(model, head_lr, encoder_lr)`` to give the
      encoder its own (lower) learning rate.
    - (c) first ``encoder.fit(astromer.data.pretraining_dataset(target_curves))``
      (reconstruction on the target data), then (a) or (b).

    :func:`astromer.finetune` runs any of them in one call. Note that the encoder
    object is shared: freezing it here freezes it everywhere.
    """

    def __init__(self, encoder, num_classes, head="skip", hidden_units=(1024, 512, 256), dropout=0.0,
                 train_encoder=False, class_names=None, **kwargs):
        super().__init__(**kwargs)
        self._attach(encoder, num_classes, class_names, train_encoder)
        self.head_kind = head
        self.hidden_units = tuple(int(u) for u in hidden_units)
        self.dropout = float(dropout)
        self.classification_head = ClassificationHead(
            num_classes, head=head, hidden_units=hidden_units, dropout=dropout, name="classification_head"
        )
        n = self.encoder.num_layers + 1 if head == "skip" else 1
        self.classification_head.build((None, n, self.encoder.width))
        self.built = True

    #: ``LightCurveClassifier.presets`` lists the Astromer encoder presets a head can go on
    PRESET_CLASS = "Astromer"

    @classmethod
    def from_preset(cls, handle, num_classes=None, **kwargs):
        """keras-hub's ``Classifier.from_preset``: an Astromer encoder preset (a name in
        ``LightCurveClassifier.presets``, a folder, a ``.keras`` file, an original checkpoint)
        with a new head for ``num_classes`` classes, or a saved classifier (``save_to_preset``
        folder or ``.keras`` file) as it was saved.

        ``head``, ``hidden_units``, ``dropout``, ``train_encoder`` and ``class_names`` shape the
        new head (as in the constructor); every other keyword loads the encoder
        (``dtype``, ``load_weights``, config overrides; see ``Astromer.from_preset``).
        """
        from astromer.models.astromer.astromer_model import Astromer

        head_options = {k: kwargs.pop(k) for k in HEAD_OPTIONS if k in kwargs}
        model = load_preset_as(keras.Model, handle, **kwargs)
        if isinstance(model, cls):
            if num_classes is not None and int(num_classes) != model.num_classes:
                raise ValueError(f"preset {handle!r} is a classifier of {model.num_classes} classes, not "
                                 f"{num_classes}; load its encoder with Astromer.from_preset to train a new head")
            if head_options:
                raise TypeError(f"preset {handle!r} is a saved classifier: its head is fixed, so "
                                f"{sorted(head_options)} cannot be given")
            return model
        if not isinstance(model, Astromer):
            raise TypeError(f"Preset {handle!r} holds a {type(model).__name__}, neither a LightCurveClassifier "
                            "nor an Astromer encoder.")
        if num_classes is None:
            raise ValueError(f"preset {handle!r} is an Astromer encoder: pass num_classes= for the new head")
        return cls(model, num_classes, **head_options)

    def features(self, inputs, training=False):
        """The pooled encoder features the head consumes (see ``heads.pooled_features``).
        ``inputs`` may carry ``"key_bias"`` (windows cut by ``Astromer.window_buckets``)."""
        key_bias = inputs.get("key_bias") if isinstance(inputs, dict) else None
        layers = self.encoder.encode(inputs, all_layers=True, training=training, key_bias=key_bias)
        mask = self.encoder._parse_inputs(inputs)[2]
        return pooled_features(layers, mask, self.head_kind)

    def call(self, inputs, training=None):
        encoder_training = training if self.train_encoder else False
        return self.classification_head(self.features(inputs, training=encoder_training), training=training)

    def predict_objects(self, light_curves, ids=None, batch_size=256, verbose=0, bucketing="auto"):
        """Object-level predictions for raw curves (any length, several bands).

        Every curve is cut into windows as in ``Astromer.embed``; the logits of all
        windows of an object (all its bands, for a DataFrame with a ``band``
        column) are averaged, then turned into probabilities. ``bucketing`` as in
        ``Astromer.encode_windows`` (windows cut to length buckets, the same logits to
        float32 rounding: the heads pool real observations only). Returns
        ``(object_ids, probabilities (N, C))`` in order of first appearance.
        """
        from astromer.data.classification import object_keys, window_inputs
        from astromer.models.batched_inference import expected_retracing, predict_in_batches, require_finite

        if bucketing not in ("auto", True, False):
            raise ValueError(f"bucketing must be 'auto', True or False, got {bucketing!r}")
        prepared, windows = window_inputs(light_curves, ids=ids, window_size=self.encoder.window_size)
        x = {"times": windows.times, "magnitudes": windows.magnitudes, "mask": windows.mask}
        if bucketing is True or (bucketing == "auto" and len(windows.mask) >= batch_size):
            logits = np.zeros((len(windows.mask), self.num_classes), dtype=np.float32)
            with expected_retracing():  # one trace per bucket shape, on purpose
                for rows, chunk, _ in self.encoder.window_buckets(x, windows.length):
                    logits[rows] = predict_in_batches(self, chunk, batch_size=batch_size, verbose=verbose)
        else:
            logits = predict_in_batches(self, x, batch_size=batch_size, verbose=verbose)
        keys = object_keys(prepared.ids)
        require_finite(logits, [keys[i] for i in windows.object_index], "prediction")
        return aggregate_logits(logits, [keys[i] for i in windows.object_index])

    def get_config(self):
        config = super().get_config()
        config.update({
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "num_classes": self.num_classes,
            "head": self.head_kind,
            "hidden_units": list(self.hidden_units),
            "dropout": self.dropout,
            "train_encoder": self.train_encoder,
            "class_names": self.class_names,
        })
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _set_trainable(layer, value):
    """``layer.trainable = value``, down to every sublayer and variable.

    On TensorFlow, Keras skips an attribute assignment whose value ``is`` the current one, and so
    the propagation to the sublayers: an encoder deserialised with ``trainable=False`` (a saved
    scenario-a classifier) kept trainable sublayers, and the loaded classifier trained its
    encoder. Going through the other value first always propagates.
    """
    layer.trainable = not value
    layer.trainable = value


def group_codes(groups):
    """``(group_ids, codes)``: the distinct groups in order of first appearance, and the index
    into them of every element of ``groups``."""
    order, index = [], {}
    for g in groups:
        if g not in index:
            index[g] = len(order)
            order.append(g)
    return order, np.array([index[g] for g in groups], dtype=int)


def aggregate_logits(logits, groups):
    """Mean of the window logits per group (in order of first appearance), then softmax.

    Returns ``(group_ids, probabilities)``.
    """
    order, codes = group_codes(groups)
    sums = np.zeros((len(order), logits.shape[1]))
    np.add.at(sums, codes, logits)
    mean = sums / np.bincount(codes, minlength=len(order))[:, None]
    mean -= mean.max(axis=1, keepdims=True)
    probs = np.exp(mean)
    return order, probs / probs.sum(axis=1, keepdims=True)


def encoder_lr_optimizer(classifier, learning_rate=1e-3, encoder_learning_rate=1e-4):
    """An Adam ``MultiOptimizer``: ``encoder_learning_rate`` for the encoder's variables,
    ``learning_rate`` for the head (scenario b with a lower encoder rate)."""
    import re

    encoder_paths = f"{re.escape(classifier.encoder.name)}/.*"
    mapping = keras.optimizers.OptimizerMap(
        default_optimizer=keras.optimizers.Adam(learning_rate),
        optimizer_map={encoder_paths: keras.optimizers.Adam(encoder_learning_rate)},
    )
    return keras.optimizers.MultiOptimizer(mapping)
