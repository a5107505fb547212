"""Classifiers over Astromer embeddings, alone and learned jointly with light-curve features.

- :func:`embedding_probe`: standardised embeddings -> class-balanced logistic regression whose
  regularisation is chosen by cross-validated macro F1 on the training objects only.
- :class:`HybridClassifier`: stacking. Out-of-fold probabilities of the embedding probe become
  extra columns next to the hand-made features, and a class-balanced forest (or gradient
  boosting) learns from both; at prediction the probe is refitted on every training object.
  Concatenating hundreds of raw embedding dimensions to a few dozen features drowns the features
  in a forest; a handful of calibrated probe probabilities does not.

Both are scikit-learn estimators (``clone``, ``Pipeline``, grid search); pair them with
:class:`astromer.AstromerEmbedder` to go from light curves to predictions.
"""

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.utils.validation import check_is_fitted

PROBE_CS = (1e-3, 1e-2, 1e-1)


def _smallest(y):
    return int(np.bincount(np.unique(y, return_inverse=True)[1]).min())


def _folds(y, n_splits, seed):
    """Stratified folds, at most as many as the smallest class has members (at least 2)."""
    return StratifiedKFold(max(2, min(n_splits, _smallest(y))), shuffle=True, random_state=seed)


def embedding_probe(seed=0, cs=PROBE_CS, cv=3, y=None):
    """``StandardScaler -> LogisticRegression`` (class-balanced), ``C`` in ``cs`` chosen by macro F1
    over ``cv`` stratified folds of the training objects (``GridSearchCV``; ``y``, the training
    labels, when given, caps the folds by the smallest class). With fewer than 2 objects in a
    class there is nothing to cross-validate: ``C`` is the median of ``cs``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    smallest = _smallest(y) if y is not None else None
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(class_weight="balanced", max_iter=3000))
    if smallest is not None and smallest < 2:
        return pipeline.set_params(logisticregression__C=float(np.median(cs)))
    folds = StratifiedKFold(max(2, min(cv, smallest or cv)), shuffle=True, random_state=seed)
    return GridSearchCV(pipeline, {"logisticregression__C": list(cs)}, scoring="f1_macro", cv=folds)


class HybridClassifier(ClassifierMixin, BaseEstimator):
    """Features and Astromer embeddings in one classifier, by stacking.

    ``X``: ``(n, n_features + d)``, the feature columns first (NaN allowed there), then the
    embedding columns. ``fit`` chooses the probe's ``C`` by cross-validation on the training set,
    computes out-of-fold probe probabilities with it (``cv`` stratified folds), then fits
    ``classifier`` (``"rf"`` or ``"hgb"``, see :func:`astromer.baselines.feature_classifier`) on
    ``[features, probabilities]``.
    ``n_features``: how many leading columns are features.
    """

    def __init__(self, n_features, classifier="rf", cv=5, seed=0, n_jobs=None):
        self.n_features = n_features
        self.classifier = classifier
        self.cv = cv
        self.seed = seed
        self.n_jobs = n_jobs

    def _split(self, X):
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] <= self.n_features:
            raise ValueError(f"X must have {self.n_features} feature columns followed by embedding columns; "
                             f"got shape {X.shape}")
        embeddings = X[:, self.n_features:]
        if not np.isfinite(embeddings).all():
            raise ValueError("embedding columns of X contain NaN or inf")
        return X[:, :self.n_features], embeddings

    def fit(self, X, y):
        from astromer.baselines import feature_classifier

        features, embeddings = self._split(X)
        y = np.asarray(y)
        self.classes_ = np.unique(y)
        # C by cross-validation on every training object, once; then out-of-fold probabilities
        # with that C (a grid search inside every fold costs 5x more for no measurable gain)
        self.probe_ = embedding_probe(self.seed, y=y).fit(embeddings, y)
        best = getattr(self.probe_, "best_estimator_", self.probe_)
        oof = cross_val_predict(clone(best), embeddings, y, cv=_folds(y, self.cv, self.seed), method="predict_proba")
        self.model_ = feature_classifier(self.classifier, seed=self.seed, n_jobs=self.n_jobs)
        self.model_.fit(np.hstack([features, oof]), y)
        return self

    def predict_proba(self, X):
        check_is_fitted(self, "model_")
        features, embeddings = self._split(X)
        return self.model_.predict_proba(np.hstack([features, self.probe_.predict_proba(embeddings)]))

    def predict(self, X):
        return self.classes_[self.predict_proba(X).argmax(1)]
