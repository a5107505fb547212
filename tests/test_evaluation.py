"""The few-shot harness, the baselines and the `astromer evaluate` command, on a tiny real subset."""

import numpy as np
import pandas as pd
import pytest

from astromer import Astromer
from astromer.baselines import FEATURE_NAMES, RawGRUClassifier, object_features, variability_features
from astromer.data import prepare_light_curves
from astromer.evaluation import FewShotEvaluation, LabelledSet, fewshot_splits, summarise, write_report
from conftest import require_shared


def test_lomb_scargle_feature_finds_the_period():
    rng = np.random.default_rng(0)
    t = np.sort(rng.uniform(0, 300, 250))
    y = 15 + 0.4 * np.sin(2 * np.pi * t / 0.5617) + rng.normal(0, 0.02, t.size)
    f = dict(zip(FEATURE_NAMES, variability_features(np.stack([t, y, np.full_like(t, 0.02)], 1))))
    assert f["ls_period"] == pytest.approx(0.5617, rel=2e-3)
    assert f["amplitude"] == pytest.approx(0.4, rel=0.1)
    assert f["n_obs"] == 250


def test_object_features_put_bands_side_by_side():
    table = pd.DataFrame({"object_id": ["a"] * 6 + ["b"] * 3, "band": ["r"] * 3 + ["b"] * 3 + ["r"] * 3,
                          "time": [1, 2, 3] * 3, "mag": [1, 2, 1, 3, 2, 3, 5, 5, 6], "mag_err": [0.1] * 9})
    ids, X, names = object_features(prepare_light_curves(table))
    assert ids == ["a", "b"] and X.shape == (2, 2 * len(FEATURE_NAMES))
    assert names[0] == "b_n_obs" and names[len(FEATURE_NAMES)] == "r_n_obs"
    assert X[1, 0] == 0 and X[1, len(FEATURE_NAMES)] == 3  # object b has no b band


def test_fewshot_splits_are_balanced_disjoint_and_seeded():
    labels = pd.Series(["x"] * 30 + ["y"] * 12, index=[f"o{i}" for i in range(42)])
    pool = list(labels.index)
    splits = fewshot_splits(labels, pool, shots=(5, 20), folds=2, seed=1)
    assert [(s["fold"], s["shots"]) for s in splits] == [(0, 5), (0, 20), (1, 5), (1, 20)]
    s = splits[0]
    assert labels[s["train"]].value_counts().to_dict() == {"x": 5, "y": 5}
    assert not set(s["train"]) & set(s["val"])
    assert labels[splits[1]["train"]].value_counts()["y"] == 7  # capped: 12 - 5 validation
    assert splits[0]["train"] != splits[2]["train"]  # folds differ
    assert fewshot_splits(labels, pool, (5,), 1, seed=1)[0] == splits[0]


def test_gru_baseline_masks_padding():
    model = RawGRUClassifier(3, units=8, dense_units=8)
    rng = np.random.default_rng(0)
    x = {"times": np.cumsum(rng.uniform(0, 2, (2, 10)), 1).astype("float32"),
         "magnitudes": rng.normal(size=(2, 10)).astype("float32"), "mask": np.ones((2, 10), "float32")}
    x["mask"][0, 6:] = 0
    base = np.asarray(model(x))
    x["magnitudes"][0, 6:] = 40.0
    np.testing.assert_allclose(np.asarray(model(x)), base, atol=1e-5)


@pytest.fixture(scope="module")
def tiny_eros():
    table = pd.read_csv(require_shared("data", "eros1", "lightcurves.csv.gz"))
    labels = pd.read_csv(require_shared("data", "eros1", "labels.csv"))
    labels = labels[labels["label"].isin(["rr_lyrae", "mira"])]
    picked = pd.concat([g.head(14) for _, g in labels.groupby("label")])
    ids = picked["object_id"].astype(str).tolist()
    table["object_id"] = table["object_id"].astype(str)
    table = table[table["object_id"].isin(ids)]
    series = picked.set_index(picked["object_id"].astype(str))["label"]
    test = [i for k, i in enumerate(ids) if k % 14 >= 10]
    return LabelledSet(table=table, labels=series, test_ids=test, pool_ids=[i for i in ids if i not in test])


def test_harness_end_to_end(tiny_eros, tmp_path):
    def encoder():
        return Astromer(num_layers=1, num_heads=2, head_dim=8, ffn_dim=16, window_size=200, dropout=0.0)

    evaluation = FewShotEvaluation(tiny_eros, encoder, methods=["rf", "a", "c", "gru", "b"], shots=[3], folds=1,
                                   epochs=2, finetune_epochs=1, reconstruction_epochs=1, gru_epochs=1, patience=1)
    results = evaluation.run()
    assert set(results["method"]) == {"rf", "a", "b", "c", "gru"}
    obj = results[results["level"] == "object"]
    assert len(obj) == 5 and obj["macro_f1"].between(0, 1).all()
    assert set(results[results["level"] == "window"]["method"]) == {"a", "b", "c", "gru"}
    summary = summarise(results)
    assert {"macro_f1_mean", "macro_f1_std", "accuracy_mean"} <= set(summary.columns)
    out = write_report(results, tmp_path / "report", "astromer evaluate ...")
    assert sorted(p.name for p in out.iterdir()) == ["f1_vs_shots.png", "results.csv", "results.md", "summary.csv"]
    assert "astromer evaluate ..." in (out / "results.md").read_text()
    assert (out / "f1_vs_shots.png").read_bytes()[:4] == b"\x89PNG"


def test_evaluate_cli_errors(tmp_path):
    from astromer.cli.main import main

    assert main(["evaluate", str(tmp_path), "-o", str(tmp_path / "o")]) == 2
