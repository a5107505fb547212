"""Figures of results: training curves, embedding maps and few-shot scores."""

from __future__ import annotations

import numpy as np

from astromer.plot._figure import class_colours, finish, new_figure

METRIC_NAMES = {"loss": "loss", "r2": "R²", "accuracy": "accuracy"}


def _history_frame(history):
    import pandas as pd

    if hasattr(history, "history"):
        history = history.history
    frame = pd.DataFrame(history)
    if frame.empty:
        raise ValueError("the training history is empty")
    if "epoch" in frame.columns:
        frame = frame.set_index("epoch")
    else:
        frame.index = np.arange(1, len(frame) + 1)
    return frame


def training_history(history, *, title="Training", path=None):
    """Loss and metrics per epoch, training (solid) and validation (dashed), one panel each.

    ``history``: a ``keras.callbacks.History``, its ``.history`` dict, or a DataFrame
    (one row per epoch; an ``epoch`` column is used as the x axis when present).
    """
    frame = _history_frame(history)
    names = [c for c in frame.columns if not str(c).startswith("val_") and c not in ("learning_rate", "seconds")]
    if not names:
        names = [str(c)[4:] for c in frame.columns if str(c).startswith("val_")]
    fig, axes = new_figure(1, len(names), figsize=(4.2 * len(names), 3.4), squeeze=False)
    for ax, name in zip(axes[0], names):
        if name in frame.columns:
            ax.plot(frame.index, frame[name], "-o", ms=3, label="training")
        if f"val_{name}" in frame.columns:
            ax.plot(frame.index, frame[f"val_{name}"], "--s", ms=3, label="validation")
        if name == "r2":  # the first epochs can be far below 0; keep the useful range readable
            values = frame[[c for c in (name, f"val_{name}") if c in frame.columns]].to_numpy(dtype=float)
            low = float(np.nanmin(values[len(values) // 4:])) if len(values) > 3 else float(np.nanmin(values))
            ax.set_ylim(max(min(low, 0.0), -1.0) - 0.05, 1.0)
        ax.set_xlabel("epoch")
        ax.set_ylabel(METRIC_NAMES.get(name, name))
        ax.grid(alpha=0.25)
        ax.legend(fontsize=8)
        ax.set_title(METRIC_NAMES.get(name, name), fontsize=10)
    fig.suptitle(title)
    return finish(fig, path)


def project(embeddings, method="pca", seed=0):
    """2-D projection of ``(N, d)`` embeddings: ``"pca"`` or ``"tsne"`` (scikit-learn)."""
    x = np.asarray(embeddings, dtype=np.float64)
    if x.ndim != 2 or len(x) < 3:
        raise ValueError(f"embeddings must be (N >= 3, d); got shape {x.shape}")
    x = (x - x.mean(0)) / (x.std(0) + 1e-8)
    if method == "pca":
        from sklearn.decomposition import PCA

        return PCA(n_components=2, random_state=seed).fit_transform(x)
    if method == "tsne":
        from sklearn.decomposition import PCA
        from sklearn.manifold import TSNE

        x = PCA(n_components=min(30, x.shape[1], len(x)), random_state=seed).fit_transform(x)
        perplexity = float(min(30.0, max(2.0, (len(x) - 1) / 3)))
        return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(x)
    raise ValueError(f"method must be 'pca' or 'tsne', got {method!r}")


def embedding_projection(embeddings, labels=None, *, method="pca", seed=0, title=None, ax=None, path=None):
    """Embeddings ``(N, d)`` projected to 2-D (``method`` ``"pca"`` or ``"tsne"``), coloured by
    ``labels`` (class names, one per row; legend with counts)."""
    xy = project(embeddings, method, seed)
    fig = None
    if ax is None:
        fig, ax = new_figure(figsize=(6.8, 5.2))
    if labels is None:
        ax.scatter(xy[:, 0], xy[:, 1], s=8, alpha=0.7)
    else:
        labels = np.asarray([str(v) for v in labels])
        names = sorted(set(labels))
        colours = class_colours(names)
        for name in names:
            sel = labels == name
            ax.scatter(xy[sel, 0], xy[sel, 1], s=9, alpha=0.75, color=colours[name],
                       label=f"{name} ({int(sel.sum())})")
        ax.legend(fontsize=8, markerscale=1.8, loc="best", framealpha=0.8)
    axis = "PC" if method == "pca" else "t-SNE "
    ax.set_xlabel(f"{axis}1")
    ax.set_ylabel(f"{axis}2")
    ax.grid(alpha=0.2)
    ax.set_title(title or f"Embeddings ({'PCA' if method == 'pca' else 't-SNE'}, {len(xy)} objects)", fontsize=11)
    return finish(fig if fig is not None else ax.figure, path)


def fewshot_scores(results, *, level="object", title="Few-shot classification", path=None):
    """Macro F1 and accuracy per method (bars: mean over folds, error bars: std), one group per
    number of labelled samples per class. ``results``: the per-split DataFrame of
    :class:`astromer.evaluation.FewShotEvaluation` (or its ``summarise`` output)."""
    from astromer.evaluation import METHOD_NAMES, summarise

    summary = summarise(results, level) if "level" in results.columns else results
    shots = sorted(summary["shots"].unique())
    methods = list(dict.fromkeys(summary["method"]))
    fig, axes = new_figure(1, 2, figsize=(10, 3.8), squeeze=False)
    width = 0.8 / max(len(methods), 1)
    colours = class_colours(methods)
    for ax, metric, label in zip(axes[0], ("macro_f1", "accuracy"), ("macro F1 (%)", "accuracy (%)")):
        for j, method in enumerate(methods):
            rows = summary[summary["method"] == method].set_index("shots").reindex(shots)
            pos = np.arange(len(shots)) + (j - (len(methods) - 1) / 2) * width
            mean = 100 * rows[f"{metric}_mean"].to_numpy(dtype=float)
            std = 100 * np.nan_to_num(rows[f"{metric}_std"].to_numpy(dtype=float))
            bars = ax.bar(pos, mean, width * 0.92, yerr=std, capsize=3, color=colours[method],
                          label=METHOD_NAMES.get(method, method))
            ax.bar_label(bars, labels=[f"{v:.0f}" if np.isfinite(v) else "" for v in mean], fontsize=7,
                         padding=2)
        ax.set_xticks(np.arange(len(shots)), [f"{s} per class" for s in shots])
        ax.set_ylabel(label)
        ax.set_ylim(0, 105)
        ax.grid(axis="y", alpha=0.25)
    axes[0][0].legend(fontsize=7, loc="lower left")
    axes[0][0].set_title("macro F1 (per object)", fontsize=10)
    axes[0][1].set_title("accuracy (per object)", fontsize=10)
    fig.suptitle(title)
    return finish(fig, path)


def f1_vs_shots(summary, *, title="Few-shot classification", path=None):
    """Macro F1 against labelled samples per class, one line per method (mean ± std over folds).
    ``summary``: :func:`astromer.evaluation.summarise` output (or the per-split results)."""
    import matplotlib.ticker

    from astromer.evaluation import METHOD_NAMES, summarise

    summary = summarise(summary) if "level" in summary.columns else summary
    fig, ax = new_figure(figsize=(6.5, 4.2))
    for method, rows in summary.groupby("method", sort=False):
        rows = rows.sort_values("shots")
        ax.errorbar(rows["shots"], 100 * rows["macro_f1_mean"], yerr=100 * np.nan_to_num(rows["macro_f1_std"]),
                    marker="o", capsize=3, label=METHOD_NAMES.get(method, method))
    ax.set_xscale("log")
    ax.set_xticks(sorted(summary["shots"].unique()))
    ax.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
    ax.get_xaxis().set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("labelled samples per class")
    ax.set_ylabel("macro F1 (%), per object")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return finish(fig, path)


def probe_scores(summary, *, title="Linear probe", path=None):
    """Linear-probe scores per method (bars: mean over seeds, error bars: std over seeds), from
    :func:`astromer.evaluation.probe.summarise_probe`: macro F1 and accuracy for a class target,
    R^2 and RMSE for a numeric one."""
    task = summary["task"].iloc[0]
    metrics = (("macro_f1", "macro F1 (%)", 100), ("accuracy", "accuracy (%)", 100)) if task == "classification" \
        else (("r2", "R²", 1), ("rmse", "RMSE", 1))
    methods = list(summary["method"])
    colours = class_colours(methods)
    fig, axes = new_figure(1, 2, figsize=(10, 0.9 + 0.45 * len(methods)), squeeze=False)
    for ax, (metric, label, scale) in zip(axes[0], metrics):
        mean = scale * summary[f"{metric}_mean"].to_numpy(dtype=float)
        std = scale * np.nan_to_num(summary[f"{metric}_std"].to_numpy(dtype=float))
        pos = np.arange(len(methods))[::-1]
        bars = ax.barh(pos, mean, xerr=std, capsize=3, color=[colours[m] for m in methods])
        ax.bar_label(bars, labels=[f"{v:.1f}" if scale == 100 else f"{v:.3f}" for v in mean], fontsize=7, padding=3)
        ax.set_yticks(pos, methods, fontsize=8)
        ax.set_xlabel(label)
        ax.grid(axis="x", alpha=0.25)
    axes[0][1].set_yticks([])
    fig.suptitle(title)
    return finish(fig, path)
