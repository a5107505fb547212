"""Few-shot classification of real EROS-1 variable stars with an Astromer preset.

3 folds x {20, 100, 500} labelled objects per class (mira has fewer than 500 + validation
in the training pool: training gets all of them, validation none, and results.csv says so),
fixed test set (the kit's test split, 729 objects): the feature baselines (old and light-curve
features, forest and boosting), the embedding probe, the hybrids (features + stacked probe, on the
embeddings of the curves as observed and folded on their periodogram period),
scenarios a, b, c (object level, probe head), Astromer 2's per-window a_skip, c_skip, b_skip and
the GRU; writes benchmarks/results/eros1_fewshot/ with the ATLAS-pretrained ``astromer_v1_atlas``
preset, or benchmarks/results/eros1_fewshot/PRESET/
with ``--preset PRESET`` (``astromer_v1``: the MACHO-pretrained weights). A subset of methods can be
run with ``--methods`` and continued with ``--resume`` (the later ``--methods`` wins).

With ``--features``: only the feature baselines (random forest and gradient boosting on the
16 basic features and on the light-curve package's features; no encoder is loaded), 2
threads, into benchmarks/results/eros1_fewshot_features/.

Run from the repository root (uses ../shared as a mirror of the weights):

    ASTROMER_MIRROR=../shared/weights/astromer python benchmarks/eros1_fewshot.py [--preset astromer_v1]
    python benchmarks/eros1_fewshot.py --features

Further arguments go to ``astromer evaluate`` (e.g. ``--resume`` to continue an interrupted run).
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import FEWSHOT_PRESET, fewshot_output, run_evaluate, take_option  # noqa: E402

if __name__ == "__main__":
    script_args = sys.argv[1:]
    preset, extra = take_option(script_args, "--preset", FEWSHOT_PRESET)
    if "--features" in extra:
        extra = [a for a in extra if a != "--features"]
        out = ROOT / "benchmarks" / "results" / "eros1_fewshot_features"
        argv = [
            "evaluate", str(SHARED / "data" / "eros1"), "--output", str(out), "--shots", "20,100,500",
            "--folds", "3", "--methods", "rf,hgb,rf_lc,hgb_lc", "--jobs", "2",
            "--title", "EROS-1 (4 classes), feature baselines",
        ]
    else:
        out = fewshot_output(ROOT / "benchmarks" / "results", "eros1_fewshot", preset)
        argv = [
            "evaluate", str(SHARED / "data" / "eros1"), "--output", str(out), "--preset", preset,
            "--shots", "20,100,500", "--folds", "3",
            "--methods", "rf,hgb,rf_lc,hgb_lc,probe,hybrid_rf,hybrid_hgb,a,b,c,probe_c,hybrid_rf_c,probe_scales,"
                       "probe_fold,hybrid_rf_fold,hybrid_hgb_fold,a_skip,c_skip,b_skip,gru",
            "--jobs", "2",
            "--epochs", "200", "--finetune-epochs", "5", "--reconstruction-epochs", "20", "--gru-epochs", "40",
            "--title", f"EROS-1 (4 classes), {preset} preset",
        ]
    sys.exit(run_evaluate("eros1_fewshot.py", argv, extra, script_args))
