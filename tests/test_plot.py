"""astromer.plot: every figure kind builds, saves a PNG and needs no display."""

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from astromer import AstroPT, Astromer, plot
from astromer.data.synthetic import simulate_galaxies, simulate_light_curves


@pytest.fixture(scope="module")
def sample():
    return simulate_light_curves(12, bands=("g", "r"), seed=0)


@pytest.fixture(scope="module")
def model():
    return Astromer(num_layers=2, num_heads=2, head_dim=8, ffn_dim=16, window_size=50, dropout=0.0)


def _png(path):
    assert path.read_bytes()[:4] == b"\x89PNG" and path.stat().st_size > 5000


def test_light_curve_figures(sample, tmp_path):
    curves, labels = sample
    fig = plot.light_curve(curves, object_id="sim000002", path=tmp_path / "lc.png")
    assert isinstance(fig, Figure) and fig.axes[0].yaxis_inverted()
    _png(tmp_path / "lc.png")
    one = curves[(curves["object_id"] == "sim000000") & (curves["band"] == "r")]
    arr = one[["time", "mag", "mag_err"]].to_numpy()
    fig = plot.light_curve(arr, period=labels["period"][0])
    assert fig.axes[0].get_xlabel() == "phase"
    plot.class_examples(curves, labels, path=tmp_path / "examples.png")
    _png(tmp_path / "examples.png")
    with pytest.raises(ValueError, match="several objects"):
        plot.reconstruction(Astromer(num_layers=1, num_heads=1, head_dim=4, ffn_dim=4, window_size=20),
                            curves[curves["band"] == "r"])


def test_reconstruction_and_attention(sample, model, tmp_path):
    curves, _ = sample
    one = curves[(curves["object_id"] == "sim000004") & (curves["band"] == "r")]
    fig = plot.reconstruction(model, one, seed=3, path=tmp_path / "rec.png")
    ax = fig.axes[0]
    assert "RMSE on hidden points" in ax.get_title() and ax.get_ylabel() == "magnitude"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(t.startswith("hidden, true") for t in labels) and any(t.startswith("visible") for t in labels)
    _png(tmp_path / "rec.png")
    weights = model.attention_weights({"times": np.zeros((1, 50), "float32"),
                                       "magnitudes": np.zeros((1, 50), "float32"),
                                       "mask": np.r_[np.ones(30), np.zeros(20)][None].astype("float32")})
    assert len(weights) == 2 and weights[0].shape == (1, 2, 50, 50)
    np.testing.assert_allclose(weights[1].sum(-1), 1.0, atol=1e-5)
    assert weights[0][0, :, :, 30:].max() < 1e-6  # padded keys get no attention
    plot.attention(model, one[["time", "mag", "mag_err"]].to_numpy(), path=tmp_path / "att.png")
    _png(tmp_path / "att.png")


def test_results_figures(tmp_path):
    history = {"loss": [1.0, 0.8, 0.7], "val_loss": [1.1, 0.9, 0.8], "r2": [0.0, 0.2, 0.3]}
    fig = plot.training_history(history, path=tmp_path / "hist.png")
    assert len(fig.axes) == 2 and fig.axes[0].get_xlabel() == "epoch"
    _png(tmp_path / "hist.png")
    rng = np.random.default_rng(0)
    emb = np.concatenate([rng.normal(0, 1, (20, 8)), rng.normal(4, 1, (20, 8))])
    names = ["a"] * 20 + ["b"] * 20
    for method in ("pca", "tsne"):
        fig = plot.embedding_projection(emb, names, method=method)
        assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["a (20)", "b (20)"]
    results = pd.DataFrame([{"method": m, "shots": 20, "fold": f, "level": "object", "macro_f1": 0.5 + 0.1 * f,
                             "accuracy": 0.6} for m in ("a", "b", "c") for f in range(2)])
    fig = plot.fewshot_scores(results, path=tmp_path / "f1.png")
    assert "macro F1" in fig.axes[0].get_ylabel()
    _png(tmp_path / "f1.png")


def test_astropt_figures(tmp_path):
    images, labels = simulate_galaxies(2, size=32, seed=0)
    fig = plot.spiral_order(images[0], patch_size=8, path=tmp_path / "spiral.png")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert sorted(texts, key=int) == [str(k) for k in range(16)]
    _png(tmp_path / "spiral.png")
    model = AstroPT(num_layers=1, num_heads=2, embed_dim=16, block_size=16, patch_size=8)
    fig = plot.astropt_predictions(model, images, context=4, path=tmp_path / "pred.png")
    assert len(fig.axes) == 8 and fig.axes[3].get_title().startswith("roll-out from 4")
    _png(tmp_path / "pred.png")
    plot.image_grid(images, labels["label"], path=tmp_path / "grid.png")
    _png(tmp_path / "grid.png")


def test_figures_show_in_notebooks():
    fig = plot.training_history({"loss": [1.0, 0.5]})
    assert fig._repr_png_()[:4] == b"\x89PNG"
