"""A labelled survey for the few-shot harness: light curves, labels per object, the test/pool split."""

import logging
from dataclasses import dataclass, field
from pathlib import Path

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


def load_labelled_folder(folder, label_column="label", split_column="split", test_fraction=0.2,
                         classes=None, seed=0):
    """Read ``lightcurves.csv.gz`` (or ``.csv``/``.parquet``) and ``labels.csv`` from ``folder``.

    The test set is the ``split == "test"`` rows when that column exists, else a
    stratified ``test_fraction`` drawn with ``seed``. Objects without curves or
    without labels are dropped and reported.
    """
    folder = Path(folder)
    candidates = [folder / n for n in ("lightcurves.csv.gz", "lightcurves.csv", "lightcurves.parquet")]
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        raise FileNotFoundError(f"{folder} has no lightcurves.csv.gz, lightcurves.csv or lightcurves.parquet")
    from astromer.records.sources import id_strings, read_table

    table = read_table(path, what="light-curve table", dtype={"object_id": str})
    labels_path = folder / "labels.csv"
    if not labels_path.is_file():
        raise FileNotFoundError(f"{labels_path} not found")
    labels = read_table(labels_path, what="labels table", dtype={"object_id": str})
    for col in ("object_id", label_column):
        if col not in labels.columns:
            raise ValueError(f"{labels_path} lacks column {col!r}; columns: {list(labels.columns)}")
    if "object_id" not in table.columns:
        raise ValueError(f"{path} lacks column 'object_id'; columns: {list(table.columns)}")
    labels["object_id"] = id_strings(labels["object_id"])  # ids as text, exactly as written
    table["object_id"] = id_strings(table["object_id"])
    if classes is not None:
        labels = labels[labels[label_column].astype(str).isin([str(c) for c in classes])]
    have_curves = set(table["object_id"].dropna())
    dropped = labels[~labels["object_id"].isin(have_curves)]
    if len(dropped) == len(labels):
        raise ValueError(f"0 of {len(labels):,} label ids in {labels_path} match the {len(have_curves):,} objects "
                         f"in {path}; ids are compared as text, exactly as written")
    if len(dropped):
        log.warning(f"{len(dropped)} labelled objects have no light curve and are skipped")
    labels = labels[labels["object_id"].isin(have_curves)]
    table = table[table["object_id"].isin(set(labels["object_id"]))]
    series = labels.set_index("object_id")[label_column].astype(str)
    if split_column in labels.columns:
        test = labels.loc[labels[split_column] == "test", "object_id"].tolist()
    else:
        from sklearn.model_selection import train_test_split

        try:
            _, test = train_test_split(labels["object_id"].tolist(), test_size=test_fraction,
                                       stratify=series.values, random_state=seed)
        except ValueError as exc:
            sizes = ", ".join(f"{k}={v}" for k, v in series.value_counts().sort_index().items())
            raise ValueError(f"cannot hold out a stratified {test_fraction:.0%} test set from {len(series)} labelled "
                             f"objects in {folder} (objects per class: {sizes}; scikit-learn: {exc}); label more "
                             f"objects per class or give a '{split_column}' column with 'test' rows") from None
    test_set = set(test)
    pool = [o for o in labels["object_id"] if o not in test_set]
    return LabelledSet(table=table, labels=series, test_ids=list(test), pool_ids=pool)
