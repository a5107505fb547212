"""Few-shot reports: summary tables, the real counts per split, what training did, machine and plot."""

import json
import os
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from astromer.evaluation.methods import METHOD_FAMILY, METHOD_NAMES, METHODS, SUMMARY_COLUMNS


PREDICTIONS_FILE = "predictions.csv"
PREDICTION_COLUMNS = ("method", "shots", "fold", "object_id", "true_class", "predicted_class")


def read_predictions(folder, keep=None):
    """``folder/predictions.csv`` (object ids and class names as text, exactly as written), only the
    rows of the (method, shots, fold) in ``keep`` when given; an empty frame when there is none."""
    path = Path(folder) / PREDICTIONS_FILE
    if not path.is_file():
        return pd.DataFrame(columns=PREDICTION_COLUMNS)
    table = pd.read_csv(path, dtype={"object_id": str, "true_class": str, "predicted_class": str, "method": str},
                        keep_default_na=False)
    missing = sorted(set(PREDICTION_COLUMNS) - set(table.columns))
    if missing:
        raise ValueError(f"{path} has no column(s) {missing}; it was not written by astromer evaluate")
    if keep is not None:
        mine = [(m, int(n), int(f)) in keep for m, n, f in table[["method", "shots", "fold"]].itertuples(index=False)]
        table = table[np.asarray(mine, dtype=bool)]
    return table.reset_index(drop=True)


def confusion_markdown(predictions, summary):
    """For each number of shots, the confusion matrix of the method with the best mean macro F1
    (test objects, summed over its folds; rows: true class, columns: predicted), with the recall."""
    from sklearn.metrics import confusion_matrix

    if predictions is None or len(predictions) == 0:
        return ""
    classes = sorted(set(predictions["true_class"]) | set(predictions["predicted_class"]))
    text = []
    for shots, rows in summary.groupby("shots"):
        have = rows[rows["method"].isin(set(predictions.loc[predictions["shots"] == shots, "method"]))]
        if have.empty:
            continue
        best = have.sort_values("macro_f1_mean", ascending=False, kind="stable").iloc[0]
        mine = predictions[(predictions["shots"] == shots) & (predictions["method"] == best["method"])]
        matrix = confusion_matrix(mine["true_class"], mine["predicted_class"], labels=classes)
        folds = mine["fold"].nunique()
        text += [f"{int(shots)} per class, {METHOD_NAMES.get(best['method'], best['method'])} "
                 f"(`{best['method']}`, the best macro F1; {folds} fold{'s' * (folds != 1)} summed):", "",
                 "| true class → predicted | " + " | ".join(classes) + " | recall |",
                 "|---|" + "---|" * (len(classes) + 1)]
        for name, counts in zip(classes, matrix):
            recall = f"{100 * counts[classes.index(name)] / counts.sum():.0f}%" if counts.sum() else ""
            text.append(f"| {name} | " + " | ".join(str(int(c)) for c in counts) + f" | {recall} |")
        text.append("")
    return "\n".join(text).rstrip()


def summarise(results, level="object"):
    """Per method (in :data:`METHODS` order) and shots: mean and std over folds of macro F1 and accuracy, the method's
    family, the smallest training count of any class in any fold (``min_train_per_class``:
    NaN for results written before it was recorded), the number of folds and the mean
    seconds per split. Columns :data:`SUMMARY_COLUMNS`."""
    table = results[results["level"] == level].copy()
    family = table["method"].map(METHOD_FAMILY)
    table["family"] = table["family"].fillna(family) if "family" in table.columns else family
    for column in ("min_train_per_class", "seconds", "fold"):
        if column not in table.columns:
            table[column] = np.nan
    grouped = table.groupby(["method", "shots"]).agg(
        family=("family", "first"), macro_f1_mean=("macro_f1", "mean"), macro_f1_std=("macro_f1", "std"),
        accuracy_mean=("accuracy", "mean"), accuracy_std=("accuracy", "std"),
        min_train_per_class=("min_train_per_class", "min"), folds=("fold", "nunique"),
        seconds_mean=("seconds", "mean"))
    summary = grouped.reset_index()
    order = {m: i for i, m in enumerate(METHODS)}
    summary = summary.sort_values(["method", "shots"], key=lambda c: c.map(order).fillna(len(order))
                                  if c.name == "method" else c, kind="stable").reset_index(drop=True)
    summary["min_train_per_class"] = summary["min_train_per_class"].astype("Int64") \
        if summary["min_train_per_class"].notna().all() else summary["min_train_per_class"]
    return summary[list(SUMMARY_COLUMNS)]


