"""astromer.hybrid: the embedding probe and the stacked features + embeddings classifier."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.metrics import f1_score

from astromer.hybrid import HybridClassifier, embedding_probe

RNG = np.random.default_rng(0)


def _data(n_per_class=30):
    """Two classes. Feature column 0 separates class 2 from the rest; the embedding separates
    class 1 from class 0; neither alone tells the three apart."""
    y = np.repeat([0, 1, 2], n_per_class)
    features = np.c_[np.where(y == 2, 3.0, 0.0) + RNG.normal(0, 0.5, y.size), RNG.normal(size=(y.size, 3))]
    features[RNG.random(features.shape) < 0.05] = np.nan  # features may be missing
    embeddings = np.c_[np.where(y == 1, 2.0, 0.0) + RNG.normal(0, 0.5, y.size), RNG.normal(size=(y.size, 7))]
    return np.hstack([features, embeddings]), y


def test_hybrid_learns_from_both_halves():
    X, y = _data()
    Xt, yt = _data()
    hybrid = HybridClassifier(n_features=4, seed=0, n_jobs=1).fit(X, y)
    assert list(hybrid.classes_) == [0, 1, 2]
    proba = hybrid.predict_proba(Xt)
    assert proba.shape == (len(yt), 3) and np.allclose(proba.sum(1), 1)
    both = f1_score(yt, hybrid.predict(Xt), average="macro")
    probe = embedding_probe(0, y=y).fit(X[:, 4:], y)
    alone = f1_score(yt, probe.predict(Xt[:, 4:]), average="macro")
    assert both > 0.9 and alone < 0.8  # the embedding alone cannot see class 2
    assert clone(hybrid).get_params() == hybrid.get_params()


def test_hybrid_and_probe_with_tiny_classes():
    X, y = _data(3)
    HybridClassifier(n_features=4, classifier="hgb", n_jobs=1).fit(X, y).predict(X)
    X2, y2 = _data(2)  # one object per class in each out-of-fold training set
    assert HybridClassifier(n_features=4, n_jobs=1).fit(X2, y2).predict(X2).shape == (6,)
    assert embedding_probe(0, y=np.array([0, 1, 1, 0, 1])) is not None


def test_hybrid_names_bad_input():
    X, y = _data(5)
    with pytest.raises(ValueError, match=r"X must have 12 feature columns followed by embedding columns; got shape \(15, 12\)"):
        HybridClassifier(n_features=12).fit(X, y)
    X[0, -1] = np.nan
    with pytest.raises(ValueError, match="embedding columns of X contain NaN or inf"):
        HybridClassifier(n_features=4).fit(X, y)


def test_the_probe_protocol_works_on_a_two_class_task():
    """scikit-learn 1.9's LogisticRegressionCV(scoring="f1_macro") raises on two classes
    ("make_scorer() got multiple values for keyword argument 'pos_label'"); the probe of
    ``astromer probe`` and the GZ1 benchmark (``astromer.evaluation.probe``) passes a callable
    macro-F1 scorer, with C in 1e-4..1e4."""
    from astromer.evaluation.probe import PROBE_CS, linear_probe

    rng = np.random.default_rng(1)
    y = np.repeat([0, 1], 40)
    x = np.c_[np.where(y == 1, 2.0, 0.0) + rng.normal(0, 0.5, y.size), rng.normal(size=(y.size, 5))]
    result = linear_probe({"x": x}, y, task="classification", seeds=(0,), folds=2)
    assert (result["macro_f1"] > 0.9).all() and set(result["regularisation"]) <= set(PROBE_CS)
    assert min(PROBE_CS) == 1e-4 and max(PROBE_CS) == 1e4