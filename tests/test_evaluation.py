"""The few-shot harness, the baselines and the `astromer evaluate` command, on a tiny real subset."""

import logging

import keras
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score

from astromer import Astromer, plot
from astromer.baselines import FEATURE_NAMES, RawGRUClassifier, object_features, variability_features
from astromer.data import prepare_light_curves
from astromer.evaluation import FewShotEvaluation, LabelledSet, fewshot_splits, summarise, write_report
from astromer.evaluation import PREDICTION_COLUMNS, SUMMARY_COLUMNS, load_labelled_folder, read_predictions
from astromer.data.synthetic import simulate_light_curves
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
    assert s["train_per_class"] == {"x": 5, "y": 5} and s["val_per_class"] == {"x": 5, "y": 5}
    assert not set(s["train"]) & set(s["val"]) and s["notes"] == []
    assert splits[0]["train"] != splits[2]["train"]  # folds differ
    assert set(splits[0]["train"]) <= set(splits[1]["train"])  # nested within a fold
    assert fewshot_splits(labels, pool, (5,), 1, seed=1)[0] == splits[0]


def test_a_class_smaller_than_shots_plus_validation_trains_first_and_is_recorded():
    labels = pd.Series(["x"] * 30 + ["y"] * 12 + ["z"] * 3, index=[f"o{i:02d}" for i in range(45)])
    test = ["o00", "o01", "o30"]
    pool = [o for o in labels.index if o not in test]
    s = fewshot_splits(labels, pool, shots=(20,), folds=1, seed=0)[0]
    # x: 28 in the pool -> 20 train + 5 val (3 unused); y: 11 -> all 11 train, none left for
    # validation; z: 3 -> 3 train
    assert s["train_per_class"] == {"x": 20, "y": 11, "z": 3}
    assert s["val_per_class"] == {"x": 5, "y": 0, "z": 0}
    assert labels[s["train"]].value_counts().to_dict() == {"x": 20, "y": 11, "z": 3}
    assert not set(s["train"] + s["val"]) & set(test)
    assert s["notes"] == [
        "fold 0, 20 per class: class 'y' has 11 objects in the pool, fewer than 20 + 5 validation; train 11, val 0",
        "fold 0, 20 per class: class 'z' has 3 objects in the pool, fewer than 20 + 5 validation; train 3, val 0"]