def to_markdown(summary):
    lines = ["| method | samples per class | macro F1 | accuracy | min. train per class |", "|---|---|---|---|---|"]
    for _, r in summary.iterrows():
        low = r.get("min_train_per_class", np.nan)
        low = "" if pd.isna(low) else str(int(low))
        lines.append(f"| {METHOD_NAMES.get(r['method'], r['method'])} | {int(r['shots'])} | "
                     f"{100 * r['macro_f1_mean']:.1f} ± {100 * np.nan_to_num(r['macro_f1_std']):.1f} | "
                     f"{100 * r['accuracy_mean']:.1f} ± {100 * np.nan_to_num(r['accuracy_std']):.1f} | {low} |")
    return "\n".join(lines)


def counts_markdown(results):
    """The real objects per class of every (shots, fold) split, from the rows' recorded counts
    (training and validation as the first method listed used them; the test set)."""
    if "train_per_class" not in results.columns:
        return ""
    rows = results[(results["level"] == "object") & results["train_per_class"].notna()]
    if rows.empty:
        return ""
    lines = ["| samples per class | fold | training per class | validation per class | test per class |",
             "|---|---|---|---|---|"]
    for (shots, fold), group in rows.groupby(["shots", "fold"]):
        first = group.iloc[0]
        val = group.loc[group["uses_validation"].astype(bool), "val_per_class"] \
            if "uses_validation" in group.columns else group["val_per_class"]
        train_texts = sorted(set(group["train_per_class"]))
        train = "; ".join(_plain_counts(t) for t in train_texts)
        lines.append(f"| {int(shots)} | {int(fold)} | {train} | "
                     f"{_plain_counts(val.iloc[0]) if len(val) else 'not used'} | "
                     f"{_plain_counts(first['test_per_class'])} |")
    return "\n".join(lines)


def training_markdown(results):
    """What the trained methods did, per method and shots, from the rows' recorded columns: the
    epoch scenario b kept (``selected_epoch``, 0 = its start, scenario a's head) and the reconstruction
    fine-tuning of scenario c (epochs run, held-out masked R² at the start and best, the epoch kept)."""
    rows = results[results["level"] == "object"]
    lines = []
    if "selected_epoch" in rows.columns:
        for (method, shots), group in rows.dropna(subset=["selected_epoch"]).groupby(["method", "shots"]):
            kept = ", ".join(str(int(e)) for e in group.sort_values("fold")["selected_epoch"])
            lines.append(f"- {METHOD_NAMES.get(method, method)}, {int(shots)} per class: epoch kept per fold "
                         f"{kept} (0 = the start, scenario a's head: fine-tuning did not beat it on validation)")
    if "reconstruction_val_r2_start" in rows.columns:
        recon = rows.dropna(subset=["reconstruction_epochs", "reconstruction_val_r2_start"])
        for (epochs, start, best, kept), group in recon.groupby(
                ["reconstruction_epochs", "reconstruction_val_r2_start", "reconstruction_val_r2_best",
                 "reconstruction_kept_epoch"]):
            methods = ", ".join(sorted({METHOD_NAMES.get(m, m) for m in group["method"]}))
            outcome = ("no epoch beat the pretrained start, so the encoder was kept as it was" if int(kept) == 0
                       else f"epoch {int(kept)} kept")
            lines.append(f"- {methods}: reconstruction fine-tuning ran {int(epochs)} epochs, held-out masked "
                         f"R² {start:.3f} at the start, {best:.3f} best; {outcome}")
    elif "reconstruction_val_r2_first" in rows.columns:  # results written before the start was scored
        recon = rows.dropna(subset=["reconstruction_epochs"])
        for (epochs, first, best), group in recon.groupby(
                ["reconstruction_epochs", "reconstruction_val_r2_first", "reconstruction_val_r2_best"]):
            methods = ", ".join(sorted({METHOD_NAMES.get(m, m) for m in group["method"]}))
            lines.append(f"- {methods}: reconstruction fine-tuning ran {int(epochs)} epochs, held-out masked "
                         f"R² {first:.3f} after the first, {best:.3f} best (kept)")
    return "\n".join(lines)


