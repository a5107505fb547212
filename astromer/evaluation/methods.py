"""The few-shot harness's methods: names, families, and which inputs each one uses."""

METHODS = ("a", "a_attention", "b", "c", "probe", "probe_c", "gru", "rf", "hgb", "rf_lc", "hgb_lc", "hybrid_rf",
           "hybrid_hgb", "hybrid_rf_c", "multiband", "multiband_c")
METHOD_NAMES = {
    "a": "Astromer (a) frozen encoder",
    "a_attention": "Astromer (a) frozen encoder, attention pooling over windows",
    "b": "Astromer (b) head first, then encoder fine-tuned",
    "c": "Astromer (c) reconstruction, then frozen",
    "gru": "GRU on raw windows",
    "rf": "Random forest on 16 features",
    "hgb": "Gradient boosting on 16 features",
    "rf_lc": "Random forest on light-curve features",
    "hgb_lc": "Gradient boosting on light-curve features",
    "probe": "Astromer embeddings (mean + std of every block, all bands), logistic probe",
    "hybrid_rf": "Hybrid: light-curve features + stacked embedding probe, random forest",
    "hybrid_hgb": "Hybrid: light-curve features + stacked embedding probe, gradient boosting",
    "probe_c": "Astromer embeddings after reconstruction on the survey (c), logistic probe",
    "hybrid_rf_c": "Hybrid: light-curve features + stacked probe on the adapted (c) embeddings, random forest",
    "multiband": "Astromer multi-band object classifier: probe head on all bands, then encoder fine-tuned (b)",
    "multiband_c": "Astromer multi-band object classifier on the adapted (c) encoder, probe head, then fine-tuned",
}
FAMILIES = ("astromer", "features", "raw", "hybrid")
METHOD_FAMILY = {"a": "astromer", "a_attention": "astromer", "b": "astromer", "c": "astromer", "probe": "astromer", "probe_c": "astromer", "gru": "raw",
                 "multiband": "astromer", "multiband_c": "astromer",
                 "rf": "features", "hgb": "features", "rf_lc": "features", "hgb_lc": "features",
                 "hybrid_rf": "hybrid", "hybrid_hgb": "hybrid", "hybrid_rf_c": "hybrid"}
#: feature method -> (feature set, classifier of astromer.baselines.feature_classifier)
FEATURE_METHODS = {"rf": ("basic", "rf"), "hgb": ("basic", "hgb"), "rf_lc": ("light_curve", "rf"),
                   "hgb_lc": ("light_curve", "hgb")}
KERAS_METHODS = ("a", "a_attention", "b", "c", "gru", "multiband", "multiband_c")
#: object-level classifiers over all bands at once (:mod:`astromer.tasks.multiband`)
MULTIBAND_METHODS = ("multiband", "multiband_c")
#: methods on the pretrained encoder's object embeddings (:mod:`astromer.hybrid`)
EMBEDDING_METHODS = ("probe", "hybrid_rf", "hybrid_hgb", "probe_c", "hybrid_rf_c")
#: methods on the encoder adapted to the survey by reconstruction (done once per run, shared)
ADAPTED_METHODS = ("c", "probe_c", "hybrid_rf_c", "multiband_c")
#: mean and std over each curve's observation embeddings, bands side by side
EMBEDDING_STATISTICS = ("mean", "std")
#: which embeddings: every block's output side by side (``Astromer.embed(layers="blocks")``); with
#: the default preset the probe on them beat the probe on the last block alone on both labelled
#: surveys at every shot count (benchmarks/results/preset_probe.md)
EMBEDDING_LAYERS = "blocks"
SUMMARY_COLUMNS = ("method", "family", "shots", "macro_f1_mean", "macro_f1_std", "accuracy_mean",
                   "accuracy_std", "min_train_per_class", "folds", "seconds_mean")
