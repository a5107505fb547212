"""Few-shot classification of real EROS-1 variable stars with the astromer_v1 preset.

3 folds x {20, 100, 500} labelled objects per class (mira has fewer than 500 in the
training pool: all of them are used), fixed test set (the kit's test split, 729 objects),
scenarios a, b, c and both baselines; writes benchmarks/results/eros1_fewshot/.

Run from the repository root (uses ../shared as a mirror of the weights):

    ASTROMER_MIRROR=../shared/weights/astromer python benchmarks/eros1_fewshot.py
"""

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
os.environ.setdefault("ASTROMER_MIRROR", str(SHARED / "weights" / "astromer"))

from astromer.cli.main import main  # noqa: E402

if __name__ == "__main__":
    out = ROOT / "benchmarks" / "results" / "eros1_fewshot"
    argv = [
        "evaluate", str(SHARED / "data" / "eros1"), "--output", str(out), "--preset", "astromer_v1",
        "--shots", "20,100,500", "--folds", "3", "--methods", "rf,a,c,gru,b",
        "--epochs", "200", "--finetune-epochs", "5", "--reconstruction-epochs", "2", "--gru-epochs", "40",
        "--title", "EROS-1 (4 classes), astromer_v1 preset",
    ] + sys.argv[1:]
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    command = f"KERAS_BACKEND={backend} python benchmarks/eros1_fewshot.py " + " ".join(sys.argv[1:])
    start = time.time()
    code = main(argv + ["--command-line", command.strip()])
    print(f"[eros1_fewshot] finished in {(time.time() - start) / 60:.1f} min")
    sys.exit(code)
