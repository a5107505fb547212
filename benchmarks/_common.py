"""Shared helpers of the side-by-side benchmarks: machine description, environments, workers."""

from __future__ import annotations

import json
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_ENVS = Path(os.environ.get("ASTROMER_BENCH_ENVS", REPO.parent / "bench_envs"))
TCMALLOC_CANDIDATES = (
    "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4",
    "/usr/lib/aarch64-linux-gnu/libtcmalloc_minimal.so.4",
    "/usr/lib/libtcmalloc_minimal.so.4",
)


def load():
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_lines():
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 2**20:.1f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    isa = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if f" {f}" in flags]
    return [
        f"- machine: {platform.node()} | {platform.platform()}",
        f"- CPU: {cpu_model()} | nproc {os.cpu_count()} (affinity {len(os.sched_getaffinity(0))}){mem} "
        f"| ISA: {', '.join(isa) or 'n/a'}",
        f"- Python {platform.python_version()} ({sys.executable})",
        f"- load average at start: {load()} (a shared machine: other jobs slow every number; "
        "ratios come from interleaved runs in this one invocation)",
    ]


def command_line():
    keep = [k for k in ("KERAS_BACKEND", "LD_PRELOAD") if os.environ.get(k)]
    env = " ".join(f"{k}={shlex.quote(os.environ[k])}" for k in keep)
    return (env + " " if env else "") + " ".join(
        [shlex.quote(sys.executable)] + [shlex.quote(a) for a in sys.argv]
    )


def tcmalloc_path():
    for p in TCMALLOC_CANDIDATES:
        if Path(p).exists():
            return p
    return None


def git_state():
    try:
        rev = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain"], capture_output=True,
                               text=True).stdout.strip()
        return rev + (" + uncommitted changes" if dirty else "")
    except OSError:
        return "unknown"


def ensure_venv(path: Path, steps, check):
    """Create a virtual environment at ``path`` running the pip ``steps`` (lists of
    arguments to ``pip install``) once; ``check`` is Python code that must run in it."""
    py = path / "bin" / "python"
    if py.exists() and subprocess.run([str(py), "-c", check], capture_output=True).returncode == 0:
        return py
    print(f"[setup] creating {path} (once; later runs reuse it)", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    for args in steps:
        subprocess.run([str(py), "-m", "pip", "install", "--quiet", *args], check=True)
    proc = subprocess.run([str(py), "-c", check], capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"{path} does not work after installation:\n{proc.stderr[-2000:]}")
    return py


def run_worker(python, script, args, env_extra=None, timeout=1800):
    """Run ``python script --worker ...`` and return the JSON it prints on its last RESULT line."""
    env = dict(os.environ)
    for k in ("LD_PRELOAD", "XLA_FLAGS", "TF_USE_LEGACY_KERAS", "KERAS_BACKEND"):
        env.pop(k, None)
    env.update({"TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"})
    env.update(env_extra or {})
    t0 = time.perf_counter()
    proc = subprocess.run([str(python), str(script), *args], env=env, capture_output=True, text=True,
                          timeout=timeout, cwd=str(REPO))
    lines = [l for l in proc.stdout.splitlines() if l.startswith("RESULT ")]
    if proc.returncode or not lines:
        why = "killed by SIGKILL: most likely out of memory" if proc.returncode == -9 else "failed"
        raise RuntimeError(f"{why} (exit {proc.returncode}); worker {args}:\n{proc.stdout[-2000:]}\n"
                           f"{proc.stderr[-4000:]}")
    out = json.loads(lines[-1][7:])
    out["wall_s"] = time.perf_counter() - t0
    return out


def emit(result):
    print("RESULT " + json.dumps(result), flush=True)


def timed(fn, n, warmup=1):
    """Seconds per call of ``fn`` (median of ``n`` after ``warmup`` calls) and the last value."""
    value = None
    for _ in range(warmup):
        value = fn()
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2], value


def v1_training_batch(batch=256, window=200, seed=0):
    """Synthetic windows (60 to ``window`` real steps each) and reconstruction targets
    ``(target, loss mask, weight)``: the step benchmarks' fixed batch."""
    import numpy as np

    rng = np.random.default_rng(seed)
    x = {"times": np.sort(rng.uniform(-500, 500, (batch, window)), 1).astype("float32"),
         "magnitudes": rng.normal(0, 1, (batch, window)).astype("float32"),
         "mask": (np.arange(window)[None] < rng.integers(60, window + 1, batch)[:, None]).astype("float32")}
    y = np.stack([x["magnitudes"], (rng.uniform(size=(batch, window)) < 0.5).astype("float32"),
                  np.ones((batch, window), "float32")], -1)
    return x, y