def test_evaluate_and_records_convert_draw_the_same_folds():
    from astromer.records import assign_splits

    labels = {f"o{k:03d}": ["x", "y", "z"][k % 3] for k in range(150)}
    labels.update({f"s{k}": "small" for k in range(7)})
    plan = assign_splits(labels, "fewshot:folds=2,spc=5/40,test=0,val=0.25", seed=4)
    ours = fewshot_splits(pd.Series(labels), list(labels), shots=(5, 40), folds=2, seed=4,
                          val_per_class=lambda n: -(-n // 4))
    for s in ours:
        key = f"fold{s['fold']}_spc{s['shots']}"
        assert sorted(plan.splits[f"{key}_train"]) == sorted(s["train"])
        assert sorted(plan.splits[f"{key}_val"]) == sorted(s["val"])
    assert ours[1]["train_per_class"] == {"small": 7, "x": 40, "y": 40, "z": 40}
    assert ours[1]["val_per_class"] == {"small": 0, "x": 10, "y": 10, "z": 10}
    assert "class 'small' has 7 objects in the pool" in " ".join(plan.notes)


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

    methods = ["rf", "hgb_lc", "a", "b", "c", "c_b", "a_skip", "a_attention", "c_skip", "gru", "b_skip", "probe",
               "hybrid_rf", "probe_c", "hybrid_rf_c", "probe_scales", "probe_fold", "hybrid_rf_fold"]
    evaluation = FewShotEvaluation(tiny_eros, encoder, methods=methods, shots=[3],
                                   folds=1, epochs=2, finetune_epochs=1, reconstruction_epochs=2, gru_epochs=1,
                                   patience=1, n_jobs=1)
    results = evaluation.run()
    assert set(results["method"]) == set(methods)
    obj = results[results["level"] == "object"]
    assert len(obj) == 18 and obj["macro_f1"].between(0, 1).all()
    by_method = obj.set_index("method")
    for method in ("b", "c_b", "b_skip"):
        assert by_method.loc[method, "selected_epoch"] in (0, 1)  # 0: the start (a's head) was kept
        assert by_method.loc[method, "jitter"] == 0.0  # what it trained with: no magnitude jitter by default
    assert by_method.loc[["a", "c", "a_skip", "probe"], "selected_epoch"].isna().all()  # nothing fine-tuned
    assert by_method.loc[["a", "c", "a_skip", "probe"], "jitter"].isna().all()
    c = by_method.loc["c"]
    assert 1 <= c["reconstruction_epochs"] <= 2 and np.isfinite(c["reconstruction_val_r2_best"])
    assert c["reconstruction_val_r2_best"] >= c["reconstruction_val_r2_start"]  # the start is a candidate
    assert c["reconstruction_kept_epoch"] in (0, 1, 2)
    recon = [k for k in obj.columns if k.startswith("reconstruction_")]
    for method in ("c_b", "c_skip", "probe_c", "hybrid_rf_c"):   # one reconstruction per run, shared with c
        assert by_method.loc[method, recon].tolist() == by_method.loc["c", recon].tolist()
    assert by_method[recon].loc[["probe", "a", "b", "a_skip", "probe_fold"]].isna().all().all()
    # every object has a periodogram period: nothing kept unfolded, and only the fold rows say so
    assert by_method.loc[["probe_fold", "hybrid_rf_fold"], "unfolded_objects"].tolist() == [0, 0]
    assert by_method.drop(["probe_fold", "hybrid_rf_fold"])["unfolded_objects"].isna().all()
    ids, folded, _, _ = evaluation.folded_embedding_table(evaluation.load_encoder())
    raw_ids, raw, _ = evaluation.embedding_table(evaluation.load_encoder())
    assert ids == raw_ids and folded.shape == raw.shape and not np.allclose(folded, raw)
    # per-window rows for the methods with several samples per object; the multi-band scenarios
    # (a, b, c, c_b) have one sample per object here, so a window row would repeat the object row
    assert set(results[results["level"] == "window"]["method"]) == {"a_skip", "b_skip", "c_skip", "gru"}
    # 10 pool objects per class: 3 train, 5 validation for the methods that select on it; the
    # frozen probe heads (a, c), features and hybrids use no validation
    assert set(obj["train_per_class"]) == {'{"mira": 3, "rr_lyrae": 3}'}
    assert by_method["val_per_class"].to_dict() == {
        **dict.fromkeys(["b", "c_b", "a_skip", "a_attention", "b_skip", "c_skip", "gru"], '{"mira": 5, "rr_lyrae": 5}'),
        **dict.fromkeys(["a", "c", "rf", "hgb_lc", "probe", "hybrid_rf", "probe_c", "hybrid_rf_c", "probe_scales",
                         "probe_fold", "hybrid_rf_fold"], '{"mira": 0, "rr_lyrae": 0}')}
    assert (obj["test_per_class"] == '{"mira": 4, "rr_lyrae": 4}').all() and (obj["n_test"] == 8).all()
    # attention pooling scores objects only (no per-window row)
    assert by_method.loc["a_attention", "n_train"] == 6
    summary = summarise(results)
    assert list(summary.columns) == list(SUMMARY_COLUMNS)
    assert summary.set_index("method")["family"].to_dict() == {
        **dict.fromkeys(["a", "b", "c", "c_b", "a_skip", "a_attention", "b_skip", "c_skip", "probe", "probe_c",
                         "probe_scales"], "astromer"),
        "gru": "raw", "rf": "features", "hgb_lc": "features", "hybrid_rf": "hybrid", "hybrid_rf_c": "hybrid",
        "probe_fold": "hybrid", "hybrid_rf_fold": "hybrid"}
    # probe_scales: the probe's table, then the same curves with their window times x0.3, side by side
    raw_ids, raw, _ = evaluation.embedding_table(evaluation.load_encoder())
    ids, both, _ = evaluation.time_scaled_embedding_table(evaluation.load_encoder(), (1.0, 0.3))
    assert ids == raw_ids and both.shape == (raw.shape[0], 2 * raw.shape[1])
    np.testing.assert_array_equal(both[:, :raw.shape[1]], raw)
    assert not np.allclose(both[:, raw.shape[1]:], raw, atol=1e-4)
    # every object-level row's predictions on the test objects, by class name; the scores recomputed
    # from them are the rows' scores (so every method's predictions are aligned with its objects)
    predictions = evaluation.predictions_frame()
    assert list(predictions.columns) == list(PREDICTION_COLUMNS) and len(predictions) == 18 * 8
    for method, rows in predictions.groupby("method"):
        assert sorted(rows["object_id"]) == sorted(tiny_eros.test_ids), method
        assert (rows["true_class"] == tiny_eros.labels.loc[rows["object_id"]].to_numpy()).all(), method
        assert f1_score(rows["true_class"], rows["predicted_class"], average="macro") == pytest.approx(
            by_method.loc[method, "macro_f1"], abs=1e-12), method
    out = write_report(results, tmp_path / "report", "astromer evaluate ...", figure=plot.f1_vs_shots,
                       predictions=predictions)
    text = (out / "results.md").read_text()
    assert "## What training did" in text and "epoch kept per fold" in text and "reconstruction fine-tuning ran" in text
    best = summary.sort_values("macro_f1_mean", ascending=False, kind="stable").iloc[0]["method"]
    assert "## Confusion matrices (test objects)" in text and f"(`{best}`, the best macro F1; 1 fold summed)" in text
    assert "| true class → predicted | mira | rr_lyrae | recall |" in text
    assert sorted(p.name for p in out.iterdir()) == ["f1_vs_shots.png", "predictions.csv", "results.csv", "results.md",
                                                      "summary.csv"]
    pd.testing.assert_frame_equal(read_predictions(out), predictions)
    assert "astromer evaluate ..." in (out / "results.md").read_text()
    assert (out / "f1_vs_shots.png").read_bytes()[:4] == b"\x89PNG"


def test_classes_too_small_for_a_test_set_name_the_classes_that_can_be_evaluated(tmp_path):
    """A class of 1 or 2 objects cannot give both a test and a pool object: the error names the
    classes, and the --classes that evaluates the others (which then runs)."""
    from astromer.tasks.inputs import InputError

    data = _simulated_set(n=30)
    labels = data.labels.rename("label").reset_index()
    labels.loc[0, "label"], labels.loc[[1, 2], "label"] = "singleton", "pair"
    data.table.to_csv(tmp_path / "lightcurves.csv", index=False)
    labels.to_csv(tmp_path / "labels.csv", index=False)
    with pytest.raises(InputError) as error:
        load_labelled_folder(tmp_path)
    assert str(error.value).startswith(f"cannot hold out a stratified 20% test set from 30 labelled objects in "
                                       f"{tmp_path} (objects per class: ")
    assert "too few in 'pair', 'singleton')" in str(error.value)
    assert str(error.value).endswith(", or evaluate the larger classes only: "
                                     "--classes cepheid long_period_variable rr_lyrae_ab")
    data = load_labelled_folder(tmp_path, classes=["cepheid", "long_period_variable", "rr_lyrae_ab"])
    assert len(data.test_ids) + len(data.pool_ids) == 27


def test_evaluate_cli_errors(tmp_path):
    from astromer.cli.main import main

    assert main(["evaluate", str(tmp_path), "-o", str(tmp_path / "o")]) == 2


def _simulated_set(n=48, seed=0):
    curves, labels = simulate_light_curves(n, classes=("rr_lyrae_ab", "cepheid", "long_period_variable"), seed=seed,
                                           min_observations=30, max_observations=60)
    ids = labels["object_id"].tolist()
    test = ids[::4]
    return LabelledSet(table=curves, labels=labels.set_index("object_id")["label"], test_ids=test,
                       pool_ids=[i for i in ids if i not in test])


def test_objects_without_a_period_keep_zero_folded_embeddings(monkeypatch, caplog):
    import astromer.baselines.lc_features as lc_features

    data = _simulated_set(n=24)
    no_period = data.test_ids[0]
    real = lc_features.best_periods

    def best_periods(ids, X, columns):
        periods = real(ids, X, columns)
        periods[no_period] = np.nan   # e.g. a curve too short for the periodogram
        return periods

    monkeypatch.setattr(lc_features, "best_periods", best_periods)
    keras.utils.set_random_seed(0)
    model = Astromer(num_layers=1, num_heads=2, head_dim=8, ffn_dim=16, window_size=32, dropout=0.0)
    evaluation = FewShotEvaluation(data, lambda: model, methods=["probe_fold", "hybrid_rf_fold"], shots=[2],
                                   folds=1, n_jobs=1)
    with caplog.at_level(logging.WARNING, logger="astromer.evaluate"):
        results = evaluation.run()
    assert (results["unfolded_objects"] == 1).all() and len(results) == 2
    assert (results["n_test"] == len(data.test_ids)).all()   # the object stays in the test set
    assert f"folding: 1 objects without a periodogram period keep zero folded embeddings (first: {no_period!r})" \
        in caplog.text
    ids, folded, _, unfolded = evaluation.folded_embedding_table(model)
    assert unfolded == 1 and not folded[ids.index(no_period)].any()
    assert all(folded[i].any() for i, o in enumerate(ids) if o != no_period)


def test_summary_columns_and_families():
    rows = [{"method": m, "shots": 20, "fold": f, "level": "object", "macro_f1": 0.5 + 0.1 * f, "accuracy": 0.6,
             "min_train_per_class": 20 - f, "seconds": 1.0} for m in ("a", "gru", "rf_lc", "hgb") for f in range(3)]
    summary = summarise(pd.DataFrame(rows))
    assert list(summary.columns) == ["method", "family", "shots", "macro_f1_mean", "macro_f1_std", "accuracy_mean",
                                     "accuracy_std", "min_train_per_class", "folds", "seconds_mean"]
    assert summary["method"].tolist() == ["a", "gru", "hgb", "rf_lc"]  # METHODS order
    assert summary["family"].tolist() == ["astromer", "raw", "features", "features"]
    assert summary["macro_f1_mean"].tolist() == pytest.approx([0.6] * 4)
    assert summary["macro_f1_std"].tolist() == pytest.approx([0.1] * 4)
    assert summary["min_train_per_class"].tolist() == [18] * 4 and summary["folds"].tolist() == [3] * 4
    old = summarise(pd.DataFrame(rows).drop(columns=["min_train_per_class"]))  # results of older versions
    assert old["min_train_per_class"].isna().all() and old["family"].tolist() == summary["family"].tolist()


def test_results_are_written_per_split_and_resume_skips_finished_rows(tmp_path, monkeypatch, caplog):
    import astromer.baselines as baselines

    data = _simulated_set()
    real = baselines.feature_classifier
    fits = []

    def counting(kind, **kwargs):
        fits.append(kind)
        if len(fits) == 3 and crash:
            raise KeyboardInterrupt  # interrupted during the third split
        return real(kind, **kwargs)

    monkeypatch.setattr(baselines, "feature_classifier", counting)
    out = tmp_path / "report"
    kwargs = dict(shots=[3, 5], folds=2, n_jobs=1, output=out)
    crash = True
    with pytest.raises(KeyboardInterrupt):
        FewShotEvaluation(data, None, methods=["hgb"], **kwargs).run()
    kept = pd.read_csv(out / "results.csv")
    assert kept[["method", "shots", "fold"]].values.tolist() == [["hgb", 3, 0], ["hgb", 5, 0]]
    kept_predictions = read_predictions(out)   # written with each split, like results.csv
    assert kept_predictions.groupby(["method", "shots", "fold"]).size().to_dict() == {("hgb", 3, 0): 12,
                                                                                    ("hgb", 5, 0): 12}

    crash, fits[:] = False, []
    with caplog.at_level(logging.INFO, logger="astromer.evaluate"):
        results = FewShotEvaluation(data, None, methods=["hgb", "rf"], resume=True, **kwargs).run()
    assert fits == ["rf"] * 4 + ["hgb", "hgb"]  # the 2 finished hgb splits were not refitted
    assert any("2 finished (method, shots, fold)" in r.getMessage() and r.name == "astromer.evaluate"
               for r in caplog.records)
    assert len(results) == 8 and not results.duplicated(["method", "shots", "fold"]).any()
    on_disk = pd.read_csv(out / "results.csv")
    assert len(on_disk) == 8
    pd.testing.assert_frame_equal(on_disk.iloc[:2], kept)  # earlier rows unchanged
    predictions = read_predictions(out)   # the kept splits' predictions too, unchanged
    assert len(predictions) == 8 * 12 and not predictions.duplicated(["method", "shots", "fold", "object_id"]).any()
    pd.testing.assert_frame_equal(predictions.iloc[:24], kept_predictions)

    fits[:] = []
    FewShotEvaluation(data, None, methods=["hgb", "rf"], resume=True, **kwargs).run()
    assert fits == []  # everything finished
    with pytest.raises(ValueError, match="drawn differently"):
        FewShotEvaluation(data, None, methods=["hgb"], resume=True, seed=1, **kwargs).run()


def test_evaluate_cli_features_only(tmp_path, capsys):
    from astromer.cli.main import main

    data = _simulated_set(n=60)
    folder = tmp_path / "survey"
    folder.mkdir()
    data.table.to_csv(folder / "lightcurves.csv", index=False)
    data.labels.rename("label").reset_index().to_csv(folder / "labels.csv", index=False)  # no split column
    out = tmp_path / "report"
    args = ["evaluate", str(folder), "-o", str(out), "--methods", "rf,hgb_lc", "--shots", "4,30", "--folds", "1",
            "--jobs", "1", "--test-fraction", "0.5", "--preset", "no_such_preset_is_loaded"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "class 'cepheid' has 10 objects in the pool, fewer than 30 + 7 validation; train 10, val 0" in text
    # the harness's log lines reach the terminal through the CLI's handler
    assert "[evaluate] light_curve features: " in text and "[evaluate] fold 0, 30 per class: class 'cepheid' has 10" in text
    results = pd.read_csv(out / "results.csv")
    assert set(results["n_test"]) == {30} and set(results["n_train"]) == {12, 30}
    summary = pd.read_csv(out / "summary.csv")
    assert list(summary.columns) == list(SUMMARY_COLUMNS)
    assert summary["min_train_per_class"].tolist() == [4, 10, 4, 10]
    report = (out / "results.md").read_text()
    assert "Machine: " in report and "| 30 | 0 | cepheid 10, long_period_variable 10, rr_lyrae_ab 10 |" in report
    predictions = read_predictions(out)
    test_ids = set(load_labelled_folder(folder, test_fraction=0.5).test_ids)
    assert len(predictions) == 2 * 2 * 30 and set(predictions["object_id"]) == test_ids  # ids as written
    assert "[evaluate] wrote" in text and "predictions.csv" in text and "## Confusion matrices" in report
    # a --resume run adds its command line to those recorded (commands.txt, and the report)
    assert (out / "commands.txt").read_text().count("\n") == 1
    assert main(args[:5] + ["rf,hgb_lc,rf_lc"] + args[6:] + ["--resume"]) == 0
    lines = (out / "commands.txt").read_text().splitlines()
    assert len(lines) == 2 and lines[1].endswith("--resume") and "rf,hgb_lc,rf_lc" in lines[1]
    report = (out / "results.md").read_text()
    assert lines[0] in report and lines[1] in report
    assert set(pd.read_csv(out / "results.csv")["method"]) == {"rf", "hgb_lc", "rf_lc"}
    assert read_predictions(out).groupby("method").size().to_dict() == {"hgb_lc": 60, "rf": 60, "rf_lc": 60}
    # resuming with fewer shot counts still reports the shortfalls of every shot count in the results
    assert main(args[:5] + ["hgb"] + args[6:7] + ["4"] + args[8:] + ["--resume"]) == 0
    report = (out / "results.md").read_text()
    assert "fold 0, 30 per class: class 'cepheid' has 10 objects in the pool, fewer than 30 + 7 validation" in report
    assert main(args) == 0  # without --resume: a fresh start, one command line
    assert len((out / "commands.txt").read_text().splitlines()) == 1


@pytest.mark.parametrize("a, b", [("a", "b"), ("a_skip", "b_skip")])
def test_scenario_b_starts_exactly_where_a_ends(tiny_eros, monkeypatch, a, b):
    """b's start is scenario a's head (same seed, same features): with fine-tuning replaced by
    "keep the start", b scores exactly what a scores, so b >= a can only come from learning
    (the object-level scenarios and Astromer 2's per-window ones alike)."""
    import types

    import astromer.tasks.finetune as finetune_module

    def keep_start(classifier, *args, **kwargs):
        return types.SimpleNamespace(selection=types.SimpleNamespace(best_epoch=0))

    monkeypatch.setattr(finetune_module, "fit_encoder", keep_start)

    def encoder():
        keras.utils.set_random_seed(1)  # the same "pretrained" weights at every load, as a preset
        return Astromer(num_layers=1, num_heads=2, head_dim=8, ffn_dim=16, window_size=200, dropout=0.0)

    evaluation = FewShotEvaluation(tiny_eros, encoder, methods=[a, b], shots=[3], folds=1, epochs=3,
                                   finetune_epochs=1, patience=1, n_jobs=1)
    logits, score = {}, evaluation._objectscores

    def keep_logits(method, split, window_logits, *args, **kwargs):
        logits[method] = np.asarray(window_logits)
        return score(method, split, window_logits, *args, **kwargs)

    monkeypatch.setattr(evaluation, "_objectscores", keep_logits)
    results = evaluation.run()
    np.testing.assert_allclose(logits[b], logits[a], rtol=1e-5, atol=1e-5)
    assert np.ptp(logits[a], axis=0).max() > 0  # the head does tell the samples apart
    rows = results.set_index(["method", "level"])
    for level in ("object", "window") if a == "a_skip" else ("object",):
        assert rows.loc[(b, level), "macro_f1"] == rows.loc[(a, level), "macro_f1"]
        assert rows.loc[(b, level), "accuracy"] == rows.loc[(a, level), "accuracy"]
    assert rows.loc[(b, "object"), "selected_epoch"] == 0