def _plain_counts(text):
    try:
        return ", ".join(f"{k} {v}" for k, v in json.loads(text).items())
    except (TypeError, ValueError):
        return str(text)


def machine_description():
    """CPU model and count, platform and library versions, for a report."""
    import platform

    import sklearn

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    versions = [f"Python {platform.python_version()}", f"numpy {np.__version__}", f"scikit-learn {sklearn.__version__}",
                f"keras {keras.__version__} ({keras.backend.backend()})"]
    try:
        import light_curve

        versions.append(f"light-curve {light_curve.__version__}")
    except ImportError:
        pass
    return f"{cpu}, {cores} cores available, {platform.system()} {platform.release()}; " + ", ".join(versions)


def write_report(results, output_dir, command, title="Few-shot classification", notes=None, machine=None,
                 figure=None, predictions=None):
    """results.csv (per split), summary.csv and results.md (with the command, the machine, the date,
    the real objects per class of every split and ``notes``). ``machine``: where the results were
    computed (default: this machine, :func:`machine_description`). ``figure``: a function
    ``figure(summary, path=..., title=...)`` drawing f1_vs_shots.png (the CLI passes
    :func:`astromer.plot.f1_vs_shots`; figures live in :mod:`astromer.plot`). ``predictions``: the
    per-object predictions (:meth:`FewShotEvaluation.predictions_frame`), written to
    predictions.csv; results.md then shows the best method's confusion matrix at each number of
    shots. Every file is written atomically."""
    import datetime

    from astromer.io import atomic_path, atomic_write_text

    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "results.csv") as tmp:
        results.to_csv(tmp, index=False)
    summary = summarise(results)
    with atomic_path(out / "summary.csv") as tmp:
        summary.to_csv(tmp, index=False)
    if predictions is not None:
        with atomic_path(out / PREDICTIONS_FILE) as tmp:
            predictions.to_csv(tmp, index=False)
    if figure is not None:
        figure(summary, path=out / "f1_vs_shots.png", title=title)
    window = summarise(results, level="window")
    date = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    text = [f"# {title}", "", "Command:", "", "```", command, "```", "",
            f"Machine: {machine or machine_description()}. Report written {date}.", ""]
    if notes:
        text += [str(n) for n in ([notes] if isinstance(notes, str) else notes)] + [""]
    text += ["## Per object (test set)", "", "Macro F1 and accuracy in %, mean ± std over folds; min. train per "
             "class: the fewest training objects of any class in any fold.", "", to_markdown(summary), ""]
    if "feature_seconds" in results.columns:
        timing = results.dropna(subset=["feature_seconds"]).groupby("method").agg(
            features=("feature_seconds", "first"), fit=("seconds", "mean"), splits=("seconds", "size"))
        if len(timing):
            text += ["Time: feature extraction once per run (shared by the methods on the same features), "
                     "then fit + predict per split:", ""]
            text += [f"- {METHOD_NAMES.get(m, m)}: features {r['features']:.1f} s, {r['fit']:.1f} s per split "
                     f"({int(r['splits'])} splits)" for m, r in timing.iterrows()] + [""]
    counts = counts_markdown(results)
    if counts:
        text += ["## Objects per class in each split", "", "Real counts, as recorded in results.csv "
                 "(a class with fewer pool objects than shots + validation gives training all it has first).",
                 "", counts, ""]
    training = training_markdown(results)
    if training:
        text += ["## What training did", "", training, ""]
    confusion = confusion_markdown(predictions, summary)
    if confusion:
        text += ["## Confusion matrices (test objects)", "", f"Every prediction is in {PREDICTIONS_FILE}.", "",
                 confusion, ""]
    if len(window):
        text += ["## Per window (for comparison with the papers)", "", to_markdown(window), ""]
    atomic_write_text(out / "results.md", "\n".join(text))
    return out
