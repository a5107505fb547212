"""Does bfloat16 change what the embeddings are good for? Astromer 1 on EROS-1, float32 vs mixed_bfloat16.

The published ``astromer_v1`` weights embed the first ``--objects`` labelled EROS-1 objects (both
bands, pooled per object and band, the two bands side by side) once in float32 and once under
Keras' ``mixed_bfloat16`` policy (``astromer.presets.precision.with_dtype``). Reported: the cosine
similarity of every object's pooled embedding between the two, and the macro F1 of the package's
linear probe (``astromer.hybrid.embedding_probe``) in the same stratified ``--folds``-fold split
for both precisions, fold by fold. Accuracy only: speed is in ``astromer_vs_original.md``.

    python benchmarks/bf16_downstream.py       # writes benchmarks/results/bf16_downstream.md
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402


def main(argv=None):
    import numpy as np
    import pandas as pd
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedKFold

    import astromer
    from astromer.hybrid import embedding_probe
    from astromer.presets.precision import native_bf16, with_dtype

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--objects", type=int, default=1500)
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--data", type=Path, default=C.REPO.parent / "shared" / "data" / "eros1")
    p.add_argument("--results", type=Path, default=C.REPO / "benchmarks" / "results")
    args = p.parse_args(argv)
    lines = ["# bfloat16 vs float32 embeddings: Astromer 1 on EROS-1", "",
             f"Command: `{C.command_line()}` (commit {C.git_state()})", ""] + C.machine_lines()
    labels = pd.read_csv(args.data / "labels.csv", dtype={"object_id": str})
    labels = labels.sort_values("object_id").groupby("label", group_keys=False).apply(
        lambda g: g.head(args.objects // labels["label"].nunique()))
    curves = pd.read_csv(args.data / "lightcurves.csv.gz", dtype={"object_id": str, "band": str})
    curves = curves[curves["object_id"].isin(set(labels["object_id"]))]
    f32 = astromer.load_preset("astromer_v1", progress=False)
    models = {"float32": f32, "mixed_bfloat16": with_dtype(f32, "mixed_bfloat16")}
    vectors = {}
    for name, model in models.items():
        ids, x = model.embed(curves, verbose=0).object_vectors()
        vectors[name] = pd.DataFrame(x, index=ids).reindex(labels["object_id"]).to_numpy("float64")
    a, b = vectors["float32"], vectors["mixed_bfloat16"]
    cosine = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    y = labels["label"].to_numpy()
    rows = []
    for fold, (train, test) in enumerate(StratifiedKFold(args.folds, shuffle=True, random_state=0).split(a, y)):
        scores = {}
        for name, x in vectors.items():
            probe = embedding_probe(seed=0, y=y[train]).fit(x[train], y[train])
            scores[name] = f1_score(y[test], probe.predict(x[test]), average="macro")
        rows.append(scores)
    say = lines.append
    counts = labels["label"].value_counts().sort_index()
    say("")
    say(f"Objects: {len(labels)} ({', '.join(f'{k} {v}' for k, v in counts.items())}); "
        f"native bfloat16 here: {native_bf16()}.")
    say(f"Pooled-embedding cosine, bf16 vs float32: min {cosine.min():.5f}, median {np.median(cosine):.6f}.")
    say("")
    say("| fold | macro F1 float32 | macro F1 bf16 | difference |")
    say("|---:|---:|---:|---:|")
    for i, r in enumerate(rows):
        say(f"| {i + 1} | {100 * r['float32']:.1f} | {100 * r['mixed_bfloat16']:.1f} | "
            f"{100 * (r['mixed_bfloat16'] - r['float32']):+.1f} |")
    m32 = np.array([r["float32"] for r in rows]); m16 = np.array([r["mixed_bfloat16"] for r in rows])
    say(f"| mean ± std | {100 * m32.mean():.1f} ± {100 * m32.std():.1f} | {100 * m16.mean():.1f} ± "
        f"{100 * m16.std():.1f} | {100 * (m16 - m32).mean():+.1f} ± {100 * (m16 - m32).std():.1f} |")
    C.write_report(args.results, "bf16_downstream.md", lines, echo_last=len(rows) + 6)


if __name__ == "__main__":
    main()
