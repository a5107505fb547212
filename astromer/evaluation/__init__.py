"""Evaluation harness: the few-shot protocol for Astromer scenarios and baselines."""

from astromer.evaluation.fewshot import (
    METHODS,
    FewShotEvaluation,
    LabelledSet,
    fewshot_splits,
    load_labelled_folder,
    summarise,
    write_report,
)

__all__ = ["METHODS", "FewShotEvaluation", "LabelledSet", "fewshot_splits", "load_labelled_folder",
           "summarise", "write_report"]
