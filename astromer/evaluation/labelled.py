"""A labelled survey for the few-shot harness: light curves, labels per object, the test/pool split."""

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd


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


def load_labelled_folder(folder, label_column="label", split_column="split", test_fraction=0.2,
                         classes=None, seed=0):
    """A labelled survey from a records folder or a folder with ``lightcurves.csv.gz``
    (or ``.csv``/``.parquet``) and ``labels.csv``, read by :mod:`astromer.tasks.inputs`.

    The test set is the ``split == "test"`` objects when the split column has
    such rows (records folders carry their splits), else a stratified
    ``test_fraction`` drawn with ``seed`` (:func:`astromer.tasks.splits.hold_out`).
    Labelled objects without curves are dropped and logged; unlabelled objects
    and classes not in ``classes`` are left out.
    """
    from astromer.tasks.inputs import FOLDER_TABLES, is_records, read_light_curves_input
    from astromer.tasks.splits import hold_out

    folder = Path(folder)
    labels_path = folder / "labels.csv"
    if not is_records(folder):
        if not any((folder / n).is_file() for n in FOLDER_TABLES):
            raise FileNotFoundError(f"{folder} has no lightcurves.csv.gz, lightcurves.csv or lightcurves.parquet "
                                    "(nor metadata.json of a records folder)")
        if not labels_path.is_file():
            raise FileNotFoundError(f"{labels_path} not found")
    own_labels = None if is_records(folder) else labels_path   # a records folder carries its labels
    table, labels = read_light_curves_input(folder, own_labels, label_column=label_column, split_column=split_column)
    if labels is None or labels["label"].notna().sum() == 0:
        raise ValueError(f"{folder} has no labelled objects")
    labels = labels[labels["label"].notna()]
    if classes is not None:
        labels = labels[labels["label"].isin([str(c) for c in classes])]
    table = table[table["object_id"].isin(set(labels["object_id"]))]
    series = labels.set_index("object_id")["label"].astype(str)
    if "split" in labels.columns and (labels["split"] == "test").any():
        test = labels.loc[labels["split"] == "test", "object_id"].tolist()
    else:
        _, test = hold_out(labels["object_id"].tolist(), series, test_fraction, seed, where=f" in {folder}")
    test_set = set(test)
    pool = [o for o in labels["object_id"] if o not in test_set]
    return LabelledSet(table=table, labels=series, test_ids=list(test), pool_ids=pool)
