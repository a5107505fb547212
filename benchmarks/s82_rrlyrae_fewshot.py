"""Few-shot classification of SDSS Stripe 82 RR Lyrae (RRab / RRc, bands ugriz) with an Astromer preset.

The data have no split column: the test set is a stratified 20% drawn with seed 0 (97 objects).
3 folds x {20, 100, 500} labelled objects per class (RRc has 83 objects in the pool: from 100
per class on, training gets all of them and validation none; RRab's pool runs out at 500; the
real counts are in results.csv and results.md). Every method of ``astromer evaluate``; writes
benchmarks/results/s82_rrlyrae_fewshot/ with the ATLAS-pretrained ``astromer_v1_atlas`` preset, or
benchmarks/results/s82_rrlyrae_fewshot/PRESET/ with ``--preset PRESET`` (``astromer_v1``: the
MACHO-pretrained weights). The survey marks a missing value by mag ~100 with err
99.999: the package's cleaning drops those rows (counted), they are never trained on.

Run from the repository root (uses ../shared as a mirror of the weights):

    OMP_NUM_THREADS=2 python benchmarks/s82_rrlyrae_fewshot.py [--preset astromer_v1]

Further arguments go to ``astromer evaluate`` (e.g. ``--methods a,rf_lc --resume``).
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import FEWSHOT_PRESET, fewshot_output, run_evaluate, take_option  # noqa: E402

if __name__ == "__main__":
    preset, extra = take_option(sys.argv[1:], "--preset", FEWSHOT_PRESET)
    out = fewshot_output(ROOT / "benchmarks" / "results", "s82_rrlyrae_fewshot", preset)
    argv = [
        "evaluate", str(SHARED / "data" / "s82_rrlyrae"), "--output", str(out), "--preset", preset,
        "--shots", "20,100,500", "--folds", "3",
        "--methods", "rf,hgb,rf_lc,hgb_lc,probe,hybrid_rf,hybrid_hgb,a,b,c,probe_c,hybrid_rf_c,probe_scales,"
                    "probe_fold,hybrid_rf_fold,hybrid_hgb_fold,a_skip,a_attention,c_skip,b_skip,gru",
        "--jobs", "2",
        "--epochs", "200", "--finetune-epochs", "5", "--reconstruction-epochs", "20", "--gru-epochs", "40",
        "--title", f"SDSS Stripe 82 RR Lyrae (RRab / RRc), {preset} preset",
    ]
    sys.exit(run_evaluate("s82_rrlyrae_fewshot.py", argv, extra, sys.argv[1:]))
