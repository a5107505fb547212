"""Pretraining throughput on real EROS-1 curves: batches padded to W vs length buckets, side by side.

``pretraining_dataset(..., length_buckets=...)`` groups windows of similar length and cuts each
batch to its bucket (at most 4 cut lengths, multiples of 8, chosen from the windows' lengths);
Astromer 1, which attends its padding, keeps one padded step per window weighted for all of them
(``key_bias``), so the loss and the gradients per window are those of the full window
(tests/test_data_pipelines.py checks the weights step by step). Inputs: the first ``--curves``
EROS-1 curves of one band, one random window of W = 200 per curve and epoch (the pretraining
default), v1 masking, batch 256, Adam, the architecture's dropout. Each configuration runs in its
own child process, round-robin over ``--rounds`` rounds; one warm-up epoch (tracing and
compiling every bucket's shape), then ``--epochs`` timed epochs. Windows/s = windows per epoch /
seconds per epoch; ratios from the same round.

    python benchmarks/pretrain_buckets.py        # writes benchmarks/results/pretrain_buckets.md
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402
from embed_bucketing import load_curves  # noqa: E402


def worker(args):
    import keras
    import numpy as np

    import astromer
    from astromer.data import pretraining_dataset

    keras.utils.set_random_seed(0)
    curves = load_curves(args.data, args.curves)
    model = astromer.Astromer.from_architecture(args.arch)
    padding = "ignored" if model.padding_is_ignored else "attended"
    ds = pretraining_dataset(curves, batch_size=args.batch_size, seed=0, masking="v1",
                             length_buckets=padding if args.mode == "bucketed" else None)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.fit(ds, epochs=1, verbose=0)  # warm-up: every bucket's shape traced / compiled
    seconds, losses = [], []
    for _ in range(args.epochs):
        t0 = time.perf_counter()
        history = model.fit(ds, epochs=1, verbose=0)
        seconds.append(time.perf_counter() - t0)
        losses.append(float(history.history["loss"][-1]))
    batches = [int(x["mask"].shape[1]) for x, _ in ds.as_numpy_iterator()]  # one more epoch of data only
    cuts, steps = sorted(set(batches)), len(batches)
    C.emit({"backend": keras.backend.backend(), "arch": args.arch, "mode": args.mode, "windows": len(curves),
            "epoch_s": float(np.median(seconds)), "loss": losses[-1], "cuts": cuts, "steps": steps,
            "real_fraction": float(sum(min(len(c), 200) for c in curves) / (200 * len(curves)))})


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--worker", action="store_true")
    p.add_argument("--arch", default="astromer_v1")
    p.add_argument("--mode", default="full")
    p.add_argument("--archs", default="astromer_v1,astromer_v2")
    p.add_argument("--backends", default="tensorflow,jax")
    p.add_argument("--curves", type=int, default=1536)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--data", type=Path, default=C.REPO.parent / "shared" / "data" / "eros1")
    p.add_argument("--results", type=Path, default=C.REPO / "benchmarks" / "results")
    args = p.parse_args(argv)
    if args.worker:
        return worker(args)
    lines = ["# Pretraining: batches padded to W vs length buckets", "",
             f"Command: `{C.command_line()}` (commit {C.git_state()})", ""] + C.machine_lines()
    print("\n".join(lines), flush=True)
    script = Path(__file__).resolve()
    runs = {}
    for r in range(args.rounds):
        for arch in args.archs.split(","):
            for backend in args.backends.split(","):
                for mode in ("full", "bucketed"):
                    before = C.load()
                    out = C.run_worker(sys.executable, script, [
                        "--worker", "--arch", arch, "--mode", mode, "--curves", str(args.curves),
                        "--batch-size", str(args.batch_size), "--epochs", str(args.epochs),
                        "--data", str(args.data)], {"KERAS_BACKEND": backend}, timeout=3600)
                    out["load"] = f"{before} -> {C.load()}"
                    print(f"[round {r + 1}] {arch}/{backend}/{mode}: {out['epoch_s']:.1f} s per epoch, "
                          f"loss {out['loss']:.4f}, cuts {out['cuts']} (load {out['load']})", flush=True)
                    runs.setdefault((arch, backend), {}).setdefault(r, {})[mode] = out
    say = lines.append
    first = next(iter(runs.values()))[0]["full"]
    say("")
    say(f"Inputs: the first {args.curves} EROS-1 curves (one band), one random window each per epoch "
        f"({first['windows']} windows; real observations fill {100 * first['real_fraction']:.0f}% of the "
        f"200 steps), v1 masking, batch {args.batch_size}, Adam. Seconds per epoch: the median of "
        f"{args.epochs} after one warm-up epoch; each ratio from one round (the two modes back to back).")
    say("")
    say("| model / backend | round | padded to W (s / epoch) | windows/s | length buckets (s / epoch) | "
        "windows/s | speed-up | cuts | steps per epoch (padded / buckets) | last epoch's loss (padded / buckets) "
        "| load avg (buckets run) |")
    say("|---|---:|---:|---:|---:|---:|---:|---|---|---|---|")
    for (arch, backend), rounds in runs.items():
        for r, o in rounds.items():
            f, b = o["full"], o["bucketed"]
            say(f"| {arch} / {backend} | {r + 1} | {f['epoch_s']:.1f} | {f['windows'] / f['epoch_s']:.0f} | "
                f"{b['epoch_s']:.1f} | {b['windows'] / b['epoch_s']:.0f} | {f['epoch_s'] / b['epoch_s']:.2f}x | "
                f"{b['cuts']} | {f['steps']} / {b['steps']} | {f['loss']:.4f} / {b['loss']:.4f} | {b['load']} |")
    say("")
    say("The losses differ because the batches differ (grouped by length, not mixed; a partial batch per "
        "bucket, so a few more, smaller steps per epoch); per window the loss and its gradients are those "
        "of the padded window (tests/test_data_pipelines.py).")
    C.write_report(args.results, "pretrain_buckets.md", lines, echo_last=len(runs) * args.rounds + 8)


if __name__ == "__main__":
    sys.exit(main())
