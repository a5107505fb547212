"""AstroPT: this package vs the original ``astropt==2.0.9`` on PyTorch CPU, side by side.

Same configuration on both sides: the 5M model of the astroPT scaling series
(6 layers, 8 heads, width 256, "aim" tokeniser, no biases, dropout 0, block
size 1024), 16x16x3 patches, ``--image-size`` images (default 256: 256 tokens
of 768 values; the training forward sees tokens ``[:, :-1]`` and predicts
``[:, 1:]``), batch ``--batch-size``, float32. Both sides get the *same
tokens* (random normal, fixed seed): the tokeniser is not timed, only the
model.

- ``original``: ``astropt.model.GPT`` (one "images" modality, learned
  positions), in its own virtual environment under ``--envs`` made on first
  use: torch's CPU wheel first, then ``astropt==2.0.9 --no-deps`` plus only
  what ``astropt.model`` imports (``loralib``, ``numpy``), so pip can never
  replace torch with a CUDA build; the script checks ``torch.cuda`` is absent.
  Forward: ``model.eval()`` under ``torch.no_grad()``. Training step: forward
  with targets (Huber loss), ``backward``, gradient clipping at 1.0, AdamW
  (lr 6e-4, betas 0.9/0.95, weight decay 0.1 on matrices), as its train.py.
  ``torch.set_num_threads`` = the machine's cores.
- ours: ``AstroPT.from_architecture("005M", family="modern")`` on TensorFlow
  (XLA on / off) and JAX (XLA): ``predict_on_batch`` and ``train_on_batch``
  (Huber, AdamW with the same settings and clipnorm 1.0).

Run:

    python benchmarks/astropt_vs_original.py          # writes benchmarks/results/astropt_vs_original.md

``--torch-wheel`` names a local torch CPU wheel (default: the one in /opt/wheels
when present, else ``torch==2.13.0`` from the CPU index).
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

ENV = "astropt_2.0.9"
CHECK = ("import torch, numpy, astropt.model; assert '+cpu' in torch.__version__ or not torch.cuda.is_available(); "
         "assert torch.version.cuda is None, torch.version.cuda")


def torch_steps(wheel):
    return [[wheel or "torch==2.13.0", *([] if wheel else ["--index-url", "https://download.pytorch.org/whl/cpu"])],
            ["--no-deps", "astropt==2.0.9", "loralib"], ["numpy"]]


def worker_original(args):
    import numpy as np
    import torch
    from astropt.model import GPT, GPTConfig, ModalityConfig, ModalityRegistry

    torch.manual_seed(0)
    torch.set_num_threads(os.cpu_count())
    tokens = torch.from_numpy(np.load(args.inputs))
    b, n, p = tokens.shape
    cfg = GPTConfig(block_size=1024, n_layer=6, n_head=8, n_embd=256, n_chan=3, dropout=0.0, bias=False,
                    tokeniser="aim")
    reg = ModalityRegistry([ModalityConfig(name="images", input_size=p, pos_input_size=1, patch_size=16,
                                           embed_pos=True)])
    model = GPT(cfg, reg, master_process=False)
    pos = torch.arange(n - 1)[None].expand(b, -1)
    inputs = {"images": tokens[:, :-1], "images_positions": pos}
    targets = {"images": tokens[:, 1:]}
    res = {"impl": "original", "versions": f"astropt 2.0.9, torch {torch.__version__} "
           f"({torch.get_num_threads()} threads)", "params": int(model.get_num_params())}
    model.eval()

    def forward():
        with torch.no_grad():
            return model(inputs)[0]["images"].sum().item()

    res["forward_s"], _ = C.timed(forward, args.steps, warmup=1)
    model.train()
    opt = model.configure_optimizers(0.1, 6e-4, (0.9, 0.95), "cpu")

    def step():
        _, loss = model(inputs, targets=targets)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss.item()

    res["train_s"], res["loss"] = C.timed(step, args.steps, warmup=1)
    C.emit(res)


def worker_ours(args):
    import keras
    import numpy as np

    import astromer

    keras.utils.set_random_seed(0)
    jit = {"on": True, "off": False}[args.jit]
    tokens = np.load(args.inputs)
    model = astromer.AstroPT.from_architecture("005M", family="modern")
    model.jit_compile = jit
    x, y = tokens[:, :-1], tokens[:, 1:]
    res = {"impl": "ours", "versions": f"keras {keras.__version__} ({keras.backend.backend()})",
           "params": int(model.count_params())}
    res["forward_s"], _ = C.timed(lambda: float(np.asarray(model.predict_on_batch(x)).sum()), args.steps, warmup=1)
    model.compile(jit_compile=jit)  # Huber(1), AdamW(6e-4, 0.9/0.95, wd 0.1, clipnorm 1)
    res["train_s"], res["loss"] = C.timed(lambda: float(np.ravel(model.train_on_batch(x, y))[0]), args.steps,
                                          warmup=1)
    C.emit(res)


def astropt_forward_gflop_per_image(layers=6, width=256, tokens=255, patch=768):
    """Multiply-adds x 2 of AstroPT's forward per image: patch encoder and decoder MLPs (hidden 4 x
    width), per block the q|k|v, output and MLP projections and the two attention products (full
    T x T, as the dense kernels compute them)."""
    w4 = 4 * width
    dense = tokens * (patch * w4 + w4 * width + width * w4 + w4 * patch
                      + layers * (3 * width * width + width * width + 2 * width * w4))
    attention = layers * 2 * tokens * tokens * width
    return 2 * (dense + attention) / 1e9


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--worker", choices=["original", "ours"])
    p.add_argument("--inputs")
    p.add_argument("--jit", default="on")
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--image-size", type=int, default=256)
    p.add_argument("--backends", default="tensorflow,jax")
    p.add_argument("--allocator", choices=["tcmalloc", "system"], default="tcmalloc")
    p.add_argument("--envs", type=Path, default=C.DEFAULT_ENVS)
    wheels = sorted(glob.glob("/opt/wheels/torch-2.13.0+cpu-cp311-*.whl"))
    p.add_argument("--torch-wheel", default=wheels[-1] if wheels else None)
    p.add_argument("--results", type=Path, default=C.REPO / "benchmarks" / "results")
    args = p.parse_args(argv)
    if args.worker == "original":
        return worker_original(args)
    if args.worker == "ours":
        return worker_ours(args)
    import numpy as np

    lines = ["# AstroPT 5M: ours vs the original astropt 2.0.9 (PyTorch CPU)", "",
             f"Command: `{C.command_line()}` (commit {C.git_state()})", ""] + C.machine_lines()
    print("\n".join(lines), flush=True)
    py = C.ensure_venv(args.envs / ENV, torch_steps(args.torch_wheel), CHECK)
    tcmalloc = C.tcmalloc_path() if args.allocator == "tcmalloc" else None
    pre = {"LD_PRELOAD": tcmalloc} if tcmalloc else {}
    n = (args.image_size // 16) ** 2
    work = Path(tempfile.mkdtemp(prefix="astropt_vs_orig_"))
    inputs = work / "tokens.npy"
    np.save(inputs, np.random.default_rng(0).standard_normal((args.batch_size, n, 768)).astype("float32"))
    configs = [("original (torch eager)", py, ["--worker", "original"], {})]
    for backend in [b.strip() for b in args.backends.split(",")]:
        for jit in (("on",) if backend == "jax" else ("on", "off")):
            configs.append((f"{backend}/jit-{jit}", sys.executable, ["--worker", "ours", "--jit", jit],
                            {"KERAS_BACKEND": backend}))
    results = {}
    for r in range(args.rounds):
        for name, python, wargs, env in configs:
            before = C.load()
            out = C.run_worker(python, Path(__file__).resolve(),
                               [*wargs, "--inputs", str(inputs), "--steps", str(args.steps)], {**pre, **env})
            out["load"] = f"{before} -> {C.load()}"
            print(f"[round {r + 1}] {name}: forward {out['forward_s']:.3f} s, train {out['train_s']:.3f} s "
                  f"(load {out['load']})", flush=True)
            results.setdefault(name, []).append(out)
    best = lambda name, k: min(o[k] for o in results[name])  # noqa: E731
    orig = configs[0][0]
    say = lines.append
    say("")
    say(f"Batch {args.batch_size} images of {args.image_size}x{args.image_size}x3 = {n} tokens of 768 "
        f"(model sees {n - 1}); float32; best of {args.rounds} interleaved round(s), each the median of "
        f"{args.steps} steps after a warm-up step. Original: {results[orig][0]['versions']}, "
        f"{results[orig][0]['params']:,} parameters; ours: "
        f"{results[configs[1][0]][0]['params']:,} parameters. Allocator: "
        f"{'tcmalloc preloaded in every child' if tcmalloc else 'system malloc'}.")
    say("")
    say("| configuration | forward images/s | x orig | train images/s | x orig | load avg (before -> after) |")
    say("|---|---:|---:|---:|---:|---|")
    for name in results:
        f, t = best(name, "forward_s"), best(name, "train_s")
        say(f"| {name} | {args.batch_size / f:.1f} | {best(orig, 'forward_s') / f:.2f} | "
            f"{args.batch_size / t:.1f} | {best(orig, 'train_s') / t:.2f} | {results[name][-1]['load']} |")
    say("")
    gf = astropt_forward_gflop_per_image(tokens=n - 1)
    peak = C.matmul_peak_gflops()
    fastest = min((k for k in results if k != orig), key=lambda k: best(k, "train_s"))
    per_step = 3 * gf * args.batch_size
    say(f"**Compute ceiling.** The 5M model costs {gf:.2f} GFLOP per image forward (Dense layers and the "
        f"two attention products; norms, GELU and softmax left out), {gf * args.batch_size:.0f} per batch of "
        f"{args.batch_size}, about 3x that ({per_step:.0f}) per training step. One large float32 matmul runs "
        f"at **{peak:.0f} GFLOP/s** here (TensorFlow, oneDNN). Achieved in training: original "
        f"{per_step / best(orig, 'train_s'):.0f} GFLOP/s, ours ({fastest}) "
        f"{per_step / best(fastest, 'train_s'):.0f} GFLOP/s; at the peak a step would be at most "
        f"{best(orig, 'train_s') * peak / per_step:.2f}x the original.")
    say("")
    say("Raw seconds per round (forward / train): " + "; ".join(
        f"{k}: " + ", ".join(f"{o['forward_s']:.3f}/{o['train_s']:.3f}" for o in v) for k, v in results.items()))
    say("")
    say(f"Load average at the end: {C.load()}.")
    C.write_report(args.results, "astropt_vs_original.md", lines, echo_last=len(results) + 10)


if __name__ == "__main__":
    main()
