from astromer.models.classifier.finetune import SCENARIOS, finetune, reconstruction_finetune
from astromer.models.classifier.heads import HEADS, ClassificationHead, pooled_features
from astromer.models.classifier.light_curve_classifier import (
    LightCurveClassifier,
    aggregate_logits,
    encoder_lr_optimizer,
)

__all__ = ["SCENARIOS", "finetune", "reconstruction_finetune", "HEADS", "ClassificationHead", "LightCurveClassifier", "aggregate_logits",
           "encoder_lr_optimizer", "pooled_features"]
