"""``ImageClassifier``: an AstroPT encoder with a classification head (scenarios a and b for images)."""

import keras
import numpy as np
from keras import ops

from astromer.models.astropt.embedding import resolve_layer
from astromer.models.classifier.heads import ClassificationHead, CompiledLikeAClassifier
from astromer.models.classifier.light_curve_classifier import _set_trainable


@keras.saving.register_keras_serializable(package="astromer")
class ImageClassifier(CompiledLikeAClassifier, keras.Model):
    """Classify images with an AstroPT encoder and a head.

    Images ``(B, H, W, C)`` are tokenised by the encoder (spiral order, per-patch
    standardisation) and encoded; the head reads the mean over tokens of block ``layer``'s
    output (default: the encoder's embedding layer, as :meth:`AstroPT.embed`) with
    ``head="mean"``, or a learned weighting of every block's token mean with ``head="skip"``
    (the Astromer 2 head), then ``hidden_units`` ReLU layers, a LayerNorm and the logits.

    - (a) ``train_encoder=False``: the encoder is frozen; only the head trains.
    - (b) ``train_encoder=True``: encoder and head train together (use
      :func:`astromer.finetune`, which adds layer-wise learning-rate decay, partial unfreezing
      and selection on validation macro F1). Blocks above ``layer``, the final norm and the
      next-patch decoder take no part in classification and stay frozen.
    """

    PRESET_CLASS = "AstroPT"

    def __init__(self, encoder, num_classes, head="mean", hidden_units=(256,), dropout=0.0, layer=None,
                 train_encoder=False, class_names=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(encoder, dict):
            encoder = keras.saving.deserialize_keras_object(encoder)
        if head not in ("mean", "skip"):
            raise ValueError(f"head must be 'mean' or 'skip' for images, got {head!r}")
        self.encoder = encoder
        self.num_classes = int(num_classes)
        self.head_kind = head
        self.hidden_units = tuple(int(u) for u in hidden_units)
        self.dropout = float(dropout)
        layer = resolve_layer(encoder, layer)
        if layer == "final":
            raise ValueError("layer='final' is not a block; give a block index")
        self.layer = int(layer)
        self.top_block = encoder.num_layers - 1 if head == "skip" else self.layer
        self.class_names = None if class_names is None else [str(c) for c in class_names]
        if self.class_names is not None and len(self.class_names) != self.num_classes:
            raise ValueError(f"{len(self.class_names)} class_names for {self.num_classes} classes.")
        self.classification_head = ClassificationHead(num_classes, head=head, hidden_units=hidden_units,
                                                      dropout=dropout, name="classification_head")
        n = self.top_block + 2 if head == "skip" else 1
        self.classification_head.build((None, n, encoder.embed_dim))
        self.set_encoder_trainable(train_encoder)
        self.built = True

    def input_layers(self):
        """The encoder's layers below its first block (frozen by partial unfreezing)."""
        return [self.encoder.encoder, self.encoder.position_embedding]

    def set_encoder_trainable(self, trainable):
        """Switch between scenario a (frozen) and b (fine-tuned); compile again afterwards."""
        self.train_encoder = bool(trainable)
        _set_trainable(self.encoder, self.train_encoder)
        unused = [self.encoder.decoder, self.encoder.final_norm, *self.encoder.blocks[self.top_block + 1:]]
        for layer in unused:
            _set_trainable(layer, False)

    def features(self, images, training=False):
        """``(B, 1, d)`` token mean of block ``layer`` (``(B, layer + 2, d)`` with ``head="skip"``)."""
        x = self.encoder._embed_tokens(self.encoder._graph_tokens(images), training=training)
        means = [ops.mean(x, axis=1)]
        for block in self.encoder.blocks[: self.top_block + 1]:
            x = block(x, training=training)
            means.append(ops.mean(x, axis=1))
        if self.head_kind == "skip":
            return ops.stack(means, axis=1)
        return ops.expand_dims(means[-1], 1)

    def call(self, images, training=None):
        encoder_training = training if self.train_encoder else False
        return self.classification_head(self.features(images, training=encoder_training), training=training)

    @property
    def classes_(self):
        """Class names in logit order (scikit-learn's ``classes_``)."""
        return np.asarray(self.class_names if self.class_names is not None else range(self.num_classes))

    def predict_proba(self, images, batch_size=64, verbose=0):
        """``(N, C)`` class probabilities (softmax of the logits), columns in ``classes_`` order."""
        logits = np.asarray(self.predict(np.asarray(images, "float32"), batch_size=batch_size, verbose=verbose))
        logits = logits - logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    def get_config(self):
        config = super().get_config()
        config.update({
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "num_classes": self.num_classes, "head": self.head_kind, "hidden_units": list(self.hidden_units),
            "dropout": self.dropout, "layer": self.layer, "train_encoder": self.train_encoder,
            "class_names": self.class_names,
        })
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)
