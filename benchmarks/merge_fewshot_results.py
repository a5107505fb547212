"""Replace some methods' rows of a few-shot report with those of another run, and rewrite the report.

    python benchmarks/merge_fewshot_results.py REPORT_DIR OTHER_RUN_DIR --methods b

Used when one method is re-run alone (e.g. after a change to it); the command lines of both runs
are kept in the report. Rows are only comparable when both runs drew the same folds: the
split signatures (``split_sha``) of each (shots, fold) are compared, and a merge of runs whose
folds differ, or that cannot be compared (results written before the signatures were recorded),
is refused unless ``--allow-different-folds`` is given, which then says so in the report.
"""

import argparse
from pathlib import Path

import pandas as pd

from astromer import plot
from astromer.evaluation import read_predictions, write_report


def fold_mismatch(base, other):
    """Lines naming each (shots, fold) whose split signature differs between the two tables (or
    cannot be checked)."""
    if "split_sha" not in base.columns or "split_sha" not in other.columns:
        return ["one of the runs has no split_sha column (written before the folds were recorded)"]
    a = base.groupby(["shots", "fold"])["split_sha"].agg(lambda s: set(s.dropna()))
    b = other.groupby(["shots", "fold"])["split_sha"].agg(lambda s: set(s.dropna()))
    return [f"{shots} per class, fold {fold}: {sorted(a[(shots, fold)])} vs {sorted(b[(shots, fold)])}"
            for shots, fold in sorted(set(a.index) & set(b.index)) if a[(shots, fold)] != b[(shots, fold)]]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report")
    parser.add_argument("other")
    parser.add_argument("--methods", required=True, help="comma list of the methods to take from OTHER")
    parser.add_argument("--title", default=None)
    parser.add_argument("--allow-different-folds", action="store_true",
                        help="merge even when the two runs' folds differ or cannot be compared (noted in the report)")
    args = parser.parse_args()
    methods = args.methods.split(",")
    base = pd.read_csv(Path(args.report) / "results.csv")
    other = pd.read_csv(Path(args.other) / "results.csv")
    mismatch = fold_mismatch(base, other)
    if mismatch and not args.allow_different_folds:
        parser.error("the two runs' folds differ or cannot be compared:\n  " + "\n  ".join(mismatch)
                     + "\n(--allow-different-folds merges anyway and says so in the report)")
    merged = pd.concat([base[~base["method"].isin(methods)], other[other["method"].isin(methods)]])

    def command_of(folder):
        text = (Path(folder) / "results.md").read_text()
        return text.split("```", 2)[1].strip()

    command = f"{command_of(args.report)}\n# methods {args.methods} re-run with:\n{command_of(args.other)}"
    def machine_of(folder):
        lines = [line for line in (Path(folder) / "results.md").read_text().splitlines()
                 if line.startswith("Machine: ")]
        return lines[0][len("Machine: "):].split(". Report written")[0] if lines else "not recorded"

    machine = f"report run: {machine_of(args.report)}; methods {args.methods}: {machine_of(args.other)}"
    title = args.title or (Path(args.report) / "results.md").read_text().splitlines()[0].lstrip("# ")
    notes = None
    if mismatch:
        notes = ["Warning: merged from runs whose folds differ or cannot be compared "
                 f"(methods {args.methods} come from the other run):", ""] + [f"- {m}" for m in mismatch]
    # predictions.csv (runs written before it existed have none): the same methods from each run
    base_p, other_p = read_predictions(args.report), read_predictions(args.other)
    predictions = pd.concat([base_p[~base_p["method"].isin(methods)], other_p[other_p["method"].isin(methods)]],
                            ignore_index=True)
    write_report(merged, args.report, command, title=title, notes=notes, machine=machine, figure=plot.f1_vs_shots,
                 predictions=predictions if len(predictions) else None)
    print((Path(args.report) / "results.md").read_text())


if __name__ == "__main__":
    main()
