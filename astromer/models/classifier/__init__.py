from astromer.models.classifier.heads import HEADS, ClassificationHead, pooled_features
from astromer.models.classifier.image_classifier import ImageClassifier
from astromer.models.classifier.light_curve_classifier import (
    LightCurveClassifier,
    aggregate_logits,
    encoder_lr_optimizer,
)
from astromer.models.classifier.multiband import MultiBandClassifier
from astromer.models.classifier.window_pooling import (
    WindowAttentionPooling,
    WindowPoolingClassifier,
    object_windows,
)

__all__ = ["HEADS", "ClassificationHead", "ImageClassifier", "LightCurveClassifier", "MultiBandClassifier",
           "aggregate_logits", "encoder_lr_optimizer",
           "pooled_features", "WindowAttentionPooling", "WindowPoolingClassifier", "object_windows"]
