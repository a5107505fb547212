from astromer.models.classifier.finetune import (
    SCENARIOS,
    SelectOnValidation,
    early_stopping,
    feature_model,
    finetune,
    fit_encoder,
    fit_head,
    head_model,
    layerwise_optimizer,
    layerwise_rates,
    reconstruction_finetune,
    unfreeze_last_blocks,
)
from astromer.models.classifier.heads import HEADS, ClassificationHead, pooled_features
from astromer.models.classifier.light_curve_classifier import (
    LightCurveClassifier,
    aggregate_logits,
    encoder_lr_optimizer,
)
from astromer.models.classifier.window_pooling import (
    WindowAttentionPooling,
    WindowPoolingClassifier,
    fit_window_pooling,
    object_windows,
)

__all__ = ["SCENARIOS", "finetune", "fit_head", "fit_encoder", "reconstruction_finetune", "layerwise_optimizer", "layerwise_rates",
           "unfreeze_last_blocks", "SelectOnValidation", "early_stopping", "feature_model", "head_model", "HEADS", "ClassificationHead", "LightCurveClassifier", "aggregate_logits",
           "encoder_lr_optimizer", "pooled_features", "WindowAttentionPooling", "WindowPoolingClassifier",
           "fit_window_pooling", "object_windows"]
