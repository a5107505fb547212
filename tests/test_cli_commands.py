"""The command line: grouped help, every sub-command's --help, one-line errors, and the
pretrain -> embed -> classify verbs end to end on a tiny simulated survey; the quickstart (slow)."""

import json

import numpy as np
import pandas as pd
import pytest

from astromer.cli.main import COMMAND_MODULES
from astromer.data.synthetic import write_simulated_survey
from conftest import run_cli as run

SUBCOMMANDS = {"records": ("convert", "inspect", "verify", "build", "list"),
               "presets": ("list", "download", "convert", "export")}


def test_top_level_help_groups_commands_with_examples():
    code, out, _ = run("--help")
    assert code == 0 and out.startswith("usage: astromer")
    for heading in ("Getting started:", "Models:", "Data and weights:", "Examples:"):
        assert heading in out
    for name in COMMAND_MODULES:
        assert f"\n  {name} " in out
    assert "astromer quickstart" in out
    assert run()[0] == 0  # no command: the help


@pytest.mark.parametrize("command", COMMAND_MODULES)
def test_every_command_has_help(command):
    code, out, _ = run(command, "--help")
    assert code == 0 and f"usage: astromer {command}" in out
    for sub in SUBCOMMANDS.get(command, ()):
        code, out, _ = run(command, sub, "--help")
        assert code == 0 and f"usage: astromer {command} {sub}" in out


@pytest.mark.parametrize("args, words", [
    (("quickstart", "--bogus"), ["astromer quickstart: error: unrecognized arguments: --bogus"]),
    (("quickstart", "--shots", "many"), ["argument --shots: invalid int value"]),
    (("frobnicate",), ["astromer: error: argument COMMAND: invalid choice"]),
    (("embed", "missing.csv", "-o", "e.parquet"), ["astromer embed: error:", "missing.csv", "does not exist"]),
    (("embed", "missing.csv", "-o", "e.txt"), ["must end in .parquet or .npz"]),
    (("pretrain", "missing_records", "-o", "m"), ["astromer pretrain: error: input 'missing_records' does not exist"]),
    (("classify", "missing", "-o", "c"), ["astromer classify: error:", "does not exist"]),
    (("quickstart", "--records", "missing", "-o", "q"), ["records folder 'missing' does not exist"]),
    (("quickstart", "--methods", "a,z", "-o", "q"), ["unknown method(s) ['z']"]),
])
def test_bad_arguments_give_one_line(args, words, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(*args)
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert all(w in err for w in words), err


@pytest.fixture(scope="module")
def survey(tmp_path_factory):
    return write_simulated_survey(tmp_path_factory.mktemp("survey"), 36, seed=2, max_observations=80)


@pytest.mark.slow
def test_pretrain_embed_classify(survey, tmp_path):
    code, out, err = run("pretrain", survey / "lightcurves.csv.gz", "-o", tmp_path / "model", "--epochs", "1",
                         "--window-size", "40", "--quiet", "--length-buckets")
    assert code == 0, err
    info = json.loads((tmp_path / "model" / "training.json").read_text())
    assert info["epochs"] == 1 and info["steps_per_epoch"] >= -(-info["training_curves"] // 64)
    assert {"config.json", "model.weights.h5", "history.csv", "training.png"} <= {p.name for p in (tmp_path / "model").iterdir()}
    assert "saved the preset" in out

    code, out, err = run("embed", survey, "-o", tmp_path / "emb.parquet", "--model", tmp_path / "model", "--quiet")
    assert code == 0, err
    table = pd.read_parquet(tmp_path / "emb.parquet")
    assert len(table) == 36 and table["object_id"].is_unique and "label" in table and "emb_63" in table
    code, _, err = run("embed", survey / "lightcurves.csv.gz", "-o", tmp_path / "emb.npz", "--model",
                       tmp_path / "model", "--level", "observation", "--quiet")
    assert code == 0, err
    npz = np.load(tmp_path / "emb.npz")
    assert npz["embeddings"].shape[0] == len(npz["object_id"]) == len(npz["time"])
    code, _, err = run("embed", survey, "-o", tmp_path / "emb.parquet", "--model", tmp_path / "model")
    assert code == 2 and "--overwrite" in err

    code, out, err = run("classify", survey, "-o", tmp_path / "clf", "--model", tmp_path / "model", "--epochs", "2",
                         "--quiet")
    assert code == 0, err
    metrics = json.loads((tmp_path / "clf" / "metrics.json").read_text())
    assert metrics["scenario"] == "a" and 0 <= metrics["metrics"]["macro_f1"] <= 1
    # a's probe chooses its regularisation by cross-validation: no validation objects taken from training
    assert metrics["val_objects"] == 0 and metrics["train_objects"] + metrics["test_objects"] == 36
    predictions = pd.read_csv(tmp_path / "clf" / "predictions.csv")
    assert len(predictions) == metrics["test_objects"] and "p_cepheid" in predictions
    assert (tmp_path / "clf" / "confusion.png").is_file()
    code, out, err = run("classify", survey / "lightcurves.csv.gz", "-o", tmp_path / "pred",
                         "--classifier", tmp_path / "clf" / "classifier.keras")
    assert code == 0, err
    assert len(pd.read_csv(tmp_path / "pred" / "predictions.csv")) == 36
    code, out, err = run("classify", survey, "-o", tmp_path / "clf_b", "--model", tmp_path / "model", "--epochs", "1",
                         "--scenario", "b", "--quiet")
    assert code == 0, err
    b = json.loads((tmp_path / "clf_b" / "metrics.json").read_text())
    assert b["val_objects"] > 0 and b["test_objects"] == metrics["test_objects"]   # b selects its epoch on them
    assert b["train_objects"] + b["val_objects"] == metrics["train_objects"]


@pytest.mark.slow
def test_quickstart_tiny_writes_the_report(tmp_path):
    code, out, err = run("quickstart", "--tiny", "-o", tmp_path / "qs", "--quiet")
    assert code == 0, err
    report = tmp_path / "qs"
    names = {p.name for p in report.iterdir()}
    assert {"results.json", "results.md", "results.csv", "summary.csv", "predictions.csv", "records", "model"} <= names
    pngs = {"examples.png", "training.png", "reconstruction.png", "attention.png", "embeddings.png",
            "f1_by_scenario.png", "f1_vs_shots.png"}
    assert pngs <= names
    for name in pngs:
        assert (report / name).read_bytes()[:4] == b"\x89PNG"
    results = json.loads((report / "results.json").read_text())
    assert {r["method"] for r in results["results"]} == {"a", "b", "c"}
    assert results["data"]["source"].startswith("simulated") and results["seconds"]["total"] > 0
    text = (report / "results.md").read_text()
    assert "| Astromer (a) frozen encoder, all bands of an object, logistic probe head |" in text
    assert "![embeddings](embeddings.png)" in text and "## Confusion matrices (test objects)" in text
    assert "| Astromer (b) a's probe head, then encoder fine-tuned through all bands |" in out
