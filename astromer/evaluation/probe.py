"""The linear-probe protocol (astroPT's: k-fold linear models on frozen embeddings), for any
target: classification (any number of classes, two included) or regression.

For every seed, the objects are split into ``folds`` folds (stratified for classes, shuffled with
the seed); on each training fold a scikit-learn pipeline ``[PCA] -> StandardScaler -> linear``
chooses its regularisation by an inner cross-validation and is scored on the held-out fold:

- classification: logistic regression (class-balanced), ``C`` in :data:`PROBE_CS` chosen by macro
  F1 over the inner folds (``LogisticRegressionCV``, warm-started along the C path, with a callable
  macro-F1 scorer: scikit-learn 1.9's ``scoring="f1_macro"`` string fails there on two classes);
  scores macro F1 and accuracy;
- regression: ``RidgeCV`` (``alpha`` in :data:`PROBE_ALPHAS`, efficient leave-one-out); scores
  R^2 and RMSE.

Feature sets are arrays, or callables ``seed -> array`` for those that change with the seed (a
random-init network drawn with that seed). Each row of the result records the fold sizes and the
chosen regularisation, with ``at_edge`` when it is the end of the grid (widen the grid then).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

PROBE_CS = tuple(float(c) for c in np.logspace(-4, 4, 9))
PROBE_ALPHAS = tuple(float(a) for a in np.logspace(-3, 5, 9))
TASKS = ("classification", "regression")


def target_task(values) -> str:
    """``"regression"`` for a numeric column with many distinct values, else ``"classification"``."""
    s = pd.Series(values).dropna()
    numeric = pd.to_numeric(s, errors="coerce")
    if len(s) and numeric.notna().all() and (numeric.nunique() > 20 or (numeric % 1 != 0).any()):
        return "regression"
    return "classification"


def _pipeline(task, seed, inner_folds, cs, alphas, y):
    from sklearn.linear_model import LogisticRegressionCV, RidgeCV
    from sklearn.metrics import f1_score, make_scorer
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    steps = [StandardScaler()]
    if task == "regression":
        return make_pipeline(*steps, RidgeCV(alphas=list(alphas)))
    smallest = int(pd.Series(y).value_counts().min())
    folds = StratifiedKFold(max(2, min(inner_folds, smallest)), shuffle=True, random_state=seed)
    # The C path with warm starts (LogisticRegressionCV) is several times faster than a grid search
    # of independent fits at the weakly regularised end; a callable scorer, because scikit-learn
    # 1.9's scoring="f1_macro" string fails on two classes there.
    scorer = make_scorer(f1_score, average="macro")
    return make_pipeline(*steps, LogisticRegressionCV(Cs=list(cs), cv=folds, scoring=scorer, class_weight="balanced",
                                                      max_iter=2000, tol=1e-4))


def _scores(task, y_true, y_pred):
    from sklearn.metrics import accuracy_score, f1_score, mean_squared_error, r2_score

    if task == "regression":
        return {"r2": float(r2_score(y_true, y_pred)), "rmse": float(np.sqrt(mean_squared_error(y_true, y_pred)))}
    return {"macro_f1": float(f1_score(y_true, y_pred, average="macro")),
            "accuracy": float(accuracy_score(y_true, y_pred))}


def _chosen(task, fitted, cs, alphas):
    if task == "regression":
        value, grid = float(fitted[-1].alpha_), alphas
    else:
        value, grid = float(np.ravel(fitted[-1].C_)[0]), cs
    return value, bool(np.isclose(value, min(grid)) or np.isclose(value, max(grid)))


def linear_probe(features, target, *, task="auto", seeds=(0, 1, 2), folds=5, inner_folds=3, pca=None,
                 families=None, cs=PROBE_CS, alphas=PROBE_ALPHAS, progress=None):
    """Run the protocol (module docstring) on every feature set; returns one row per (method,
    seed, fold) as a DataFrame.

    Args:
        features: ``{method name: (N, d) array or callable seed -> (N, d) array}``.
        target: N labels (classification) or numbers (regression); NaN/None rows are left out
            of every method (counted in ``n_unlabelled``).
        task: ``"classification"``, ``"regression"`` or ``"auto"`` (:func:`target_task`).
        pca: ``{method: components}``: PCA fitted on each training fold first (a raw-pixel baseline;
            fitted once per fold, before the inner search of the regularisation).
        families: ``{method: family}`` recorded in each row (e.g. pretrained / random_init / pixels).
        progress: a callable taking one line of text, called after every method and seed.
    """
    from sklearn.model_selection import KFold, StratifiedKFold

    target = pd.Series(list(target))
    known = target.notna().to_numpy() & (target.astype(str).str.strip() != "").to_numpy()
    if task == "auto":
        task = target_task(target[known])
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS} or 'auto', got {task!r}")
    y = target[known].to_numpy()
    if task == "regression":
        y = pd.to_numeric(pd.Series(y), errors="coerce").to_numpy(dtype=np.float64)
        if not np.isfinite(y).all():
            raise ValueError("a regression target must be numbers; found non-numeric or infinite values")
    else:
        y = np.asarray([str(v) for v in y])
        counts = pd.Series(y).value_counts()
        if len(counts) < 2:
            raise ValueError(f"a classification probe needs at least 2 classes; the target has {len(counts)}")
        if counts.min() < folds:
            raise ValueError(f"class {counts.idxmin()!r} has {int(counts.min())} objects, fewer than the "
                             f"{folds} folds; use fewer --folds or drop the class")
        # integer codes: LogisticRegressionCV(class_weight="balanced") in scikit-learn 1.9 fails on
        # numeric-looking string labels ("0", "1": "The classes, [0, 1], are not in class_weight")
        y = np.unique(y, return_inverse=True)[1]
    if len(y) < folds:
        raise ValueError(f"{len(y)} labelled objects for {folds} folds")
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("give at least one seed")
    rows = []
    for method, source in features.items():
        for seed in seeds:
            start = time.time()
            x = np.asarray(source(seed) if callable(source) else source, dtype=np.float64)
            if x.ndim != 2 or len(x) != len(target):
                raise ValueError(f"features {method!r} must be ({len(target)}, d), got shape {x.shape}")
            if not np.isfinite(x).all():
                raise ValueError(f"features {method!r} hold NaN or infinite values")
            x = x[known]
            splitter = (KFold(folds, shuffle=True, random_state=seed) if task == "regression"
                        else StratifiedKFold(folds, shuffle=True, random_state=seed))
            for fold, (tr, te) in enumerate(splitter.split(x, y)):
                n_pca = (pca or {}).get(method)
                x_tr, x_te = x[tr], x[te]
                if n_pca:  # fitted once on the training fold (not per inner split: PCA of pixels is slow)
                    from sklearn.decomposition import PCA

                    n_pca = int(max(1, min(n_pca, len(tr) - 1, x.shape[1])))
                    reducer = PCA(n_components=n_pca, svd_solver="randomized", random_state=seed).fit(x_tr)
                    x_tr, x_te = reducer.transform(x_tr), reducer.transform(x_te)
                model = _pipeline(task, seed, inner_folds, cs, alphas, y[tr])
                model.fit(x_tr, y[tr])
                value, edge = _chosen(task, model, cs, alphas)
                rows.append({"method": method, "family": (families or {}).get(method, ""), "task": task,
                             "seed": seed, "fold": fold, "n_train": len(tr), "n_test": len(te),
                             "n_unlabelled": int((~known).sum()), "dim": int(x.shape[1]),
                             "pca": n_pca or 0, **_scores(task, y[te], model.predict(x_te)),
                             "regularisation": value, "at_edge": edge})
            if progress is not None:
                last = [r for r in rows if r["method"] == method and r["seed"] == seed]
                key = "macro_f1" if task == "classification" else "r2"
                progress(f"{method}, seed {seed}: {key} {np.mean([r[key] for r in last]):.3f} over {folds} folds "
                         f"({time.time() - start:.0f} s)")
    return pd.DataFrame(rows)


def summarise_probe(results):
    """Per method: the metrics' mean and std over seeds (each seed's value is its mean over
    folds), the std over every (seed, fold), counts and how often the grid edge was chosen."""
    task = results["task"].iloc[0]
    metrics = ["macro_f1", "accuracy"] if task == "classification" else ["r2", "rmse"]
    per_seed = results.groupby(["method", "seed"], sort=False)[metrics].mean().reset_index()
    out = []
    for method, group in per_seed.groupby("method", sort=False):
        rows = results[results["method"] == method]
        row = {"method": method, "family": rows["family"].iloc[0], "task": task, "dim": int(rows["dim"].iloc[0])}
        for m in metrics:
            row[f"{m}_mean"] = float(group[m].mean())
            row[f"{m}_std"] = float(group[m].std(ddof=1)) if len(group) > 1 else float("nan")
            row[f"{m}_fold_std"] = float(rows[m].std(ddof=1)) if len(rows) > 1 else float("nan")
        row.update({"seeds": int(group["seed"].nunique()), "folds": int(rows["fold"].nunique()),
                    "n_train": int(rows["n_train"].median()), "n_test": int(rows["n_test"].median()),
                    "regularisation_median": float(rows["regularisation"].median()),
                    "at_edge_fraction": float(rows["at_edge"].mean())})
        out.append(row)
    return pd.DataFrame(out)


def paired_differences(results, reference):
    """Each method minus ``reference`` on the same (seed, fold) splits: mean and std of the
    difference of the main metric (macro F1 or R^2), and on how many splits it was ahead."""
    key = "macro_f1" if results["task"].iloc[0] == "classification" else "r2"
    ref = results[results["method"] == reference].set_index(["seed", "fold"])[key]
    out = []
    for method, group in results.groupby("method", sort=False):
        if method == reference:
            continue
        g = group.set_index(["seed", "fold"])[key]
        common = ref.index.intersection(g.index)
        d = (ref.loc[common] - g.loc[common]).to_numpy()
        out.append({"reference": reference, "method": method, "metric": key, "mean_difference": float(d.mean()),
                    "std_difference": float(d.std(ddof=1)) if len(d) > 1 else float("nan"),
                    "splits": int(len(d)), "reference_ahead": int((d > 0).sum())})
    return pd.DataFrame(out)


def probe_markdown(summary):
    task = summary["task"].iloc[0]
    if task == "classification":
        head = "| features | family | dim | macro F1 (%) | accuracy (%) | std over folds | median C | C at grid edge |"
        fmt = lambda r: (f"{100 * r['macro_f1_mean']:.1f} ± {100 * np.nan_to_num(r['macro_f1_std']):.1f} | "  # noqa: E731
                         f"{100 * r['accuracy_mean']:.1f} ± {100 * np.nan_to_num(r['accuracy_std']):.1f} | "
                         f"{100 * np.nan_to_num(r['macro_f1_fold_std']):.1f}")
    else:
        head = "| features | family | dim | R² | RMSE | R² std over folds | median alpha | alpha at grid edge |"
        fmt = lambda r: (f"{r['r2_mean']:.3f} ± {np.nan_to_num(r['r2_std']):.3f} | "  # noqa: E731
                         f"{r['rmse_mean']:.4g} ± {np.nan_to_num(r['rmse_std']):.2g} | {np.nan_to_num(r['r2_fold_std']):.3f}")
    lines = [head, "|---|---|---:|---:|---:|---:|---:|---:|"]
    for _, r in summary.iterrows():
        lines.append(f"| {r['method']} | {r['family']} | {r['dim']} | {fmt(r)} | {r['regularisation_median']:g} | "
                     f"{100 * r['at_edge_fraction']:.0f}% |")
    return "\n".join(lines)


def write_probe_report(results, output_dir, command, *, title="Linear probe", notes=None, reference=None,
                       machine=None, figure=None):
    """results.csv (one row per method, seed and fold), summary.csv, differences.csv (paired, vs
    ``reference``, default the first method), report.md (the command, the machine, the tables,
    ``notes``) and, with ``figure`` (a function ``figure(summary, title=...) -> Figure``; the CLI
    passes :func:`astromer.plot.probe_scores`, figures live in :mod:`astromer.plot`), probe.png;
    each written atomically."""
    import datetime

    from astromer.evaluation.report import machine_description
    from astromer.io import atomic_path, atomic_write_text

    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary = summarise_probe(results)
    reference = reference or summary["method"].iloc[0]
    diffs = paired_differences(results, reference)
    for name, frame in (("results.csv", results), ("summary.csv", summary), ("differences.csv", diffs)):
        atomic_write_text(out / name, frame.to_csv(index=False))
    if figure is not None:
        with atomic_path(out / "probe.png") as tmp:
            figure(summary, title=title).savefig(tmp, dpi=120, format="png")
    task = summary["task"].iloc[0]
    seeds, folds = int(summary["seeds"].max()), int(summary["folds"].max())
    date = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    text = [f"# {title}", "", "Command:", "", "```", command, "```", "",
            f"Machine: {machine or machine_description()}. Report written {date}.", ""]
    if notes:
        text += [str(n) for n in ([notes] if isinstance(notes, str) else notes)] + [""]
    unit = "macro F1 and accuracy in %" if task == "classification" else "R² and RMSE"
    text += [f"## Results ({task}; {folds}-fold cross-validation, {seeds} seeds)", "",
             f"{unit}: mean ± std over seeds (each seed: the mean over its {folds} held-out folds); "
             "'std over folds': over every (seed, fold). Training folds: median "
             f"{int(summary['n_train'].median())} objects, test folds {int(summary['n_test'].median())}.", "",
             probe_markdown(summary), ""]
    if len(diffs):
        metric = diffs["metric"].iloc[0]
        scale, unit = (100, " points") if metric == "macro_f1" else (1, "")
        text += [f"## {reference} minus each method, on the same splits", "",
                 f"| method | mean difference ({metric}) | std | ahead on |", "|---|---:|---:|---:|"]
        text += [f"| {r['method']} | {scale * r['mean_difference']:+.{1 if scale == 100 else 3}f}{unit} | "
                 f"{scale * np.nan_to_num(r['std_difference']):.{1 if scale == 100 else 3}f} | "
                 f"{r['reference_ahead']}/{r['splits']} splits |" for _, r in diffs.iterrows()] + [""]
    if figure is not None:
        text += ["![probe scores](probe.png)", ""]
    atomic_write_text(out / "report.md", "\n".join(text))
    return summary
