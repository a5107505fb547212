"""What ``Astromer.embed`` does and returns: one row per observation and a pooled vector per object."""

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np


@dataclass
class LightCurveEmbeddings(Sequence):
    """Embeddings of a list of light curves, in input order.

    - ``observations[i]``: ``(n_i, d)``, one row per kept observation of object
      ``i`` in time order (non-finite rows were dropped before encoding);
      ``result[i]`` is the same array.
    - ``pooled``: ``(N, d)``, the mean of each object's observation rows (every
      observation counts once, whichever window encoded it).
    - ``times[i]``: the (sorted) observation times matching ``observations[i]``.
    - ``ids``: object ids (list indices, or the DataFrame's ``object_id``).
    - ``n_dropped``: rows dropped by cleaning per object (any reason).
    - ``dropped``: ids of input curves dropped whole by cleaning (not in ``ids``).
    - ``report``: the cleaning counts per reason (:class:`astromer.data.cleaning.Report`).
    """

    ids: list
    observations: list
    pooled: np.ndarray
    times: list = field(default_factory=list)
    n_dropped: np.ndarray = None
    dropped: list = field(default_factory=list)
    report: object = None

    def __len__(self):
        return len(self.observations)

    def __getitem__(self, index):
        return self.observations[index]

    def to_frame(self):
        """A pandas DataFrame with one row per observation: object_id, time, emb_0..emb_{d-1}."""
        import pandas as pd

        d = self.pooled.shape[1]
        frames = []
        for oid, t, e in zip(self.ids, self.times, self.observations):
            frame = pd.DataFrame(e, columns=[f"emb_{k}" for k in range(d)])
            frame.insert(0, "time", t)
            frame.insert(0, "object_id", [oid] * len(t))
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)

    def statistics(self, stats=("mean",)):
        """Per curve, the concatenation of ``stats`` over its observation rows: ``"mean"`` (=
        ``pooled``), ``"std"``, ``"max"``, ``"min"``. Returns ``(N, len(stats) * d)``."""
        known = {"mean": np.mean, "std": np.std, "max": np.max, "min": np.min}
        unknown = [s for s in stats if s not in known]
        if unknown:
            raise ValueError(f"unknown statistics {unknown}; choose from {sorted(known)}")
        if tuple(stats) == ("mean",):
            return self.pooled
        return np.stack([np.concatenate([known[s](o, axis=0) for s in stats]) for o in self.observations]
                        ).astype(self.pooled.dtype)

    def object_vectors(self, bands=None, how="concatenate", vectors=None):
        """Combine the pooled vectors of an object's bands (ids ``(object_id, band)``).
        ``vectors``: per-curve rows to combine instead of ``pooled`` (e.g. :meth:`statistics`).

        ``how="concatenate"``: one row per object, the bands' pooled vectors side by
        side in the order of ``bands`` (default: sorted band names), zeros where an
        object lacks a band; ``how="mean"``: the mean over the bands it has.
        Returns ``(object_ids, vectors)``, objects in order of first appearance.
        """
        keys = [i if isinstance(i, tuple) else (i, "") for i in self.ids]
        bands = sorted({b for _, b in keys}) if bands is None else list(bands)
        objects = list(dict.fromkeys(o for o, _ in keys))
        row = {o: i for i, o in enumerate(objects)}
        pooled = self.pooled if vectors is None else np.asarray(vectors)
        d = pooled.shape[1]
        if how == "concatenate":
            out = np.zeros((len(objects), len(bands) * d), dtype=pooled.dtype)
            for (obj, band), vec in zip(keys, pooled):
                if band in bands:
                    j = bands.index(band) * d
                    out[row[obj], j:j + d] = vec
        elif how == "mean":
            out = np.zeros((len(objects), d), dtype=np.float64)
            counts = np.zeros(len(objects))
            for (obj, band), vec in zip(keys, pooled):
                if band in bands:
                    out[row[obj]] += vec
                    counts[row[obj]] += 1
            out = (out / np.maximum(counts, 1)[:, None]).astype(pooled.dtype)
        else:
            raise ValueError(f"how must be 'concatenate' or 'mean', got {how!r}")
        return objects, out

    def __repr__(self):
        d = self.pooled.shape[1] if self.pooled.ndim == 2 else "?"
        n_obs = sum(len(o) for o in self.observations)
        return f"LightCurveEmbeddings({len(self)} objects, {n_obs} observations, dim {d})"


def time_scales_of(time_scales):
    """``time_scales`` (one number or several) as a tuple of positive finite floats."""
    scales = (time_scales,) if np.isscalar(time_scales) else tuple(time_scales)
    try:
        scales = tuple(float(k) for k in scales)
    except (TypeError, ValueError):
        raise ValueError(f"time_scales must be positive numbers, got {time_scales!r}") from None
    if not scales or not all(np.isfinite(k) and k > 0 for k in scales):
        raise ValueError(f"time_scales must be one or more positive numbers, got {time_scales!r}")
    return scales


def embed_light_curves(model, light_curves, ids=None, *, batch_size=256, verbose="auto", rules=None,
                       time_precision="float64", columns=None, zero_point=None, bucketing="auto", layers="last",
                       time_scales=(1.0,)):
    """:meth:`astromer.Astromer.embed` (documented there) for ``model``: clean and window the
    curves, encode the windows (:meth:`~astromer.Astromer.encode_windows`), give each
    observation its row from the first window that holds it, pool per object."""
    from astromer.data.light_curves import prepare_light_curves
    from astromer.data.windows import gather_observations, window_curves
    from astromer.models.batched_inference import require_finite

    if batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size}.")
    scales = time_scales_of(time_scales)
    prepared = prepare_light_curves(light_curves, ids, columns=columns, zero_point=zero_point, rules=rules)
    windows = window_curves(prepared.curves, window_size=model.window_size, time_precision=time_precision)
    z = []
    for k in scales:   # the centred times scaled: time differences, the same cleaning and windows
        times = windows.times if k == 1 else (windows.times.astype(np.float64) * k).astype(windows.times.dtype)
        x = {"times": times, "magnitudes": windows.magnitudes, "mask": windows.mask}
        z.append(np.asarray(model.encode_windows(x, windows.length, batch_size=batch_size, verbose=verbose,
                                                 bucketing=bucketing, layers=layers), dtype=np.float32))
    z = z[0] if len(z) == 1 else np.concatenate(z, axis=-1)
    # float32 also under a bfloat16 policy (what NumPy/sklearn take); only the rows returned
    # (each observation's first window) are gathered and checked, never the padding
    per_object = gather_observations(np.asarray(z, dtype=np.float32), windows, len(prepared.curves))
    require_finite(per_object, prepared.ids, "embedding")
    pooled = np.stack([rows.mean(axis=0) for rows in per_object]).astype("float32")
    return LightCurveEmbeddings(
        ids=list(prepared.ids),
        observations=per_object,
        pooled=pooled,
        times=[c[:, 0] for c in prepared.curves],
        n_dropped=np.asarray(prepared.n_dropped),
        dropped=list(prepared.dropped),
        report=prepared.report,
    )
