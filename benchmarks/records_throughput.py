"""Records throughput: conversion, the pretraining pipeline, and an Astromer v1 training step.

Measures, on this machine and the current Keras backend:

1. conversion of ../shared/data/eros1 (long CSV -> sharded records) with the
   records writer (:func:`astromer.records.writer.write_dataset`), in objects/s,
   for 1 and 2 worker processes;
2. the record pretraining pipeline (:func:`astromer.records.pretraining_records`,
   random 200-observation windows, v2 masking, shuffling on) in windows/s at
   batch 256, reading the records written in (1);
3. the compiled training step of an Astromer v1-size model
   (``Astromer.from_architecture("astromer_v1")``, masked RMSE, Adam) in
   windows/s at batch 256 on one fixed batch (warm-up first);
4. the same model's ``fit()`` fed by the record pipeline, in windows/s;

then the ratio pipeline / training step: above 1 the pipeline is not the bottleneck.

With ``--images`` it measures images instead (``records_throughput_images_<backend>.md``):
conversion of ``--image-limit`` Galaxy Zoo 1 JPEGs (``../shared/data/gz1_sdss``, flat folder +
labels table, the records writer, 1 worker) in images/s; ``image_records`` (decode, centre crop 192
px, resize to 64 px, shuffled) in images/s at batch 32; the training step of the GZ1 benchmark's
AstroPT (4 blocks, width 128, 8-px patches) on one fixed batch; and the ratio pipeline / step.

Run (one backend at a time; nothing else heavy on the machine):

    KERAS_BACKEND=tensorflow /work/venv/bin/python benchmarks/records_throughput.py
    KERAS_BACKEND=jax /work/venv/bin/python benchmarks/records_throughput.py

The report is printed and written to benchmarks/results/records_throughput_<backend>.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import tempfile
import time
from pathlib import Path

from _common import cpu_model, write_report  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "data" / "eros1"


def machine_lines(backend):
    import jax
    import keras
    import numpy as np
    import tensorflow as tf

    import astromer

    return [
        f"- machine: {platform.node()} | {platform.platform()}",
        f"- CPU: {cpu_model()} | nproc = {os.cpu_count()} "
        f"(sched affinity {len(os.sched_getaffinity(0))}) | load average before "
        f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}",
        f"- Python {platform.python_version()}, astromer {astromer.__version__}, keras "
        f"{keras.__version__} (backend {backend}), tensorflow {tf.__version__}, jax "
        f"{jax.__version__}, numpy {np.__version__}",
    ]


# ----------------------------------------------------------------------------- 1. conversion


def bench_conversion(data_dir: Path, work: Path, workers_list, shard_size):
    from astromer.records.sources import long_table_source
    from astromer.records.writer import write_dataset

    t0 = time.perf_counter()
    source = long_table_source(data_dir / "lightcurves.csv.gz", labels=data_dir / "labels.csv")
    load_s = time.perf_counter() - t0
    n_objects = len(source.items)
    rows = []
    out_dirs = {}
    for workers in workers_list:
        out = work / f"eros1_w{workers}"
        t0 = time.perf_counter()
        meta = write_dataset(source, out, workers=workers, shard_size=shard_size,
                             progress=False, name="eros1")
        dt = time.perf_counter() - t0
        rows.append((workers, meta["counts"]["objects"], meta["counts"]["records"], dt))
        out_dirs[workers] = out
    return n_objects, load_s, rows, out_dirs


def compare_outputs(a: Path, b: Path):
    """(same shard bytes, same parsed records) of two conversions of the same source."""
    import tensorflow as tf

    from astromer.records.reader import light_curve_files, read_metadata

    def shas(d):
        return [(s["file"], s["sha256"]) for sp in read_metadata(d)["splits"].values()
                for s in sp["shards"]]

    same_bytes = shas(a) == shas(b)
    fa, fb = light_curve_files(a), light_curve_files(b)
    same_parsed = len(fa) == len(fb)
    for x, y in zip(fa, fb):
        ra = list(tf.data.TFRecordDataset(x).as_numpy_iterator())
        rb = list(tf.data.TFRecordDataset(y).as_numpy_iterator())
        same_parsed &= len(ra) == len(rb) and all(
            tf.train.SequenceExample.FromString(p) == tf.train.SequenceExample.FromString(q)
            for p, q in zip(ra, rb))
    return same_bytes, same_parsed


# ----------------------------------------------------------------------------- 2. pipeline


def bench_pipeline(records_dir, batch_size, window_size, n_batches, warmup, seed=0):
    from astromer.records import pretraining_records

    ds = pretraining_records(records_dir, split="train", batch_size=batch_size,
                             window_size=window_size, seed=seed, repeat=True)
    it = iter(ds)
    for _ in range(warmup):
        next(it)
    t0 = time.perf_counter()
    n = 0
    for _ in range(n_batches):
        _, y = next(it)
        n += int(y.shape[0])
    dt = time.perf_counter() - t0
    batch = next(it)
    return n / dt, dt, n, batch


# ----------------------------------------------------------------------------- 3. train step


def bench_train_step(batch, n_steps, warmup):
    import keras
    import numpy as np

    import astromer

    keras.utils.set_random_seed(0)
    model = astromer.Astromer.from_architecture("astromer_v1")
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    x, y = batch
    x = {k: np.asarray(v) for k, v in x.items()}
    y = np.asarray(y)
    for _ in range(warmup):
        model.train_on_batch(x, y)
    t0 = time.perf_counter()
    for _ in range(n_steps):
        loss = model.train_on_batch(x, y)
    dt = time.perf_counter() - t0
    n_params = model.count_params()
    return model, len(y) * n_steps / dt, dt / n_steps, float(np.ravel(loss)[0]), n_params


def bench_fit(model, records_dir, batch_size, window_size, n_steps, warmup, seed=1):
    """fit() fed by the record pipeline (same compiled model): windows/s end to end."""
    from astromer.records import pretraining_records

    import keras

    ds = pretraining_records(records_dir, split="train", batch_size=batch_size,
                             window_size=window_size, seed=seed, repeat=True)
    marks = {}

    class Clock(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if batch == warmup:
                marks["t0"] = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            marks["t1"] = time.perf_counter()

    model.fit(ds, steps_per_epoch=warmup + n_steps, epochs=1, verbose=0, callbacks=[Clock()])
    dt = marks["t1"] - marks["t0"]
    return batch_size * n_steps / dt, dt / n_steps


# ----------------------------------------------------------------------------- main


def bench_images(args, work, say):
    """Image conversion, the image_records pipeline and an AstroPT training step (module docstring)."""
    import keras
    import numpy as np
    import pandas as pd

    import astromer
    from astromer.records import image_records, write_dataset
    from astromer.records.sources import image_folder_source

    folder = args.data.parent / "gz1_sdss" if args.data == DEFAULT_DATA else args.data
    labels = pd.read_csv(folder / "labels.csv", dtype={"OBJID": str}).head(args.image_limit)
    src = image_folder_source(folder / "images", labels, id_column="OBJID", label_column="CLASS")
    out = work / "gz1_records"
    t0 = time.perf_counter()
    meta = write_dataset(src, out, splits="none", shard_size=500, workers=1, progress=False)
    dt = time.perf_counter() - t0
    n = meta["counts"]["objects"]
    say(f"## 1. Conversion: {n} GZ1 JPEGs ({folder}) -> image records (1 worker, shard size 500)")
    say(f"{n} images in {dt:.2f} s -> **{n / dt:.0f} images/s** (bytes stored unchanged after a decode check).")
    say("")
    batch = 32
    ds = image_records(out, image_size=64, crop=192, batch_size=batch, shuffle=True, seed=0, repeat=True,
                       labels=False)
    it = iter(ds)
    for _ in range(args.warmup):
        next(it)
    t0 = time.perf_counter()
    n_batches = max(1, min(args.pipeline_batches, n // batch))
    for _ in range(n_batches):
        images = next(it)
    rate = n_batches * batch / (time.perf_counter() - t0)
    say(f"## 2. image_records pipeline (decode JPEG, centre crop 192 px, resize to 64 px, batch {batch})")
    say(f"{n_batches * batch} images after {args.warmup} warm-up batches -> **{rate:.0f} images/s**.")
    say("")
    keras.utils.set_random_seed(0)
    model = astromer.AstroPT(num_layers=4, num_heads=4, embed_dim=128, block_size=64, patch_size=8,
                             num_channels=3, tokenizer="aim")
    model.compile()
    x = np.asarray(images)
    for _ in range(args.warmup):
        model.train_on_batch(x)
    t0 = time.perf_counter()
    for _ in range(args.train_steps):
        loss = model.train_on_batch(x)
    step = (time.perf_counter() - t0) / args.train_steps
    train_rate = batch / step
    say(f"## 3. AstroPT training step (the GZ1 benchmark's model, {model.count_params():,} parameters, batch {batch})")
    say(f"{step:.3f} s/step -> **{train_rate:.0f} images/s** (loss {float(np.asarray(loss).ravel()[0]):.4f}).")
    say("")
    ratio = rate / train_rate
    say("## Verdict")
    say(f"pipeline / training step = {rate:.0f} / {train_rate:.0f} = **{ratio:.1f}x**: "
        + ("the image pipeline is NOT the bottleneck" if ratio > 1 else "the image pipeline IS the bottleneck")
        + f". Load average after: {', '.join(f'{v:.2f}' for v in os.getloadavg())}.")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", action="store_true",
                        help="measure images (GZ1 conversion, image_records, AstroPT step) instead")
    parser.add_argument("--image-limit", type=int, default=2000, help="GZ1 images to convert with --images")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="long-table dataset folder")
    parser.add_argument("--workers", default="1,2", help="worker counts for the conversion")
    parser.add_argument("--shard-size", type=int, default=200, help="objects per shard")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--window-size", type=int, default=200)
    parser.add_argument("--pipeline-batches", type=int, default=60)
    parser.add_argument("--train-steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temp dir)")
    parser.add_argument("--results", type=Path, default=REPO / "benchmarks" / "results")
    args = parser.parse_args(argv)

    import keras

    backend = keras.backend.backend()
    command = " ".join(
        [f"KERAS_BACKEND={backend}", shlex.quote(sys.executable)]
        + [shlex.quote(a) for a in sys.argv]
    )
    title = "Image records throughput" if args.images else "Records throughput"
    lines = [f"# {title} ({backend} backend)", "", f"Command: `{command}`", ""]
    lines += machine_lines(backend)
    lines.append("")

    def say(text=""):
        lines.append(text)
        print(text, flush=True)

    print("\n".join(lines), flush=True)
    tmp = None
    if args.work is None:
        tmp = tempfile.TemporaryDirectory(prefix="astromer_bench_")
        work = Path(tmp.name)
    else:
        work = args.work
        work.mkdir(parents=True, exist_ok=True)

    if args.images:
        try:
            bench_images(args, work, say)
        finally:
            if tmp is not None:
                tmp.cleanup()
        write_report(args.results, f"records_throughput_images_{backend}.md", lines)
        return
    try:
        workers_list = [int(w) for w in args.workers.split(",")]
        say(f"## 1. Conversion: {args.data} -> records (records writer, shard size {args.shard_size})")
        n_obj, load_s, rows, out_dirs = bench_conversion(args.data, work, workers_list, args.shard_size)
        say(f"Reading the long table into a source: {n_obj} objects in {load_s:.2f} s (not timed below).")
        say("")
        say("| workers | objects | records | seconds | objects/s |")
        say("|---:|---:|---:|---:|---:|")
        for workers, objects, records, dt in rows:
            say(f"| {workers} | {objects} | {records} | {dt:.2f} | {objects / dt:.0f} |")
        if len(out_dirs) > 1:
            ws = sorted(out_dirs)
            say("")
            same_bytes, same_parsed = compare_outputs(out_dirs[ws[0]], out_dirs[ws[-1]])
            note = (" (equal records in different bytes: protobuf map order, which varies "
                    "between processes unless examples are serialised with deterministic=True)"
                    if same_parsed and not same_bytes else "")
            say(f"{ws[0]} vs {ws[-1]} workers: shard bytes identical: {same_bytes}; parsed "
                f"records identical: {same_parsed}{note}. Multi-worker runs include starting "
                "spawned worker processes that each import TensorFlow (several seconds here), "
                "which a dataset this small does not amortise.")
        records_dir = out_dirs[workers_list[0]]
        say("")

        say(f"## 2. Pretraining pipeline from records (batch {args.batch_size}, W={args.window_size})")
        rate, dt, n, batch = bench_pipeline(records_dir, args.batch_size, args.window_size,
                                            args.pipeline_batches, args.warmup)
        say(f"`pretraining_records(split='train', sampling=True, masking='v2', shuffle=True, "
            f"repeat=True)`: {n} windows in {dt:.2f} s after {args.warmup} warm-up batches -> "
            f"**{rate:.0f} windows/s**.")
        say("")

        say(f"## 3. Astromer v1 training step (batch {args.batch_size}, W={args.window_size})")
        model, train_rate, step_s, loss, n_params = bench_train_step(batch, args.train_steps,
                                                                     args.warmup)
        say(f"`Astromer.from_architecture('astromer_v1')` ({n_params:,} parameters), compiled "
            f"`train_on_batch` on one fixed batch, {args.warmup} warm-up + {args.train_steps} "
            f"timed steps: {step_s:.3f} s/step -> **{train_rate:.0f} windows/s** (loss {loss:.4f}).")
        say("")

        say(f"## 4. fit() on the record pipeline (same model, batch {args.batch_size})")
        fit_rate, fit_step_s = bench_fit(model, records_dir, args.batch_size, args.window_size,
                                         args.train_steps, 1)
        say(f"`model.fit(pretraining_records(..., repeat=True))`, steps 2..{args.train_steps + 1} "
            f"timed (step 1 warms up): {fit_step_s:.3f} s/step -> **{fit_rate:.0f} windows/s** "
            f"({fit_rate / train_rate:.2f}x the fixed-batch step rate; ~1.0 means the step never "
            "waits for input).")
        say("")

        ratio = rate / train_rate
        say("## Verdict")
        verdict = ("the pipeline is NOT the bottleneck" if ratio > 1
                   else "the pipeline IS the bottleneck")
        say(f"pipeline / training step = {rate:.0f} / {train_rate:.0f} = **{ratio:.1f}x**: {verdict} "
            f"(both measured on this machine's {os.cpu_count()} cores, one after the other; in "
            "fit() they share the cores, with the pipeline prefetching while the step runs).")
        say(f"Load average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())} (other "
            "processes on a shared machine slow every number here).")
    finally:
        if tmp is not None:
            tmp.cleanup()

    write_report(args.results, f"records_throughput_{backend}.md", lines)


if __name__ == "__main__":
    main()
