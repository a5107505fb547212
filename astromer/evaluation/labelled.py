"""A labelled survey for the few-shot harness: light curves, labels per object, the test/pool split."""

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

log = logging.getLogger("astromer.evaluate")


@dataclass
class LabelledSet:
    """Light curves in the long layout, labels per object, and the test/pool split."""

    table: pd.DataFrame
    labels: pd.Series  # object_id -> class name
    test_ids: list
    pool_ids: list
    class_names: list = field(default_factory=list)

    def __post_init__(self):
        if not self.class_names:
            self.class_names = sorted(self.labels.astype(str).unique())

    def keep_objects(self, usable):
        """Leave out of the test set and the training pool (in place) the labelled objects not in
        ``usable`` (those whose every observation the cleaning dropped), so that no shot is drawn
        on an object without data; returns how many were left out per class (logged)."""
        usable = set(usable)
        gone = [o for o in (*self.pool_ids, *self.test_ids) if o not in usable]
        if not gone:
            return {}
        counts = self.labels.loc[gone].value_counts().sort_index().to_dict()
        self.pool_ids[:] = [o for o in self.pool_ids if o in usable]
        self.test_ids[:] = [o for o in self.test_ids if o in usable]
        self.table = self.table[self.table["object_id"].isin(usable)]
        log.warning(f"{len(gone):,} labelled objects have no usable observation after cleaning and are left out "
                    f"of the training pool and the test set ({', '.join(f'{k} {v}' for k, v in counts.items())}; "
                    f"e.g. {sorted(map(str, gone))[:3]})")
        return counts


def load_labelled_folder(folder, label_column="label", split_column="split", test_fraction=0.2,
                         classes=None, seed=0, id_column="object_id"):
    """A labelled survey from a records folder or a folder with ``lightcurves.csv.gz``
    (or ``.csv``/``.parquet``) and ``labels.csv``, read by :mod:`astromer.tasks.inputs`.

    The test set is the ``split == "test"`` objects when the split column has
    such rows (records folders carry their splits), else a stratified
    ``test_fraction`` drawn with ``seed`` (:func:`astromer.tasks.splits.hold_out`).
    ``label_column``, ``split_column``, ``id_column``: the columns of ``labels.csv`` holding
    the class, the split and the object id. Labelled objects without curves are dropped and
    logged, and so are objects with curves but no label; classes not in ``classes`` are left out
    (a name that is not a class is an error).
    Labels and split values are read without surrounding spaces, split values in any case
    (``Test`` is ``test``). Labelled objects whose every observation the cleaning drops are left
    out (counted per class) before the test set is drawn.
    """
    from astromer.tasks.inputs import FOLDER_TABLES, InputError, is_records, read_light_curves_input, usable_objects
    from astromer.tasks.splits import given_test_split, hold_out

    folder = Path(folder)
    labels_path = folder / "labels.csv"
    if folder.is_file():
        raise InputError(f"{folder} is a file: give a folder with lightcurves.parquet (or .csv, .csv.gz) and "
                         "labels.csv, or a labelled records folder ('astromer records convert TABLE --labels ...')")
    if not is_records(folder):
        if not any((folder / n).is_file() for n in FOLDER_TABLES):
            raise FileNotFoundError(f"{folder} has no lightcurves.csv.gz, lightcurves.csv or lightcurves.parquet "
                                    "(nor metadata.json of a records folder)")
        if not labels_path.is_file():
            raise FileNotFoundError(f"{labels_path} not found")
    own_labels = None if is_records(folder) else labels_path   # a records folder carries its labels
    table, labels = read_light_curves_input(folder, own_labels, label_column=label_column, split_column=split_column,
                                            id_column=id_column)
    if labels is None or labels["label"].notna().sum() == 0:
        raise ValueError(f"{folder} has no labelled objects")
    labels = labels[labels["label"].notna()]
    if classes is not None:
        known = sorted(labels["label"].unique())
        unknown = [str(c) for c in classes if str(c) not in known]
        if unknown:
            raise InputError(f"--classes {unknown} {'is not a class' if len(unknown) == 1 else 'are not classes'} "
                             f"of {folder}; its classes are {known}")
        labels = labels[labels["label"].isin([str(c) for c in classes])]
    usable = usable_objects(table[table["object_id"].isin(set(labels["object_id"]))])
    empty = labels.loc[~labels["object_id"].isin(usable), "label"]
    if len(empty):   # before the test set, folds and shots are drawn: no draw falls on an object without data
        log.warning(f"{len(empty):,} labelled objects have no usable observation after cleaning and are left out "
                    f"({', '.join(f'{k} {v}' for k, v in empty.value_counts().sort_index().items())}; "
                    f"e.g. {sorted(map(str, labels.loc[empty.index, 'object_id']))[:3]})")
        labels = labels[labels["object_id"].isin(usable)]
    if labels["label"].nunique() < 2:
        raise InputError(f"{folder}: classification needs at least 2 classes, the labelled objects have "
                         f"{sorted(labels['label'].unique())}")
    unlabelled = set(table["object_id"]) - set(labels["object_id"])
    if unlabelled:
        log.info(f"{len(unlabelled):,} objects in {folder} have curves but no label"
                 + (" (or a class not in --classes)" if classes is not None else "") + "; left out")
    table = table[table["object_id"].isin(set(labels["object_id"]))]
    series = labels.set_index("object_id")["label"].astype(str)
    if given_test_split(labels, f" of {folder}"):
        test = labels.loc[labels["split"] == "test", "object_id"].tolist()
    else:
        try:
            _, test = hold_out(labels["object_id"].tolist(), series, test_fraction, seed, where=f" in {folder}")
        except InputError as error:   # the harness can also leave the small classes out
            big = sorted(c for c, n in series.value_counts().items()   # sure of a test and a pool object
                         if np.floor(n * test_fraction) >= 1 and n - np.ceil(n * test_fraction) >= 1)
            if len(big) < 2:
                raise
            raise InputError(f"{error}, or evaluate the larger classes only: --classes {' '.join(big)}") from None
    test_set = set(test)
    pool = [o for o in labels["object_id"] if o not in test_set]
    untested = sorted(set(series) - set(series.loc[list(test)]))
    if untested:
        log.warning(f"class(es) {untested} of {folder} have no test object: macro F1 counts them only through "
                    "wrong predictions")
    return LabelledSet(table=table, labels=series, test_ids=list(test), pool_ids=pool)
