"""Few-shot classification of ZTF Bright Transient Survey type Ia supernovae: normal (``SN Ia``)
against peculiar (every other Ia subtype: 91T, pec, 91bg, Iax, CSM), bands g and R.

The ordering check on transients: short curves (median 16 points per object over both bands),
no period, two classes of very unequal size (2,186 normal, 103 peculiar). The labels folder is
derived at run time into a temporary folder (``labels.csv`` with the two classes, the survey's
``lightcurves.csv.gz`` linked); nothing is copied into the repository. The data have no split
column: the test set is a stratified 20% drawn with seed 0. 3 folds x {20, 100} labelled objects
per class (the peculiar class has about 82 objects in the pool: at 100 per class training gets all
of them and validation none; the real counts are in results.csv and results.md). Writes
benchmarks/results/ztf_snia_fewshot/ (``--preset``: another preset's report in a subfolder).

Run from the repository root (uses ../shared as a mirror of the weights):

    OMP_NUM_THREADS=2 python benchmarks/ztf_snia_fewshot.py

Further arguments go to ``astromer evaluate`` (e.g. ``--methods a,rf_lc --resume``).
"""

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import FEWSHOT_PRESET, fewshot_output, run_evaluate, take_option  # noqa: E402


def normal_or_peculiar(folder):
    """``folder``: the survey's light curves (linked) and labels ``Ia_normal`` / ``Ia_peculiar``."""
    import pandas as pd

    survey = SHARED / "data" / "ztf_snia"
    labels = pd.read_csv(survey / "labels.csv", dtype={"object_id": str})
    labels["label"] = labels["label"].map(lambda kind: "Ia_normal" if kind == "SN Ia" else "Ia_peculiar")
    labels[["object_id", "label"]].to_csv(folder / "labels.csv", index=False)
    (folder / "lightcurves.csv.gz").symlink_to(survey / "lightcurves.csv.gz")
    return folder


if __name__ == "__main__":
    preset, extra = take_option(sys.argv[1:], "--preset", FEWSHOT_PRESET)
    out = fewshot_output(ROOT / "benchmarks" / "results", "ztf_snia_fewshot", preset)
    with tempfile.TemporaryDirectory() as tmp:
        argv = [
            "evaluate", str(normal_or_peculiar(Path(tmp))), "--output", str(out), "--preset", preset,
            "--shots", "20,100", "--folds", "3",
            "--methods", "a,rf_lc,hgb_lc,probe,probe_scales,hybrid_rf,hybrid_hgb,hybrid_rf_fold,hybrid_hgb_fold",
            "--jobs", "2",
            "--title", f"ZTF BTS type Ia supernovae, normal / peculiar, {preset} preset",
        ]
        sys.exit(run_evaluate("ztf_snia_fewshot.py", argv, extra, sys.argv[1:]))
