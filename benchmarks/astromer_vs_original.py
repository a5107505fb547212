"""Astromer v1: this package vs the original library (PyPI ``astromer==0.1.8``), side by side.

One invocation prepares one set of inputs (real EROS-1 light curves from
``../shared/data/eros1`` and one fixed masked batch of 256 windows), then runs
every configuration in its own child process, round-robin (``--rounds``
times, interleaved so that a change of machine load hits all of them alike):

- ``original``: ``ASTROMER.models.SingleBandEncoder`` (2 layers, d_model 256,
  4 heads, dff 128, maxlen 200: the v1 architecture) in its own virtual
  environment (TensorFlow + legacy Keras, ``TF_USE_LEGACY_KERAS=1``), created
  by this script under ``--envs`` on first use;
- ours, ``Astromer.from_architecture("astromer_v1")``, on TensorFlow and JAX,
  with XLA compilation on and off (``jit_compile``);
- ``onnxruntime``: the same model exported by ``astromer presets export`` (our
  :func:`astromer.tasks.export.export_onnx`), run by onnxruntime on the CPU: the
  inference path of the ``light-curve`` package's Astromer models. Its ``embed`` is
  our cleaning and windowing with onnxruntime as the encoder; it has no training;
- ours in ``mixed_bfloat16`` (``.../bf16`` rows; by default only where the CPU has
  native bfloat16: ``avx512_bf16`` or ``amx_bf16``).

Measured per configuration (float32, batch 256, W = 200):

- ``embed``: raw light curves to per-observation embeddings, end to end
  (``model.embed(curves, batch_size=256)`` vs the original's
  ``SingleBandEncoder.encode(curves, batch_size=256)``), windows/s;
- ``forward``: the encoder on one fixed batch of 256 windows (ours:
  ``encoder_model().predict_on_batch``; original: its ``encode`` loop body,
  ``encoder(batch)``, and the same wrapped in ``tf.function``), windows/s;
- ``train``: one optimiser step on the fixed batch (ours: ``train_on_batch``
  with masked RMSE and Adam; original: its ``core.astromer.train_step``, a
  ``tf.function``, with its Adam), windows/s; ours also at dropout 0, because the
  original's step calls the model without ``training=True`` and so never applies
  its dropout (the like-for-like column);

and the record pretraining pipeline (``pretraining_records``, windows/s) in the
parent process, against the fastest training step. Ratios are ours / original.
The report ends with the compute ceiling: the v1 FLOPs per window against one
large float32 matmul's measured rate, i.e. the best ratio any float32
implementation could reach on the machine.

Run (nothing is needed beyond the dev environment; the original's environment is made here):

    python benchmarks/astromer_vs_original.py                  # writes benchmarks/results/astromer_vs_original.md
                                                               # and astromer_vs_original.json (the ratios)
    python benchmarks/astromer_vs_original.py --quick          # fewer steps, one round

``--allocator tcmalloc`` (default when ``libtcmalloc_minimal.so.4`` is
installed: ``apt-get install libtcmalloc-minimal4``) preloads tcmalloc into
*every* child, the original included; ``--allocator both`` adds our JAX and TF
steps with the system allocator to show the allocator's effect.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

ORIGINAL_ENV = "astromer_0.1.8"
ORIGINAL_STEPS = [["astromer==0.1.8", "tensorboard", "tf_keras~=2.21.0"]]
ORIGINAL_CHECK = "import os; os.environ['TF_USE_LEGACY_KERAS']='1'; import ASTROMER.models"
BATCH, WINDOW = 256, 200


# ----------------------------------------------------------------------------- inputs


def prepare_inputs(data_dir: Path, n_curves: int, out: Path, seed=0):
    """Curves (first ``n_curves`` EROS-1 objects) and one fixed v1-masked batch, as .npz."""
    import numpy as np
    import pandas as pd

    from astromer.data import pretraining_dataset

    df = pd.read_csv(data_dir / "lightcurves.csv.gz")
    cols = {c.lower(): c for c in df.columns}
    oid, t, m, e = (cols.get(k) for k in ("object_id", "time", "mag", "mag_err"))
    if "band" in cols:
        df = df[df[cols["band"]] == df[cols["band"]].iloc[0]]
    curves = []
    for _, g in df.groupby(oid, sort=True):
        g = g.sort_values(t)
        curves.append(g[[t, m, e]].to_numpy("float32"))
        if len(curves) == n_curves:
            break
    ds = pretraining_dataset(curves, batch_size=BATCH, window_size=WINDOW, seed=seed, masking="v1",
                             shuffle=False, repeat=True)
    x, y = next(iter(ds))
    lengths = np.array([len(c) for c in curves])
    np.savez(out, flat=np.concatenate(curves), lengths=lengths,
             times=x["times"].numpy(), magnitudes=x["magnitudes"].numpy(), mask=x["mask"].numpy(),
             y=y.numpy())
    n_windows = int(sum(max(1, -(-n // WINDOW)) for n in lengths))
    return len(curves), int(lengths.sum()), n_windows


def load_inputs(path):
    import numpy as np

    d = np.load(path)
    curves = np.split(d["flat"], np.cumsum(d["lengths"])[:-1])
    batch = {k: d[k] for k in ("times", "magnitudes", "mask", "y")}
    return curves, batch


# ----------------------------------------------------------------------------- workers


def worker_original(args):
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    import tensorflow as tf
    from ASTROMER.core.astromer import train_step
    from ASTROMER.models import SingleBandEncoder

    tf.random.set_seed(0)
    curves, b = load_inputs(args.inputs)
    model = SingleBandEncoder(num_layers=2, d_model=256, num_heads=4, dff=128, maxlen=WINDOW)
    enc = model.model.get_layer("encoder")
    col = lambda a: tf.constant(a[..., None], tf.float32)  # noqa: E731
    batch = {"input": col(b["magnitudes"]), "times": col(b["times"]),
             "mask_in": col(1.0 - b["mask"]),  # the original's mask: 1 = hidden / padding
             "length": tf.zeros((BATCH, WINDOW), tf.int32),
             "output": col(b["y"][..., 0]), "mask_out": col(b["y"][..., 1])}
    res = {"impl": "original", "versions": f"ASTROMER 0.1.8, tensorflow {tf.__version__} (legacy Keras)"}
    ids = [str(i) for i in range(len(curves))]
    sec, _ = C.timed(lambda: model.encode(curves, oids_list=ids, batch_size=BATCH), args.steps, warmup=1)
    res["embed_s"] = sec
    sec, _ = C.timed(lambda: enc(batch).numpy(), args.steps, warmup=1)
    res["forward_eager_s"] = sec
    fwd = tf.function(lambda x: enc(x))
    sec, _ = C.timed(lambda: fwd(batch).numpy(), args.steps, warmup=1)
    res["forward_s"] = sec
    opt = tf.keras.optimizers.Adam(1e-3, beta_1=0.9, beta_2=0.98, epsilon=1e-9)
    sec, loss = C.timed(lambda: float(train_step(model.model, batch, opt)), args.steps, warmup=1)
    res.update(train_s=sec, loss=loss, params=int(model.model.count_params()))
    C.emit(res)


def worker_ours(args):
    import keras
    import numpy as np

    import astromer

    if args.precision != "float32":
        keras.config.set_dtype_policy(args.precision)
    keras.utils.set_random_seed(0)
    jit = {"on": True, "off": False}[args.jit]
    curves, b = load_inputs(args.inputs)
    model = astromer.Astromer.from_architecture("astromer_v1")
    x = {k: b[k] for k in ("times", "magnitudes", "mask")}
    encoder = model.encoder_model()
    encoder.jit_compile = jit
    res = {"impl": "ours", "backend": keras.backend.backend(), "jit": jit, "precision": args.precision,
           "versions": f"keras {keras.__version__} ({keras.backend.backend()})"}
    sec, _ = C.timed(lambda: model.embed(curves, batch_size=BATCH, verbose=0), args.steps, warmup=1)
    res["embed_s"] = sec
    sec, _ = C.timed(lambda: np.asarray(encoder.predict_on_batch(x)), args.steps, warmup=1)
    res["forward_s"] = sec
    model.compile(optimizer=keras.optimizers.Adam(1e-3, beta_1=0.9, beta_2=0.98, epsilon=1e-9),
                  jit_compile=jit)
    sec, loss = C.timed(lambda: float(np.ravel(model.train_on_batch(x, b["y"]))[0]), args.steps, warmup=1)
    res.update(train_s=sec, loss=loss, params=int(model.count_params()))
    # The original's train_step calls model(batch) without training=True, so its
    # dropout is off: the same arithmetic as ours at dropout 0.
    plain = astromer.Astromer.from_architecture("astromer_v1", dropout=0.0)
    plain.set_weights(model.get_weights())
    plain.compile(optimizer=keras.optimizers.Adam(1e-3, beta_1=0.9, beta_2=0.98, epsilon=1e-9),
                  jit_compile=jit)
    sec, _ = C.timed(lambda: float(np.ravel(plain.train_on_batch(x, b["y"]))[0]), args.steps, warmup=1)
    res["train_nodrop_s"] = sec
    C.emit(res)


def worker_onnxruntime(args):
    import onnxruntime

    from astromer.data.light_curves import prepare_light_curves
    from astromer.data.windows import window_curves
    from astromer.tasks.export import onnx_session, run_onnx

    curves, b = load_inputs(args.inputs)
    session = onnx_session(args.onnx)
    x = {k: b[k] for k in ("times", "magnitudes", "mask")}

    def embed():  # the same cleaning and windows as model.embed, onnxruntime as the encoder
        prepared = prepare_light_curves(curves, None)
        w = window_curves(prepared.curves, window_size=WINDOW)
        return [run_onnx(session, {"times": w.times[i:i + BATCH], "magnitudes": w.magnitudes[i:i + BATCH],
                                   "mask": w.mask[i:i + BATCH]}) for i in range(0, len(w.times), BATCH)]

    res = {"impl": "onnxruntime", "versions": f"onnxruntime {onnxruntime.__version__} (CPU, all threads)"}
    sec, _ = C.timed(embed, args.steps, warmup=1)
    res["embed_s"] = sec
    sec, _ = C.timed(lambda: run_onnx(session, x), args.steps, warmup=1)
    res["forward_s"] = sec
    C.emit(res)


# ----------------------------------------------------------------------------- parent


def v1_forward_gflop_per_window(layers=2, width=256, heads=4, ffn=128, window=WINDOW):
    """Multiply-adds x 2 of the v1 encoder per window (the dense projections and the two
    attention products; embedding, norms, softmax and the head are < 1% and left out)."""
    dense = window * (4 * width * width + 2 * width * ffn)
    attention = 2 * window * window * width  # q.k^T and weights.v over all heads
    return layers * 2 * (dense + attention) / 1e9


def bench_pipeline(data_dir, work, n_batches=30):
    from astromer.records import pretraining_records
    from astromer.records.sources import long_table_source
    from astromer.records.writer import write_dataset
    import time

    source = long_table_source(data_dir / "lightcurves.csv.gz", labels=data_dir / "labels.csv")
    out = work / "records"
    write_dataset(source, out, workers=1, shard_size=200, progress=False, name="eros1")
    ds = pretraining_records(out, split="train", batch_size=BATCH, window_size=WINDOW, seed=0,
                             repeat=True, masking="v1")
    it = iter(ds)
    for _ in range(3):
        next(it)
    t0 = time.perf_counter()
    for _ in range(n_batches):
        next(it)
    return n_batches * BATCH / (time.perf_counter() - t0)


def configs(args, tcmalloc):
    pre = {"LD_PRELOAD": tcmalloc} if tcmalloc else {}
    out = [("original", pre), ("onnxruntime", pre)]
    backends = [b.strip() for b in args.backends.split(",")]
    for backend in backends:
        for jit in ("on", "off"):
            if backend == "jax" and jit == "off" and not args.jax_eager:
                continue
            out.append((f"{backend}/jit-{jit}", pre))
    if args.bf16 == "on" or (args.bf16 == "auto" and native_bf16()[0]):
        for backend in backends:
            out.append((f"{backend}/jit-{'on' if backend == 'jax' else 'off'}/bf16", pre))
    if args.allocator == "both" and tcmalloc:
        for backend in backends:
            out.append((f"{backend}/jit-{'on' if backend == 'jax' else 'off'}/system-malloc", {}))
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--worker", choices=["original", "ours", "onnxruntime"])
    p.add_argument("--inputs")
    p.add_argument("--onnx")
    p.add_argument("--jit", default="on")
    p.add_argument("--precision", default="float32", help="Keras dtype policy of our model (worker)")
    p.add_argument("--bf16", choices=["auto", "on", "off"], default="auto",
                   help="also run ours in mixed_bfloat16 (auto: where the CPU has native bf16)")
    p.add_argument("--steps", type=int, default=3, help="timed steps per measurement (median)")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--curves", type=int, default=300, help="EROS-1 curves embedded end to end")
    p.add_argument("--backends", default="tensorflow,jax")
    p.add_argument("--jax-eager", action="store_true", help="also run JAX with jit_compile=False (slow)")
    p.add_argument("--allocator", choices=["tcmalloc", "system", "both"], default="both")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--data", type=Path, default=C.REPO.parent / "shared" / "data" / "eros1")
    p.add_argument("--envs", type=Path, default=C.DEFAULT_ENVS)
    p.add_argument("--results", type=Path, default=C.REPO / "benchmarks" / "results")
    args = p.parse_args(argv)
    if args.worker == "original":
        return worker_original(args)
    if args.worker == "ours":
        return worker_ours(args)
    if args.worker == "onnxruntime":
        return worker_onnxruntime(args)
    if args.quick:
        args.rounds, args.steps, args.curves = 1, 2, 100

    lines = ["# Astromer v1: ours vs the original library (astromer 0.1.8)", "",
             f"Command: `{C.command_line()}` (commit {C.git_state()})", ""] + C.machine_lines()
    print("\n".join(lines), flush=True)
    original_py = C.ensure_venv(args.envs / ORIGINAL_ENV, ORIGINAL_STEPS, ORIGINAL_CHECK)
    tcmalloc = C.tcmalloc_path() if args.allocator != "system" else None
    if args.allocator != "system" and not tcmalloc:
        print("[note] libtcmalloc_minimal.so.4 not found (apt-get install libtcmalloc-minimal4): system malloc")
    work = Path(tempfile.mkdtemp(prefix="astromer_vs_orig_"))
    inputs = work / "inputs.npz"
    n_curves, n_obs, n_windows = prepare_inputs(args.data, args.curves, inputs)
    onnx_file = work / "astromer_v1.onnx"
    onnx_info = export_v1_onnx(onnx_file)
    script = Path(__file__).resolve()
    results = {}
    for r in range(args.rounds):
        for name, env in configs(args, tcmalloc):
            before = C.load()
            if name == "original":
                out = C.run_worker(original_py, script, ["--worker", "original", "--inputs", str(inputs),
                                   "--steps", str(args.steps)], {**env, "TF_USE_LEGACY_KERAS": "1"})
            elif name == "onnxruntime":
                out = C.run_worker(sys.executable, script, ["--worker", "onnxruntime", "--inputs", str(inputs),
                                   "--steps", str(args.steps), "--onnx", str(onnx_file)], env)
            else:
                backend, jit = name.split("/")[:2]
                precision = "mixed_bfloat16" if name.endswith("/bf16") else "float32"
                out = C.run_worker(sys.executable, script, ["--worker", "ours", "--inputs", str(inputs),
                                   "--steps", str(args.steps), "--jit", jit.split("-")[1],
                                   "--precision", precision], {**env, "KERAS_BACKEND": backend})
            out["load"] = f"{before} -> {C.load()}"
            print(f"[round {r + 1}] {name}: " + ", ".join(
                f"{k} {v:.3f}" for k, v in out.items() if k.endswith("_s")) + f" (load {out['load']})",
                flush=True)
            results.setdefault(name, []).append(out)
    pipeline = bench_pipeline(args.data, work)
    pipeline_load = C.load()

    def best(name, key):
        vals = [o[key] for o in results[name] if key in o]
        return min(vals) if vals else None

    orig = {k: best("original", k) for k in ("embed_s", "forward_s", "forward_eager_s", "train_s")}
    ours = [n for n in results if n.split("/")[0] in ("tensorflow", "jax") and not n.endswith("/bf16")]
    bf16 = [n for n in results if n.endswith("/bf16")]
    say = lines.append
    say("")
    say(f"Inputs: {n_curves} EROS-1 light curves ({n_obs} observations, {n_windows} windows of {WINDOW}) "
        f"for `embed`; one fixed batch of {BATCH} v1-masked windows for `forward` and `train`. "
        f"float32 (rows ending in /bf16: Keras mixed_bfloat16); best of {args.rounds} interleaved round(s), each the median of {args.steps} timed "
        "steps after one warm-up step (compilation excluded).")
    say(f"Original: {results['original'][0]['versions']}, {results['original'][0]['params']:,} parameters. "
        f"Ours: {results['original'][0]['params']:,} vs "
        f"{next(iter(v for k, v in results.items() if k in ours))[0]['params']:,} parameters. "
        f"ONNX: {results['onnxruntime'][0]['versions']}; the same architecture exported by "
        f"`export_onnx` ({onnx_info['bytes'] / 1e6:.1f} MB, largest difference to Keras "
        f"{onnx_info['max_abs_diff']:.2g}, {onnx_info['max_rel_diff']:.2g} relative).")
    say(f"Allocator: {'tcmalloc (' + tcmalloc + ') preloaded in every child, the original included' if tcmalloc else 'system malloc'}"
        + ("; rows marked system-malloc run without it." if args.allocator == "both" and tcmalloc else "."))
    say("")
    say("The original's `train_step` calls `model(batch)` without `training=True`, so its dropout never "
        "runs (checked: two calls give identical outputs); ours trains with dropout 0.1 as `fit` does. "
        "The `train, dropout off` column is ours at dropout 0: the same arithmetic as the original's step.")
    say("")
    say("| configuration | embed windows/s | x orig | forward windows/s | x orig (tf.function) | x orig (eager, as its encode) "
        "| train windows/s | x orig | train, dropout off | x orig | load avg (1/5/15 min, before -> after) |")
    say("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for name in results:
        e, f, t = best(name, "embed_s"), best(name, "forward_s"), best(name, "train_s")
        row = [name, f"{n_windows / e:.0f}", f"{orig['embed_s'] / e:.2f}", f"{BATCH / f:.0f}",
               f"{orig['forward_s'] / f:.2f}", f"{orig['forward_eager_s'] / f:.2f}",
               f"{BATCH / t:.1f}" if t else "-", f"{orig['train_s'] / t:.2f}" if t else "-", "-", "-",
               results[name][-1]["load"]]
        t0 = best(name, "train_nodrop_s")
        if t0:
            row[8], row[9] = f"{BATCH / t0:.1f}", f"{orig['train_s'] / t0:.2f}"
        if name == "original":
            row[4] = f"1.00 (eager {BATCH / orig['forward_eager_s']:.0f}/s)"
            row[5] = "1.00"
        say("| " + " | ".join(row) + " |")
    say("")
    peak = C.matmul_peak_gflops()
    gf = v1_forward_gflop_per_window()
    fastest_fwd = min(ours, key=lambda n: best(n, "forward_s"))
    say(f"**Compute ceiling.** The v1 encoder costs {gf:.3f} GFLOP per window forward ({gf * BATCH:.0f} per "
        f"batch of {BATCH}) and about 3x that per training step (forward + two products per matmul "
        f"backward). One large float32 matmul runs at **{peak:.0f} GFLOP/s** on this machine (TensorFlow, "
        f"oneDNN, load {C.load()}), an upper bound for any implementation. Achieved: original forward "
        f"{gf * BATCH / orig['forward_s']:.0f} GFLOP/s, training {3 * gf * BATCH / orig['train_s']:.0f} "
        f"GFLOP/s; ours ({fastest_fwd}) forward {gf * BATCH / best(fastest_fwd, 'forward_s'):.0f} GFLOP/s. "
        f"At the peak a training step could reach at most {peak / (3 * gf):.0f} windows/s = "
        f"{peak / (3 * gf) / (BATCH / orig['train_s']):.2f}x the original, and the encoder "
        f"{peak / gf:.0f} windows/s = {peak / gf / (BATCH / orig['forward_s']):.2f}x its forward "
        "(all in float32 with the same arithmetic).")
    say("")
    fastest = min(ours, key=lambda n: best(n, "train_s"))
    train_rate = BATCH / best(fastest, "train_s")
    say(f"Record pipeline (`pretraining_records`, v1 masking, batch {BATCH}, parent process, TensorFlow "
        f"tf.data): **{pipeline:.0f} windows/s** = {pipeline / train_rate:.0f}x the fastest training step "
        f"({fastest}, {train_rate:.1f} windows/s) -> the pipeline is "
        f"{'not ' if pipeline > train_rate else ''}the bottleneck (load {pipeline_load}).")
    say("")
    say("Per-round raw seconds (embed / forward / train[ / train with dropout off]):")
    say("")
    for name, outs in results.items():
        say(f"- {name}: " + "; ".join(
            f"{o['embed_s']:.2f} / {o['forward_s']:.3f} / {o.get('train_s', float('nan')):.3f}"
            + (f" / {o['train_nodrop_s']:.3f}" if "train_nodrop_s" in o else "") + f" (load {o['load']})"
            for o in outs))
    say("")
    say(f"Load average at the end: {C.load()}.")
    summary = ratios_json(results, ours, bf16, best, orig)
    say("")
    say("Ratios (also in `astromer_vs_original.json`): " + ", ".join(
        f"{k} {v}" for k, v in summary["ratios"].items()))
    C.write_report(args.results, "astromer_vs_original.md", lines, echo_last=len(results) + 20)
    (args.results / "astromer_vs_original.json").write_text(json.dumps(summary, indent=1) + "\n")


def ratios_json(results, ours, bf16, best, orig):
    """The headline ratios (ours / peer, higher is faster), each from this one run."""
    fastest = {k: min(ours, key=lambda n: best(n, k)) for k in ("embed_s", "forward_s", "train_s")}
    nodrop = min(ours, key=lambda n: best(n, "train_nodrop_s"))
    ort = {k: best("onnxruntime", k) for k in ("embed_s", "forward_s")}

    def ratio(a, b):
        return round(a / b, 3)

    tf_embed = min(best(n, "embed_s") for n in ours if n.startswith("tensorflow/"))
    jax_embed = [best(n, "embed_s") for n in ours if n.startswith("jax/")]
    native, why = native_bf16()
    bf16_reason = None if bf16 else f"not measured: {why}"

    def bf16_ratio(peer_s, key):
        return ratio(peer_s, min(best(n, key) for n in bf16)) if bf16 else None
    return {
        "command": C.command_line(), "commit": C.git_state(), "cpu": C.cpu_model(),
        "machine": [line[2:] for line in C.machine_lines()],
        "ratios": {
            "embed_x_original": ratio(orig["embed_s"], best(fastest["embed_s"], "embed_s")),
            "forward_x_original": ratio(orig["forward_s"], best(fastest["forward_s"], "forward_s")),
            "train_x_original": ratio(orig["train_s"], best(fastest["train_s"], "train_s")),
            "train_dropout_off_x_original": ratio(orig["train_s"], best(nodrop, "train_nodrop_s")),
            "embed_x_onnxruntime": ratio(ort["embed_s"], best(fastest["embed_s"], "embed_s")),
            "forward_x_onnxruntime": ratio(ort["forward_s"], best(fastest["forward_s"], "forward_s")),
            "jax_embed_x_tensorflow": ratio(tf_embed, min(jax_embed)) if jax_embed else None,
            "embed_x_original_bf16": bf16_ratio(orig["embed_s"], "embed_s"),
            "train_x_original_bf16": bf16_ratio(orig["train_s"], "train_s"),
            "train_dropout_off_x_original_bf16": bf16_ratio(orig["train_s"], "train_nodrop_s"),
            "embed_x_onnxruntime_bf16": bf16_ratio(ort["embed_s"], "embed_s"),
            "bf16_embed_x_float32": bf16_ratio(best(fastest["embed_s"], "embed_s"), "embed_s"),
            "bf16_train_x_float32": bf16_ratio(best(fastest["train_s"], "train_s"), "train_s"),
        },
        "bf16": {"native": native, "why": why, "policy": "mixed_bfloat16", "configurations": bf16},
        "configurations": {"embed": fastest["embed_s"], "forward": fastest["forward_s"],
                           "train": fastest["train_s"], "train_dropout_off": nodrop},
        "null_because": {"*_bf16": bf16_reason} if bf16_reason else {},
        "seconds": {n: {k: best(n, k) for k in ("embed_s", "forward_s", "train_s", "train_nodrop_s")
                        if best(n, k) is not None} for n in results},
    }


def native_bf16():
    from astromer.presets.precision import native_bf16 as native

    return native()


def export_v1_onnx(path):
    """The v1 architecture (seed 0 weights: speed does not depend on their values) as ONNX."""
    import keras

    import astromer
    from astromer.tasks.export import export_onnx

    keras.utils.set_random_seed(0)
    return export_onnx(astromer.Astromer.from_architecture("astromer_v1"), path)


if __name__ == "__main__":
    main()
