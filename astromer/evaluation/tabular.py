"""The harness's scikit-learn methods: feature forests / boosting, the embedding probe and the
hybrids, each fitted on one row per training object (no validation set)."""

import logging
import time

import numpy as np
from sklearn.metrics import accuracy_score, f1_score

from astromer.evaluation.methods import (
    EMBEDDING_LAYERS,
    EMBEDDING_STATISTICS,
    FEATURE_METHODS,
    METHOD_FAMILY,
    PROBE_TIME_SCALES,
)

log = logging.getLogger("astromer.evaluate")


def scores(method, shots, fold, y_true, y_pred, level, **extra):
    """One results row: macro F1 and accuracy of ``y_pred`` at ``level`` ("object" or "window")."""
    return {"method": method, "family": METHOD_FAMILY.get(method, ""), "shots": shots, "fold": fold,
            "level": level, "macro_f1": f1_score(y_true, y_pred, average="macro"),
            "accuracy": accuracy_score(y_true, y_pred), **extra}


class TabularMethods:
    """Part of :class:`astromer.evaluation.FewShotEvaluation`: the methods on per-object tables.
    Uses the harness's ``data``, ``prepared``, ``classes``, ``seed``, ``n_jobs``, ``_feature_cache``,
    ``_split_columns``, ``_predicted`` and ``_record``."""

    def feature_table(self, kind):
        """``(object_ids, X, column_names, seconds)`` of feature set ``kind`` ("basic": the 16
        features per band, "light_curve": the light-curve package's), computed once per run."""
        if kind not in self._feature_cache:
            from astromer.baselines import object_features, object_lc_features

            start = time.time()
            if kind == "basic":
                ids, X, names = object_features(self.prepared)
            else:
                ids, X, names = object_lc_features(self.prepared, n_jobs=-1 if self.n_jobs is None else self.n_jobs)
            seconds = time.time() - start
            log.info(f"{kind} features: {X.shape[1]} per object for {len(ids)} objects in {seconds:.1f} s")
            self._feature_cache[kind] = (ids, X, names, seconds)
        return self._feature_cache[kind]

    def _run_tabular(self, method, ids, X, make_model, splits, bar, feature_seconds, **extra):
        """Fit ``make_model(y_train)`` (a scikit-learn classifier) on the rows of ``X`` (one per
        object of ``ids``) of each split's training objects; score it on the test objects
        (``extra``: more columns for every row)."""
        from threadpoolctl import threadpool_limits

        row = {o: i for i, o in enumerate(ids)}
        y = np.array([self.classes[self.data.labels[o]] for o in ids])
        test_ids = [o for o in self.data.test_ids if o in row]
        test = np.array([row[o] for o in test_ids], dtype=int)
        for split in splits:
            start = time.time()
            train_ids = [o for o in split["train"] if o in row]
            train = np.array([row[o] for o in train_ids], dtype=int)
            model = make_model(y[train])
            with threadpool_limits(limits=None if self.n_jobs is None or self.n_jobs < 1 else self.n_jobs):
                model.fit(X[train], y[train])
                pred = model.predict(X[test])
            info = self._split_columns(split, train_ids, [], test_ids, uses_validation=False)
            self._record([scores(method, split["shots"], split["fold"], y[test], pred, "object", **info,
                                  seconds=time.time() - start, feature_seconds=feature_seconds, **extra)],
                         self._predicted(method, split, test_ids, y[test], pred))
            bar.update(1)

    def _run_features(self, method, splits, bar):
        from astromer.baselines import feature_classifier

        kind, classifier = FEATURE_METHODS[method]
        ids, X, _, feature_seconds = self.feature_table(kind)
        jobs = -1 if self.n_jobs is None else self.n_jobs
        self._run_tabular(method, ids, X, lambda y: feature_classifier(classifier, seed=self.seed, n_jobs=jobs),
                          splits, bar, feature_seconds)

    def embedding_table(self, encoder, key="embeddings", table=None, time_scales=(1.0,)):
        """``(object_ids, E, seconds)``: the encoder's object embeddings (:data:`EMBEDDING_STATISTICS`
        over each curve's observation rows of :data:`EMBEDDING_LAYERS`, bands side by side, zeros for
        a missing band) of ``table`` (default: the data's curves), once per run and ``key`` (one per
        encoder and input: the pretrained one, the adapted one, the folded curves)."""
        if key not in self._feature_cache:
            start = time.time()
            result = encoder.embed(self.data.table if table is None else table, verbose=0, layers=EMBEDDING_LAYERS,
                                   time_scales=time_scales)
            bands = sorted({i[1] for i in result.ids}) if isinstance(result.ids[0], tuple) else None
            ids, E = result.object_vectors(bands=bands, vectors=result.statistics(EMBEDDING_STATISTICS)) \
                if bands else (list(result.ids), result.statistics(EMBEDDING_STATISTICS))
            seconds = time.time() - start
            log.info(f"{key}: {E.shape[1]} per object for {len(ids)} objects in {seconds:.1f} s")
            self._feature_cache[key] = (list(ids), np.asarray(E, dtype=np.float64), seconds)
        return self._feature_cache[key]

    def time_scaled_embedding_table(self, encoder, scales):
        """``(object_ids, E, seconds)``: :meth:`embedding_table` with each window's centred times
        multiplied by each of ``scales``, side by side (``Astromer.embed(time_scales=...)``; the
        unscaled part is the cached ``probe`` table)."""
        tables = [self.embedding_table(encoder) if k == 1 else
                  self.embedding_table(encoder, f"embeddings_time_x{k:g}", time_scales=(k,)) for k in scales]
        if any(t[0] != tables[0][0] for t in tables):
            raise RuntimeError("time-scaled embeddings cover other objects than the unscaled ones")
        return tables[0][0], np.hstack([t[1] for t in tables]), sum(t[2] for t in tables)

    def folded_embedding_table(self, encoder):
        """:meth:`embedding_table` of the curves folded on each object's periodogram period
        (:func:`astromer.baselines.lc_features.best_periods` of the light-curve features,
        :func:`astromer.data.folding.fold_light_curves`): ``(object_ids, E, seconds, unfolded)``,
        every object of the unfolded table, zeros for one without a period (``unfolded`` of them;
        the seconds include the features')."""
        from astromer.baselines.lc_features import best_periods
        from astromer.data.folding import fold_light_curves

        if "embeddings_fold" not in self._feature_cache:
            f_ids, F, columns, f_seconds = self.feature_table("light_curve")
            folded, dropped = fold_light_curves(self.data.table, best_periods(f_ids, F, columns))
            if dropped:
                log.warning(f"folding: {len(dropped)} objects without a periodogram period keep zero folded "
                            f"embeddings (first: {dropped[0]!r})")
            ids, E, seconds = self.embedding_table(encoder, "embeddings_fold_only", folded)
            all_ids = self.embedding_table(encoder)[0]
            row = {o: i for i, o in enumerate(ids)}
            full = np.zeros((len(all_ids), E.shape[1]))
            have = [i for i, o in enumerate(all_ids) if o in row]
            full[have] = E[[row[all_ids[i]] for i in have]]
            self._feature_cache["embeddings_fold"] = (list(all_ids), full, seconds + f_seconds,
                                                      len(all_ids) - len(have))
        return self._feature_cache["embeddings_fold"]

    def _run_embedding_method(self, method, encoder, splits, bar, **extra):
        """``probe`` on the object embeddings; ``hybrid_*`` on [light-curve features, embeddings];
        the ``*_c`` variants on the embeddings of ``encoder`` adapted by reconstruction (scenario c);
        the ``*_fold`` variants on the embeddings of the curves folded on their period
        (``probe_fold``: unfolded and folded side by side; ``hybrid_*_fold``: the folded ones)."""
        from astromer.hybrid import HybridClassifier, embedding_probe

        variant = next((v for v in ("_c", "_fold", "_scales") if method.endswith(v)), "")
        base = method[:len(method) - len(variant)]
        jobs = -1 if self.n_jobs is None else self.n_jobs
        if variant == "_c":
            ids, E, seconds = self.embedding_table(encoder, "embeddings_c")
        elif variant == "_fold":
            ids, E, seconds, unfolded = self.folded_embedding_table(encoder)
            extra = {**extra, "unfolded_objects": unfolded}
            if base == "probe":  # same ids, same order: the folded table is aligned to the unfolded one
                _, raw, raw_seconds = self.embedding_table(encoder)
                E, seconds = np.hstack([raw, E]), seconds + raw_seconds
        elif variant == "_scales":
            ids, E, seconds = self.time_scaled_embedding_table(encoder, PROBE_TIME_SCALES)
        else:
            ids, E, seconds = self.embedding_table(encoder)
        if base == "probe":
            self._run_tabular(method, ids, E, lambda y: embedding_probe(self.seed, y=y), splits, bar, seconds,
                              **extra)
            return
        f_ids, F, _, f_seconds = self.feature_table("light_curve")
        f_row = {o: i for i, o in enumerate(f_ids)}
        keep = [i for i, o in enumerate(ids) if o in f_row]
        X = np.hstack([F[[f_row[ids[i]] for i in keep]], E[keep]])
        classifier = base.split("_")[1]
        self._run_tabular(method, [ids[i] for i in keep], X,
                          lambda y: HybridClassifier(F.shape[1], classifier=classifier, seed=self.seed, n_jobs=jobs),
                          splits, bar, seconds + f_seconds, **extra)
