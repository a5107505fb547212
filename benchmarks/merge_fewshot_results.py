"""Replace some methods' rows of a few-shot report with those of another run, and rewrite the report.

    python benchmarks/merge_fewshot_results.py REPORT_DIR OTHER_RUN_DIR --methods b

Used when one method is re-run alone (e.g. after a change to it); the command lines of both runs
are kept in the report.
"""

import argparse
from pathlib import Path

import pandas as pd

from astromer.evaluation import write_report


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report")
    parser.add_argument("other")
    parser.add_argument("--methods", required=True, help="comma list of the methods to take from OTHER")
    parser.add_argument("--title", default=None)
    args = parser.parse_args()
    methods = args.methods.split(",")
    base = pd.read_csv(Path(args.report) / "results.csv")
    other = pd.read_csv(Path(args.other) / "results.csv")
    merged = pd.concat([base[~base["method"].isin(methods)], other[other["method"].isin(methods)]])

    def command_of(folder):
        text = (Path(folder) / "results.md").read_text()
        return text.split("```", 2)[1].strip()

    command = f"{command_of(args.report)}\n# methods {args.methods} re-run with:\n{command_of(args.other)}"
    title = args.title or (Path(args.report) / "results.md").read_text().splitlines()[0].lstrip("# ")
    write_report(merged, args.report, command, title=title)
    print((Path(args.report) / "results.md").read_text())


if __name__ == "__main__":
    main()
