"""``model.embed`` and ``predict_objects`` with and without length buckets (Astromer 1, Astromer 2, modern), side by side.

``embed(..., bucketing=True)`` encodes each window cut to its length bucket (at most 4 lengths,
multiples of 8, chosen for the windows at hand) instead of at full length W = 200; Astromer 1,
which attends its padding, keeps one padded step per window weighted for all of them (see
:meth:`astromer.Astromer.encode_windows`). Inputs: the first
``--curves`` EROS-1 light curves (one band; a typical curve fills ~120 of 200 steps). Each
configuration runs in its own child process, round-robin over ``--rounds`` rounds; ratios are
bucketed / full from the same round. Also checks that the embeddings and the probabilities agree.

    python benchmarks/embed_bucketing.py          # writes benchmarks/results/embed_bucketing.md
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402


def load_curves(data_dir, n):
    import pandas as pd

    df = pd.read_csv(Path(data_dir) / "lightcurves.csv.gz")
    df = df[df["band"] == df["band"].iloc[0]]
    return [g[["time", "mag", "mag_err"]].to_numpy() for _, g in df.groupby("object_id", sort=True)][:n]


def worker(args):
    import keras
    import numpy as np

    import astromer

    keras.utils.set_random_seed(0)
    curves = load_curves(args.data, args.curves)
    model = astromer.Astromer.from_architecture(args.arch)
    res = {"backend": keras.backend.backend(), "arch": args.arch}
    out = {}
    for mode in (False, True):
        sec, out[mode] = C.timed(lambda: model.embed(curves, verbose=0, bucketing=mode), args.steps, warmup=1)
        res[f"{'bucketed' if mode else 'full'}_s"] = sec
    clf = astromer.LightCurveClassifier(model, 5, head="skip")  # a new head: the same windows, then pooling
    probs = {}
    for mode in (False, True):
        sec, (_, probs[mode]) = C.timed(lambda: clf.predict_objects(curves, bucketing=mode), args.steps, warmup=1)
        res[f"predict_{'bucketed' if mode else 'full'}_s"] = sec
    res["predict_max_diff"] = float(np.abs(probs[True] - probs[False]).max())
    res["max_diff"] = float(max(np.abs(a - b).max() for a, b in zip(out[True].observations,
                                                                     out[False].observations)))
    res["pooled_max_diff"] = float(np.abs(out[True].pooled - out[False].pooled).max())
    res["real_fraction"] = float(sum(len(c) for c in curves) / (200 * sum(-(-len(c) // 200) for c in curves)))
    res["buckets"] = sorted(int(k) for name in ("_encoder_by_length", "_encoder_by_length_weighted")
                            for k in model.__dict__.get(name, {}))
    C.emit(res)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--worker", action="store_true")
    p.add_argument("--arch", default="astromer_v2")
    p.add_argument("--archs", default="astromer_v1,astromer_v2,modern")
    p.add_argument("--backends", default="tensorflow,jax")
    p.add_argument("--curves", type=int, default=600)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--data", type=Path, default=C.REPO.parent / "shared" / "data" / "eros1")
    p.add_argument("--results", type=Path, default=C.REPO / "benchmarks" / "results")
    args = p.parse_args(argv)
    if args.worker:
        return worker(args)
    lines = ["# embed: length buckets vs full windows", "",
             f"Command: `{C.command_line()}` (commit {C.git_state()})", ""] + C.machine_lines()
    print("\n".join(lines), flush=True)
    script = Path(__file__).resolve()
    runs = {}
    for r in range(args.rounds):
        for arch in args.archs.split(","):
            for backend in args.backends.split(","):
                before = C.load()
                out = C.run_worker(sys.executable, script, [
                    "--worker", "--arch", arch, "--curves", str(args.curves), "--steps", str(args.steps),
                    "--data", str(args.data)], {"KERAS_BACKEND": backend})
                out["load"] = f"{before} -> {C.load()}"
                print(f"[round {r + 1}] {arch}/{backend}: full {out['full_s']:.2f} s, bucketed "
                      f"{out['bucketed_s']:.2f} s; predict_objects {out['predict_full_s']:.2f} / "
                      f"{out['predict_bucketed_s']:.2f} s (load {out['load']})", flush=True)
                runs.setdefault(f"{arch} / {backend}", []).append(out)
    say = lines.append
    first = next(iter(runs.values()))[0]
    say("")
    say(f"Inputs: the first {args.curves} EROS-1 curves (one band); real observations fill "
        f"{100 * first['real_fraction']:.0f}% of the 200-step windows. Seconds per `embed` call, the "
        f"median of {args.steps} after one warm-up (compilation excluded); each ratio from one round.")
    say("")
    say("| model / backend | round | full windows (s) | length buckets (s) | speed-up | max diff per obs | "
        "max diff pooled | load avg (before -> after) |")
    say("|---|---:|---:|---:|---:|---:|---:|---|")
    for name, outs in runs.items():
        for i, o in enumerate(outs):
            say(f"| {name} | {i + 1} | {o['full_s']:.2f} | {o['bucketed_s']:.2f} | "
                f"{o['full_s'] / o['bucketed_s']:.2f}x | {o['max_diff']:.1e} | {o['pooled_max_diff']:.1e} "
                f"| {o['load']} |")
    say("")
    say("`LightCurveClassifier.predict_objects` (a new 5-class skip head over the same encoder: the "
        "same windows, then masked pooling and the head), seconds per call:")
    say("")
    say("| model / backend | round | full windows (s) | length buckets (s) | speed-up | max diff of the probabilities |")
    say("|---|---:|---:|---:|---:|---:|")
    for name, outs in runs.items():
        for i, o in enumerate(outs):
            say(f"| {name} | {i + 1} | {o['predict_full_s']:.2f} | {o['predict_bucketed_s']:.2f} | "
                f"{o['predict_full_s'] / o['predict_bucketed_s']:.2f}x | {o['predict_max_diff']:.1e} |")
    say("")
    for name, outs in runs.items():
        say(f"- {name}: cut lengths {outs[0]['buckets']} (and 200)")
    say("")
    say("Astromer 1 attends its padding (query-key mask, as the original): its cut windows keep one "
        "padded step, weighted log(P / p) in the attention logits, so the softmax is the full window's.")
    C.write_report(args.results, "embed_bucketing.md", lines, echo_last=2 * len(runs) * args.rounds + 14)


if __name__ == "__main__":
    main()