def matmul_peak_gflops(n=2048, reps=5):
    """float32 throughput of one large TensorFlow matmul on this machine (oneDNN, all cores)."""
    import tensorflow as tf

    a = tf.random.normal((n, n))
    f = tf.function(lambda a: tf.matmul(a, a))
    f(a).numpy()
    t0 = time.perf_counter()
    for _ in range(reps):
        f(a).numpy()
    return 2 * n**3 * reps / (time.perf_counter() - t0) / 1e9


def write_report(results_dir, name, lines, echo_last=0):
    """Write a report's lines to ``results_dir/name`` (atomically: an interrupted write leaves the
    previous report); print its last ``echo_last`` lines and the path."""
    from astromer.io import atomic_write_text

    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    out = results_dir / name
    atomic_write_text(out, "\n".join(lines) + "\n")
    if echo_last:
        print("\n".join(lines[-echo_last:]))
    print(f"\nwritten to {out}")
    return out


#: the encoder preset of the few-shot benchmarks: the ATLAS-pretrained Astromer 1 weights gave the
#: better frozen embeddings on both labelled surveys here (see benchmarks/README.md)
FEWSHOT_PRESET = "astromer_v1_atlas"


def fewshot_output(results, name, preset):
    """The few-shot report folder of ``preset``: ``results/name`` for :data:`FEWSHOT_PRESET`,
    ``results/name/PRESET`` for another (e.g. the MACHO-pretrained ``astromer_v1``)."""
    return results / name if preset == FEWSHOT_PRESET else results / name / preset


def take_option(args, name, default):
    """``(value, rest)``: the last ``name VALUE`` of ``args`` (or ``default``) and the other arguments."""
    args, value, rest = list(args), default, []
    i = 0
    while i < len(args):
        if args[i] == name and i + 1 < len(args):
            value, i = args[i + 1], i + 2
        else:
            rest.append(args[i])
            i += 1
    return value, rest


def run_evaluate(script, argv, extra, script_args=None):
    """Run ``astromer evaluate argv + extra`` in this process, recording the command line as
    ``[OMP_NUM_THREADS=..] KERAS_BACKEND=.. python benchmarks/SCRIPT SCRIPT_ARGS`` (default: EXTRA);
    returns the exit code."""
    os.environ.setdefault("ASTROMER_MIRROR", str(REPO.parent / "shared" / "weights" / "astromer"))
    from astromer.cli.main import main

    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    threads = f"OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']} " if "OMP_NUM_THREADS" in os.environ else ""
    command = f"{threads}KERAS_BACKEND={backend} python benchmarks/{script} " + " ".join(
        extra if script_args is None else script_args)
    start = time.time()
    code = main(list(argv) + list(extra) + ["--command-line", command.strip()])
    print(f"[{Path(script).stem}] finished in {(time.time() - start) / 60:.1f} min")
    return code


def fewshot_parser(description, shots="20,100,500", preset=False, one_shot_count=False):
    """The few-shot side-by-side scripts' common options: ``--data`` (a labelled folder under
    ../shared/data), ``--shots`` (one number with ``one_shot_count``, else comma-separated),
    ``--test-fraction`` and, with ``preset``, ``--preset``."""
    import argparse

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--data", default="eros1", help="a labelled folder under ../shared/data (default eros1)")
    what = "labelled objects per class, one number" if one_shot_count else "comma-separated shots per class"
    parser.add_argument("--shots", default=shots, help=f"{what} (default {shots})")
    parser.add_argument("--test-fraction", type=float, default=0.2,
                        help="test fraction where the data have no split column (as astromer evaluate)")
    if preset:
        parser.add_argument("--preset", default=FEWSHOT_PRESET, help=f"the encoder (default {FEWSHOT_PRESET})")
    return parser


