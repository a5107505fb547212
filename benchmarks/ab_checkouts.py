"""Two (or more) checkouts of this package side by side: Astromer forward and training step.

Each checkout (a folder holding ``astromer/``, e.g. a ``git worktree``) runs in its own child
process with ``PYTHONPATH`` pointing at it, interleaved over ``--rounds`` so that a change of
machine load hits all of them alike; each number is the best of 6 timed steps after 2 untimed
ones (compilation excluded), at the v1 benchmark's shapes (batch 256, W = 200, synthetic windows
with 60-200 real steps). The forward is ``encoder_model().predict_on_batch`` with Keras' default
``jit_compile`` (off on a CPU-only TensorFlow), the step ``train_on_batch`` with masked RMSE and
Adam. Ratios are the first checkout's time over each other's, per round.

    git worktree add /tmp/before 9215e47
    python benchmarks/ab_checkouts.py /tmp/before . --rounds 3        # writes results/ab_checkouts.md
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402


def worker(args):
    import time

    import keras
    import numpy as np

    import astromer

    keras.utils.set_random_seed(0)
    x, y = C.v1_training_batch()
    model = astromer.Astromer.from_architecture(args.arch, dropout=args.dropout)
    encoder = model.encoder_model()

    def best(fn, n=6):
        fn(), fn()
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return min(times)

    forward = best(lambda: np.asarray(encoder.predict_on_batch(x)))
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    train = best(lambda: model.train_on_batch(x, y))
    C.emit({"forward_s": forward, "train_s": train, "astromer": str(Path(astromer.__file__).parent)})


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("checkouts", nargs="+", type=Path)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--arch", default="astromer_v1")
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--worker", action="store_true")
    p.add_argument("--results", type=Path, default=C.REPO / "benchmarks" / "results")
    args = p.parse_args(argv)
    if args.worker:
        return worker(args)
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    roots = [c.resolve() for c in args.checkouts]
    rows = {r: [] for r in roots}
    for rnd in range(args.rounds):
        for root in roots:
            env = dict(os.environ, PYTHONPATH=str(root), KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
            out = subprocess.run([sys.executable, __file__, "--worker", "--arch", args.arch,
                                  "--dropout", str(args.dropout), str(root)],
                                 env=env, capture_output=True, text=True, cwd=root)
            found = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
            if not found:
                sys.exit(f"{root}: the worker failed:\n{out.stderr[-3000:]}")
            res = json.loads(found[0][len("RESULT "):])
            if Path(res["astromer"]).resolve() != root / "astromer":
                sys.exit(f"{root}: the worker imported astromer from {res['astromer']}")
            rows[root].append(res)
            print(f"[round {rnd + 1}] {root}: forward {res['forward_s'] * 1e3:.0f} ms, "
                  f"train {res['train_s'] * 1e3:.0f} ms", flush=True)
    lines = [f"# {args.arch} on {backend}: checkouts side by side", "",
             f"Command: `{C.command_line()}` (commit {C.git_state()})", "", *C.machine_lines(), "",
             f"Batch 256, W = 200, dropout {args.dropout}; best of 6 steps per round, {args.rounds} interleaved "
             "rounds; ratio = first checkout's time / this one's.", "",
             "| checkout | forward ms per round | forward ratio | train ms per round | train ratio |",
             "|---|---|---|---|---|"]
    base = rows[roots[0]]
    for root in roots:
        f = ", ".join(f"{r['forward_s'] * 1e3:.0f}" for r in rows[root])
        t = ", ".join(f"{r['train_s'] * 1e3:.0f}" for r in rows[root])
        fr = ", ".join(f"{b['forward_s'] / r['forward_s']:.2f}" for b, r in zip(base, rows[root]))
        tr = ", ".join(f"{b['train_s'] / r['train_s']:.2f}" for b, r in zip(base, rows[root]))
        lines.append(f"| `{root}` | {f} | {fr} | {t} | {tr} |")
    lines += ["", f"Load average at the end: {C.load()}."]
    suffix = "" if backend == "tensorflow" else f"_{backend}"
    C.write_report(args.results, f"ab_checkouts{suffix}.md", lines, echo_last=len(roots) + 3)


if __name__ == "__main__":
    main()
