"""Where an Astromer forward step spends its time: each op of one encoder block, float32 vs bfloat16.

The ops of one block at the shapes of the v1 benchmark (batch 256, W = 200, width 256, 4 heads,
FFN 128; other architectures: their own sizes, read from
``Astromer.from_architecture``), each compiled on its own (``tf.function``, oneDNN as in Keras' default / ``jax.jit``) and
timed in float32 and in bfloat16, in a child process per backend. The share column says which
ops a faster precision could speed up; the bf16 column whether the machine makes them faster.

    python benchmarks/profile_ops.py            # writes benchmarks/results/profile_ops.md
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

OPS = ("time encoding", "q/k/v projections", "q.k^T", "softmax", "weights.v", "output projection",
       "layer norm x2", "FFN", "residual adds")


def worker(args):
    import time

    import keras
    import numpy as np
    from keras import ops

    import astromer

    spec = astromer.Astromer.from_architecture(args.arch)
    B, W, h, dh, f = args.batch, spec.window_size, spec.num_heads, spec.head_dim, spec.ffn_dim
    d = h * dh
    rng = np.random.default_rng(0)
    res = {"backend": keras.backend.backend(), "arch": args.arch, "shape": [B, W, d, h, f]}
    for dtype in ("float32", "bfloat16"):
        def t(*shape):
            return ops.cast(ops.convert_to_tensor(rng.normal(0, 0.1, shape).astype("float32")), dtype)

        x, wqkv, wo = t(B, W, d), t(d, 3 * d), t(d, d)
        w1, w2, q, k = t(d, f), t(f, d), t(B * h, W, dh), t(B * h, W, dh)
        logits, v = t(B * h, W, W), t(B * h, W, dh)
        times = ops.convert_to_tensor(rng.uniform(-300, 300, (B, W)).astype("float32"))
        rates = ops.convert_to_tensor(np.linspace(1e-4, 1, d // 2).astype("float32"))
        fns = {
            "time encoding": lambda: ops.cast(ops.concatenate(
                [ops.sin(times[..., None] * rates), ops.cos(times[..., None] * rates)], -1), dtype),
            "q/k/v projections": lambda: ops.matmul(x, wqkv),
            "q.k^T": lambda: ops.matmul(q, ops.transpose(k, (0, 2, 1))),
            "softmax": lambda: ops.softmax(logits, axis=-1),
            "weights.v": lambda: ops.matmul(logits, v),
            "output projection": lambda: ops.matmul(x, wo),
            "layer norm x2": lambda: ops.cast(keras.ops.layer_normalization(ops.cast(x, "float32")) * 2.0,
                                              dtype),
            "FFN": lambda: ops.matmul(ops.gelu(ops.matmul(x, w1)), w2),
            "residual adds": lambda: x + x + x,
        }
        for name in OPS:
            fn = fns[name]
            if res["backend"] == "jax":
                import jax

                compiled = jax.jit(fn)
                run = lambda: compiled().block_until_ready()  # noqa: E731
            else:
                import tensorflow as tf

                compiled = tf.function(fn)  # oneDNN kernels: what Keras runs on TF by default
                run = lambda: compiled().numpy()  # noqa: E731
            run()
            times_s = []
            for _ in range(args.steps):
                t0 = time.perf_counter()
                run()
                times_s.append(time.perf_counter() - t0)
            res[f"{dtype}/{name}"] = float(np.median(times_s))
    C.emit(res)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--worker", action="store_true")
    p.add_argument("--arch", default="astromer_v1")
    p.add_argument("--archs", default="astromer_v1,astromer_v2")
    p.add_argument("--backends", default="tensorflow",
                   help="default TensorFlow only: on JAX (XLA:CPU) the bfloat16 q.k^T of batch 256 did "
                        "not finish within 4 minutes here")
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--results", type=Path, default=C.REPO / "benchmarks" / "results")
    args = p.parse_args(argv)
    if args.worker:
        return worker(args)
    lines = ["# One encoder block, op by op: float32 vs bfloat16", "",
             f"Command: `{C.command_line()}` (commit {C.git_state()})", ""] + C.machine_lines()
    print("\n".join(lines), flush=True)
    script = Path(__file__).resolve()
    say = lines.append
    for arch in args.archs.split(","):
        for backend in args.backends.split(","):
            before = C.load()
            r = C.run_worker(sys.executable, script, ["--worker", "--arch", arch, "--batch", str(args.batch),
                             "--steps", str(args.steps)], {"KERAS_BACKEND": backend})
            B, W, d, h, f = r["shape"]
            total = sum(r[f"float32/{n}"] for n in OPS)
            say("")
            say(f"## {arch} on {backend} (batch {B}, W {W}, width {d}, {h} heads, FFN {f}; load {before} -> {C.load()})")
            say("")
            say("| op | float32 ms | share | bfloat16 ms | bf16 speed-up |")
            say("|---|---:|---:|---:|---:|")
            for n in OPS:
                a, b = r[f"float32/{n}"], r[f"bfloat16/{n}"]
                say(f"| {n} | {1e3 * a:.1f} | {100 * a / total:.0f}% | {1e3 * b:.1f} | {a / b:.2f}x |")
            tb = sum(r[f"bfloat16/{n}"] for n in OPS)
            say(f"| **all** | {1e3 * total:.1f} | 100% | {1e3 * tb:.1f} | {total / tb:.2f}x |")
    say("")
    say("Each op compiled alone and timed as the median of its runs; a whole block fuses some of them, "
        "so the sum is an upper bound of one block's time. The layer norm runs in float32 in both "
        "columns (as Keras' mixed_bfloat16 policy does), the time encoding too (ours keeps the angles "
        "in float32).")
    C.write_report(args.results, "profile_ops.md", lines, echo_last=len(lines) - 8)


if __name__ == "__main__":
    main()