class FewShotTables:
    """The few-shot harness's data, folds and test set (``astromer evaluate``'s) for a script that
    compares methods on its tables: ``harness`` (:class:`astromer.evaluation.FewShotEvaluation`,
    3 folds, or ``folds``; its ``load_encoder()`` loads the preset afresh), ``encoder`` (one loaded copy), and
    after :meth:`line_up` the objects in one order: ``ids``, labels ``y``, rows of the ``test``
    objects, ``row`` (object id -> row)."""

    def __init__(self, data, shots, test_fraction=0.2, preset=FEWSHOT_PRESET, n_jobs=2, folds=3):
        import logging

        logging.basicConfig(level=logging.WARNING)
        os.environ.setdefault("ASTROMER_MIRROR", str(REPO.parent / "shared" / "weights" / "astromer"))
        import astromer
        from astromer.evaluation import FewShotEvaluation
        from astromer.evaluation.labelled import load_labelled_folder

        self.start = time.time()
        self.shots = [int(s) for s in str(shots).split(",")]
        self.data = load_labelled_folder(REPO.parent / "shared" / "data" / data, test_fraction=test_fraction)
        # a fresh encoder per load_encoder(): scenario c's reconstruction trains the one it gets
        self.harness = FewShotEvaluation(self.data, lambda: astromer.load_preset(preset, progress=False),
                                         shots=self.shots, folds=folds, n_jobs=n_jobs)
        self.encoder = self.harness.load_encoder()

    @classmethod
    def from_args(cls, args, n_jobs=2):
        return cls(args.data, args.shots, args.test_fraction, getattr(args, "preset", FEWSHOT_PRESET), n_jobs)

    def line_up(self, ids, tables, features=None):
        """Put every table in the order of ``ids`` (the embedding tables' objects), keeping the
        objects the feature table ``features = (feature ids, F)`` also has; returns the tables
        (a dict, plus ``"F"`` with features)."""
        import numpy as np

        ids, tables = list(ids), dict(tables)
        if features is not None:
            f_row = {o: i for i, o in enumerate(features[0])}
            keep = [i for i, o in enumerate(ids) if o in f_row]
            ids = [ids[i] for i in keep]
            tables = {name: t[keep] for name, t in tables.items()}
            tables["F"] = features[1][[f_row[o] for o in ids]]
        self.ids = ids
        self.row = {o: i for i, o in enumerate(ids)}
        self.y = np.array([self.harness.classes[self.data.labels[o]] for o in ids])
        self.test = np.array([self.row[o] for o in self.data.test_ids if o in self.row])
        return tables

    def splits(self):
        """``(shots, fold, rows of the training objects)`` for every split of the harness."""
        import numpy as np

        for split in self.harness.splits():
            yield split["shots"], split["fold"], np.array([self.row[o] for o in split["train"] if o in self.row])

    def score(self, make, X, threads=2, seen=None):
        """``{shots: [macro F1 (%) per fold]}`` of ``make(training labels)`` fitted on each split's
        training rows of ``X`` and scored on the test rows; ``seen(shots, model)`` after each fit."""
        from sklearn.metrics import f1_score
        from threadpoolctl import threadpool_limits

        out = {}
        for shots, _, train in self.splits():
            model = make(self.y[train])
            with threadpool_limits(threads):
                model.fit(X[train], self.y[train])
                pred = model.predict(X[self.test])
            out.setdefault(shots, []).append(100 * f1_score(self.y[self.test], pred, average="macro"))
            if seen is not None:
                seen(shots, model)
        return out

    def report_head(self, title, intro):
        """:func:`report_head` of a run that began when these tables were loaded."""
        return report_head(title, intro, self.start)

    def write_report(self, stem, title, intro, leading, trailing, lines):
        """Write ``benchmarks/results/<stem>.md``: :meth:`report_head`, then one table whose columns
        are ``leading`` (names), one per shot count and ``trailing`` (a name); ``lines`` are its
        rows, already in markdown."""
        columns = [*leading, *(f"{s} per class" for s in sorted(self.shots)), trailing]
        write_report(REPO / "benchmarks" / "results", f"{stem}.md", self.report_head(title, intro) + [
            "| " + " | ".join(columns) + " |",
            "|" + "---|" * len(leading) + "---:|" * len(self.shots) + "---|", *lines])


def report_head(title, intro, start):
    """A report's first lines: title, ``intro``, the command, the machine, when it was written and
    how long since ``start`` (a ``time.time()``)."""
    import datetime

    return [f"# {title}", "", intro, "", f"Command: `{command_line()}`", "", *machine_lines(),
            f"- written {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, "
            f"{(time.time() - start) / 60:.1f} min", ""]


def mean_std_cells(scores):
    """``"mean ± std"`` (ddof 1) per shot count of :meth:`FewShotTables.score`'s output, in shot order."""
    import numpy as np

    return [f"{np.mean(scores[s]):.1f} ± {np.std(scores[s], ddof=1):.1f}" for s in sorted(scores)]
