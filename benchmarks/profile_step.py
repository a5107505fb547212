"""Where a whole Astromer step spends its time on TensorFlow: the profiler's own trace, per op type.

Complements ``profile_ops.py`` (each op of one block compiled alone): here the real Keras step
runs as users run it (``encoder_model().predict_on_batch`` for the forward pass,
``train_on_batch`` with masked RMSE and Adam for the training step; graph mode with oneDNN,
Keras' default on a CPU), at the v1 benchmark's shapes (batch 256, W = 200, dropout 0 as the
v1 presets train). ``tf.profiler`` records every kernel of ``--steps`` steps; the report sums
their durations per op type (``_MklNativeFusedMatMul`` is a matrix product with its bias add
fused in, ``_MklBatchMatMulV2`` the attention products) and lists the costliest op instances.
Durations are summed over TensorFlow's inter-op threads, so shares, not sums, are the result.

    python benchmarks/profile_step.py                      # writes benchmarks/results/profile_step.md
    python benchmarks/profile_step.py --arch astromer_v2
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

MATMULS = ("_MklMatMul", "_MklNativeFusedMatMul", "_MklFusedMatMul", "_MklBatchMatMulV2", "MatMul",
           "BatchMatMulV2")
SKIP = {"ExecutorState::Process", "ExecutorDoneCallback", "MemoryAllocation", "MemoryDeallocation",
        "StartRegion", "StopRegion", "Record"}


def op_times(logdir, steps):
    """{op instance name: ms per step} from the ``*.xplane.pb`` trace under ``logdir``."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    space = xplane_pb2.XSpace()
    space.ParseFromString(next(Path(logdir).rglob("*.xplane.pb")).read_bytes())
    times = collections.defaultdict(float)
    for plane in space.planes:
        names = {k: v.name for k, v in plane.event_metadata.items()}
        for line in plane.lines:
            if not line.name.startswith("tf_Compute"):
                continue
            for event in line.events:
                name = names.get(event.metadata_id, "?")
                if name.split(":")[-1] not in SKIP and name not in SKIP:
                    times[name] += event.duration_ps / 1e9 / steps
    return times


def profile(mode, arch, steps):
    import time

    import keras
    import tensorflow as tf

    import astromer

    keras.utils.set_random_seed(0)
    x, y = C.v1_training_batch()
    model = astromer.Astromer.from_architecture(arch, dropout=0.0)
    if mode == "train":
        model.compile(optimizer=keras.optimizers.Adam(1e-3))
        step = lambda: model.train_on_batch(x, y)  # noqa: E731
    else:
        encoder = model.encoder_model()
        step = lambda: encoder.predict_on_batch(x)  # noqa: E731
    for _ in range(2):
        step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    wall = (time.perf_counter() - t0) / steps
    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        for _ in range(steps):
            step()
        tf.profiler.experimental.stop()
        return wall, op_times(logdir, steps)


def section(mode, arch, wall, times, top=12):
    by_type = collections.defaultdict(float)
    for name, ms in times.items():
        by_type[name.split(":")[-1]] += ms
    total = sum(by_type.values())
    matmul = sum(ms for t, ms in by_type.items() if t in MATMULS)
    what = "forward (encoder_model().predict_on_batch)" if mode == "forward" else "training step (train_on_batch)"
    lines = [f"## {arch}: {what}", "",
             f"Wall time {wall * 1e3:.0f} ms per step of 256 windows; kernel time summed over threads "
             f"{total:.0f} ms, of which matrix products {matmul / total:.0%}.", "",
             "| op type | ms per step | share |", "|---|---:|---:|"]
    for t, ms in sorted(by_type.items(), key=lambda kv: -kv[1]):
        if ms / total >= 0.005:
            lines.append(f"| {t} | {ms:.1f} | {ms / total:.1%} |")
    lines += ["", f"Costliest op instances (top {top}):", "", "| op | ms per step |", "|---|---:|"]
    for name, ms in sorted(times.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"| `{name}` | {ms:.1f} |")
    return lines + [""]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--arch", default="astromer_v1")
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--results", type=Path, default=C.REPO / "benchmarks" / "results")
    args = p.parse_args(argv)
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    if keras.backend.backend() != "tensorflow":
        sys.exit("profile_step.py reads TensorFlow's profiler trace: run it with KERAS_BACKEND=tensorflow")
    lines = ["# A whole Astromer step on TensorFlow, per op type (tf.profiler trace)", "",
             f"Command: `{C.command_line()}` (commit {C.git_state()})", "", *C.machine_lines(), ""]
    for mode in ("forward", "train"):
        wall, times = profile(mode, args.arch, args.steps)
        lines += section(mode, args.arch, wall, times)
    lines.append(f"Load average at the end: {C.load()}.")
    name = "profile_step.md" if args.arch == "astromer_v1" else f"profile_step_{args.arch}.md"
    C.write_report(args.results, name, lines)


if __name__ == "__main__":
    main()
