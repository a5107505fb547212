"""Peak resident memory (RSS) of pretraining steps, one child process per configuration.

Configurations (float32, batch 256 unless ``--batch-size``): Astromer v1 and v2
(``Astromer.from_architecture``, W = 200, masked RMSE, Adam) and AstroPT 001M and
005M (``family="modern"``, 256x256x3 images -> 255 tokens of 768, Huber, AdamW;
``--astropt-batch`` defaults to 256 too, which needs several GiB: lower it on
small machines; a configuration that fails, e.g. killed for lack of memory, is
retried at half the batch and the failure is noted in its row). Each child builds the model, runs ``--steps`` compiled
training steps on one fixed random batch and reports ``ru_maxrss`` (peak RSS
of the whole process: Python, the backend runtime, weights, optimizer state,
activations and the compiled program) plus the RSS before the first step.

Run:

    KERAS_BACKEND=jax python benchmarks/memory.py
    KERAS_BACKEND=tensorflow python benchmarks/memory.py

Results: benchmarks/results/memory_<backend>.md.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

CONFIGS = ("astromer_v1", "astromer_v2", "astropt_001M", "astropt_005M")


def rss_now_mib():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def worker(args):
    import keras
    import numpy as np

    import astromer

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    name = args.worker
    if name.startswith("astromer"):
        b, w = args.batch_size, 200
        model = astromer.Astromer.from_architecture(name)
        model.compile()
        x = {"times": np.sort(rng.uniform(0, 1000, (b, w)), 1).astype("float32"),
             "magnitudes": rng.standard_normal((b, w)).astype("float32"),
             "mask": (rng.uniform(size=(b, w)) > 0.2).astype("float32")}
        y = np.stack([x["magnitudes"], 1 - x["mask"], np.ones((b, w))], -1).astype("float32")
    else:
        b = args.astropt_batch
        model = astromer.AstroPT.from_architecture(name.split("_")[1], family="modern")
        model.compile()
        tokens = rng.standard_normal((b, 256, 768)).astype("float32")
        x, y = tokens[:, :-1], tokens[:, 1:]
    before = rss_now_mib()
    for _ in range(args.steps):
        model.train_on_batch(x, y)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    C.emit({"config": name, "batch": b, "params": int(model.count_params()), "rss_before_mib": before,
            "peak_rss_mib": peak, "backend": keras.backend.backend()})


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--worker", choices=CONFIGS)
    p.add_argument("--configs", default=",".join(CONFIGS))
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--astropt-batch", type=int, default=256)
    p.add_argument("--steps", type=int, default=2)
    p.add_argument("--no-halve", dest="halve_on_failure", action="store_false",
                   help="do not retry a failed (e.g. out-of-memory) configuration at half the batch")
    p.add_argument("--results", type=Path, default=C.REPO / "benchmarks" / "results")
    args = p.parse_args(argv)
    if args.worker:
        return worker(args)
    import keras

    backend = keras.backend.backend()
    lines = [f"# Peak RSS of pretraining ({backend} backend)", "",
             f"Command: `{C.command_line()}` (commit {C.git_state()})", ""] + C.machine_lines() + [""]
    lines += ["| configuration | parameters | batch | RSS before training MiB | peak RSS MiB | load avg |",
              "|---|---:|---:|---:|---:|---|"]
    print("\n".join(lines), flush=True)
    extra = {"KERAS_BACKEND": backend}
    if os.environ.get("LD_PRELOAD"):
        extra["LD_PRELOAD"] = os.environ["LD_PRELOAD"]
    for name in args.configs.split(","):
        batch = args.batch_size if name.startswith("astromer") else args.astropt_batch
        notes = []
        while batch >= 8:
            try:
                out = C.run_worker(sys.executable, Path(__file__).resolve(),
                                   ["--worker", name, "--batch-size", str(batch), "--astropt-batch",
                                    str(batch), "--steps", str(args.steps)], extra)
                row = (f"| {name} | {out['params']:,} | {out['batch']} | {out['rss_before_mib']:.0f} | "
                       f"**{out['peak_rss_mib']:.0f}**{' (' + '; '.join(notes) + ')' if notes else ''} | "
                       f"{C.load()} |")
                break
            except Exception as exc:  # noqa: BLE001 - report, then retry at half the batch
                notes.append(f"batch {batch}: {str(exc).splitlines()[0].split(';')[0][:60]}")
                batch = batch // 2 if args.halve_on_failure else 0
        else:
            row = f"| {name} | - | - | - | failed: {'; '.join(notes)} | {C.load()} |"
        lines.append(row)
        print(row, flush=True)
    lines += ["", "Peak RSS is `ru_maxrss` of a fresh child process per configuration (everything the process "
              "held at its peak, including the imported runtimes: a bare `import keras` + backend is several "
              "hundred MiB of it)."]
    C.write_report(args.results, f"memory_{backend}.md", lines)


if __name__ == "__main__":
    main()
