"""``AstromerEmbedder``: Astromer embeddings as a scikit-learn transformer.

Combine the pretrained encoder with any estimator, in a ``Pipeline``, with
``clone``, grid search and cross-validation::

    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    probe = make_pipeline(astromer.AstromerEmbedder("astromer_v1"), LogisticRegression(max_iter=1000))
    probe.fit(train_curves, train_labels)
    probe.predict(test_curves)
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from astromer.defaults import LIGHT_CURVE_PRESET

POOLINGS = ("object", "curve")
FOLDS = (None, "periodogram")


class AstromerEmbedder(TransformerMixin, BaseEstimator):
    """Pooled Astromer embeddings of light curves, one row per sample.

    Args:
        preset: what :func:`astromer.load_preset` takes (a preset name, a preset
            folder, a ``.keras`` file or an original archive); loaded by ``fit``. Default
            :data:`astromer.defaults.LIGHT_CURVE_PRESET` (``astromer_v1_atlas``).
        batch_size: windows per batch.
        pooling: ``"object"`` (default): one row per object; for a long
            DataFrame with a ``band`` column its bands are combined by ``how``;
            ``"curve"``: one row per curve (per object and band).
        bands: with ``pooling="object"``, the bands (and their order) to combine
            (default: the sorted bands seen by ``fit``).
        how: ``"concatenate"`` the bands' vectors (zeros for a missing band) or
            take their ``"mean"``.
        time_precision: see :meth:`astromer.Astromer.embed`.
        statistics: what each curve's vector holds, over its observation rows:
            ``("mean",)`` (default, the ``pooled`` embedding) or more of ``"mean"``,
            ``"std"``, ``"max"``, ``"min"`` side by side (``("mean", "std")`` also
            describes how the representation varies along the curve).
        columns, zero_point: see :meth:`astromer.Astromer.embed` (a column mapping
            ``{"time": "mjd", ...}``; the zero point of fluxes).
        layers: ``"last"`` (default): the encoder output; ``"blocks"``: every block's output
            side by side (``num_layers`` times wider). ``statistics=("mean", "std"),
            layers="blocks"`` is what the probe of ``astromer evaluate`` reads.
        fold: ``None`` (default): the curves as observed; ``"periodogram"``: each object's
            curves folded on its period (:func:`astromer.data.fold_light_curves`; the period of
            :func:`astromer.baselines.best_periods`, the light-curve package's periodogram over
            all its bands), so the embedding describes one cycle's shape (the ``*_fold`` methods
            of ``astromer evaluate``). An object without a period is an error naming it.
        time_scales: ``(1.0,)`` (default): the curves' times as observed; several numbers: the
            embeddings with each curve's centred times multiplied by each, side by side
            (``(1.0, 0.3)``: what ``astromer evaluate``'s ``probe_scales`` reads; see
            :meth:`astromer.Astromer.embed`).

    ``X`` is what :meth:`astromer.Astromer.embed` takes: a list of ``(n, 2|3)``
    arrays or of tables (one sample each), a long DataFrame or astropy table (one
    sample per object, in order of first appearance). Cleaning follows the package's one policy; a
    sample that cleaning would drop entirely is an error naming it (a
    transformer must return one row per sample). ``fit`` ignores ``y``.
    """

    def __init__(self, preset=LIGHT_CURVE_PRESET, batch_size=256, pooling="object", bands=None, how="concatenate",
                 time_precision="float64", statistics=("mean",), columns=None, zero_point=None, layers="last",
                 fold=None, time_scales=(1.0,)):
        self.preset = preset
        self.batch_size = batch_size
        self.pooling = pooling
        self.bands = bands
        self.how = how
        self.time_precision = time_precision
        self.statistics = statistics
        self.columns = columns
        self.zero_point = zero_point
        self.layers = layers
        self.fold = fold
        self.time_scales = time_scales

    def _input(self, X):
        from astromer.data.curve_inputs import as_curve_input

        X = as_curve_input(X, columns=self.columns, zero_point=self.zero_point)[0]
        if hasattr(X, "columns") and "band" in X.columns:   # bands as text: 1 and "1" are one band
            X = X.assign(band=X["band"].where(X["band"].isna(), X["band"].astype(str)))
        return X

    def fit(self, X, y=None):
        """Load the encoder (and, for DataFrames with bands, note the band order)."""
        import astromer

        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {self.pooling!r}")
        if self.fold not in FOLDS:
            raise ValueError(f"fold must be one of {FOLDS}, got {self.fold!r}")
        if self.how not in ("concatenate", "mean"):
            raise ValueError(f"how must be 'concatenate' or 'mean', got {self.how!r}")
        from astromer.models.astromer.astromer_model import EMBED_LAYERS
        from astromer.models.astromer.embeddings import time_scales_of

        if self.layers not in EMBED_LAYERS:
            raise ValueError(f"layers must be one of {EMBED_LAYERS}, got {self.layers!r}")
        model = self.preset if isinstance(self.preset, astromer.Astromer) else \
            astromer.load_preset(self.preset, progress=False)
        if not isinstance(model, astromer.Astromer):
            raise TypeError(f"preset {self.preset!r} holds a {type(model).__name__}, not an Astromer light-curve model")
        self.model_ = model
        X = self._input(X)
        self.bands_ = [str(b) for b in self.bands] if self.bands is not None else _bands_of(X)
        per_observation = model.width * (model.num_layers if self.layers == "blocks" else 1) * \
            len(time_scales_of(self.time_scales))
        self.n_features_out_ = per_observation * len(self.statistics) * (len(self.bands_) if self._concatenates() else 1)
        return self

    def _concatenates(self):
        return self.pooling == "object" and self.how == "concatenate" and bool(self.bands_)

    def transform(self, X):
        """``(n_samples, d)`` float32 embeddings: ``d`` = width x blocks (``layers="blocks"``) x
        ``len(time_scales)`` x ``len(statistics)`` x bands (when concatenated), ``n_features_out_``."""
        check_is_fitted(self, "model_")
        X = self._input(X)
        self._check_bands(X)
        if self.fold == "periodogram":
            X = _folded(X)
        result = self.model_.embed(X, batch_size=self.batch_size, verbose=0, time_precision=self.time_precision,
                                   layers=self.layers, time_scales=self.time_scales)
        expected = _samples(X)
        if self.pooling == "curve" or not self.bands_:
            if result.dropped:
                raise ValueError(f"{len(result.dropped)} sample(s) have no usable observation after cleaning "
                                 f"(e.g. {result.dropped[:5]}); remove them before transform")
            return result.statistics(self.statistics)
        objects, vectors = result.object_vectors(bands=self.bands_, how=self.how,
                                                 vectors=result.statistics(self.statistics))
        missing = [o for o in expected if o not in set(objects)] if expected is not None else []
        if missing:
            raise ValueError(f"{len(missing)} object(s) have no usable observation after cleaning "
                             f"(e.g. {missing[:5]}); remove them before transform")
        covered = {i[0] for i in result.ids if isinstance(i, tuple) and str(i[1]) in self.bands_}
        empty = [o for o in objects if o not in covered]
        if empty:
            raise ValueError(f"{len(empty)} object(s) have no usable observation in the bands {self.bands_} "
                             f"(e.g. {empty[:5]}); remove them or choose their bands with bands=")
        return vectors

    def _check_bands(self, X):
        """With bands from ``fit``, ``X`` must be a table with a ``band`` column and no band ``fit``
        did not see (its rows would be left out, and an object of unseen bands only would be zeros)."""
        if self.pooling != "object" or not self.bands_:
            return
        if not (hasattr(X, "columns") and "band" in X.columns):
            raise ValueError(f"fit saw a table with bands {self.bands_}; transform needs one too (a long table "
                             "with a 'band' column), not curves without bands")
        unseen = sorted(set(X["band"].dropna()) - set(self.bands_))
        if unseen and self.bands is None:
            raise ValueError(f"band(s) {unseen} were not in the table given to fit (its bands: {self.bands_}); "
                             "fit on every band, or choose the bands with bands=")

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "model_")
        stats = list(self.statistics)
        width = self.n_features_out_ // len(stats) // (len(self.bands_) if self._concatenates() else 1)
        names = [f"emb_{k}" if stats == ["mean"] else f"emb_{s}_{k}" for s in stats for k in range(width)]
        if self._concatenates():
            return np.array([f"{b}_{n}" for b in self.bands_ for n in names], dtype=object)
        return np.array(names, dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False  # samples are light curves, not rows of numbers
        tags.non_deterministic = False
        return tags


def _folded(X):
    """The long table of ``X`` (a list of arrays becomes objects 0..n-1) folded on each object's
    periodogram period, objects in their order."""
    import pandas as pd

    from astromer.baselines.lc_features import best_periods, object_lc_features
    from astromer.data import fold_light_curves, prepare_light_curves

    if not isinstance(X, pd.DataFrame):
        X = pd.concat([pd.DataFrame(np.asarray(a, dtype=np.float64)[:, :3],
                                    columns=["time", "mag", "mag_err"][:np.shape(a)[1]]).assign(object_id=i)
                       for i, a in enumerate(X)], ignore_index=True)
    ids, F, names = object_lc_features(prepare_light_curves(X), n_jobs=1)
    periods = best_periods(ids, F, names)
    lost = [o for o in dict.fromkeys(X["object_id"]) if not np.isfinite(periods.get(o, np.nan))]
    if lost:
        raise ValueError(f"fold='periodogram': {len(lost)} object(s) have no periodogram period (e.g. {lost[:5]}); "
                         "remove them or embed them unfolded")
    return fold_light_curves(X, periods)[0]


def _bands_of(X):
    if hasattr(X, "columns") and "band" in X.columns:
        return sorted(str(b) for b in X["band"].dropna().unique())
    return []


def _samples(X):
    """Object ids in order of first appearance for a DataFrame input (None for lists)."""
    if hasattr(X, "columns") and "object_id" in X.columns:
        return list(dict.fromkeys(X["object_id"].dropna().tolist()))
    return None
