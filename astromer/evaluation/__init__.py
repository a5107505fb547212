"""Evaluation harness: the few-shot protocol for Astromer scenarios and baselines."""

from astromer.evaluation.fewshot import FewShotEvaluation, fewshot_splits
from astromer.evaluation.labelled import LabelledSet, load_labelled_folder
from astromer.evaluation.methods import FAMILIES, METHOD_FAMILY, METHOD_NAMES, METHODS, SUMMARY_COLUMNS
from astromer.evaluation.report import PREDICTION_COLUMNS, read_predictions, summarise, write_report

__all__ = ["FAMILIES", "METHODS", "METHOD_FAMILY", "METHOD_NAMES", "SUMMARY_COLUMNS", "FewShotEvaluation",
           "LabelledSet", "PREDICTION_COLUMNS", "fewshot_splits", "load_labelled_folder", "read_predictions",
           "summarise", "write_report"]
