"""Light-curve figures: curves, examples per class, Astromer reconstructions and attention."""

from __future__ import annotations

import numpy as np

from astromer.plot._figure import finish, new_figure

BAND_COLOURS = {"u": "tab:purple", "g": "tab:green", "r": "tab:red", "i": "tab:brown", "z": "black",
                "b": "tab:blue", "R": "tab:red", "B": "tab:blue", "V": "tab:olive"}


def _one_curve(data, object_id=None, band=None):
    """(n, 3) float64 array (time, mag, err) of one curve from an array or a long DataFrame."""
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        frame = data
        if object_id is not None:
            frame = frame[frame["object_id"].astype(str) == str(object_id)]
        if band is not None and "band" in frame.columns:
            frame = frame[frame["band"].astype(str) == str(band)]
        if "object_id" in frame.columns and frame["object_id"].nunique() > 1:
            raise ValueError("the table holds several objects; pass object_id=")
        if "band" in frame.columns and frame["band"].nunique() > 1:
            raise ValueError("the table holds several bands; pass band=")
        if frame.empty:
            raise ValueError(f"no rows for object {object_id!r} band {band!r}")
        err = frame["mag_err"] if "mag_err" in frame.columns else np.zeros(len(frame))
        data = np.stack([frame["time"], frame["mag"], err], axis=1)
    curve = np.asarray(data, dtype=np.float64)
    if curve.ndim != 2 or curve.shape[1] not in (2, 3):
        raise ValueError(f"a light curve must be (n, 2) or (n, 3) (time, mag[, err]); got {curve.shape}")
    if curve.shape[1] == 2:
        curve = np.concatenate([curve, np.zeros((len(curve), 1))], axis=1)
    curve = curve[np.isfinite(curve).all(axis=1)]
    return curve[np.argsort(curve[:, 0], kind="stable")]


def _draw_curve(ax, curve, period=None, colour="black", label=None, marker="o"):
    t, m, e = curve[:, 0], curve[:, 1], curve[:, 2]
    if period is not None and np.isfinite(period) and period > 0:
        phase = (t / period) % 1.0
        t = np.concatenate([phase, phase + 1.0])
        m, e = np.tile(m, 2), np.tile(e, 2)
    ax.errorbar(t, m, yerr=e if np.any(e > 0) else None, fmt=marker, ms=3, lw=0.6, color=colour,
                ecolor=colour, alpha=0.75, label=label, elinewidth=0.6, capsize=0)


def _finish_axes(ax, period=None, time_label="time [d]"):
    ax.set_xlabel("phase" if period is not None and np.isfinite(period) else time_label)
    ax.set_ylabel("magnitude")
    if not ax.yaxis_inverted():
        ax.invert_yaxis()
    ax.grid(alpha=0.25)


def light_curve(data, *, object_id=None, period=None, title=None, ax=None, path=None):
    """Plot a light curve: an ``(n, 2|3)`` array (time, mag[, err]) or a long DataFrame
    (``object_id, [band,] time, mag[, mag_err]``; every band in its colour). With
    ``period`` the curve is folded and shown over two cycles. Magnitudes grow downwards."""
    import pandas as pd

    fig = None
    if ax is None:
        fig, ax = new_figure(figsize=(7, 3.6))
    if isinstance(data, pd.DataFrame) and "band" in data.columns:
        frame = data if object_id is None else data[data["object_id"].astype(str) == str(object_id)]
        for band, rows in frame.groupby("band", sort=True):
            _draw_curve(ax, _one_curve(rows.drop(columns="band"), object_id=None), period,
                        BAND_COLOURS.get(str(band), None), label=f"band {band}")
        if frame["band"].nunique() > 1:
            ax.legend(fontsize=8)
    else:
        _draw_curve(ax, _one_curve(data, object_id), period)
    _finish_axes(ax, period)
    if title is not None:
        ax.set_title(title)
    return finish(fig if fig is not None else ax.figure, path)


def class_examples(curves, labels, *, per_class=1, label_column="label", period_column="period",
                   seed=0, ncols=3, path=None, title="Example light curves"):
    """One panel per class with ``per_class`` example curves (the first band of each),
    folded at the true period when ``labels`` has a ``period`` column (as the simulator's)."""
    labels = labels.copy()
    labels["object_id"] = labels["object_id"].astype(str)
    classes = sorted(labels[label_column].astype(str).unique())
    nrows = -(-len(classes) // ncols)
    fig, axes = new_figure(nrows, ncols, figsize=(4.2 * ncols, 2.8 * nrows), squeeze=False)
    rng = np.random.default_rng(seed)
    ids = curves["object_id"].astype(str)
    for ax, cls in zip(axes.flat, classes):
        rows = labels[labels[label_column].astype(str) == cls]
        picks = rows.iloc[rng.permutation(len(rows))[:per_class]]
        for k, (_, row) in enumerate(picks.iterrows()):
            frame = curves[ids == row["object_id"]]
            if "band" in frame.columns:
                frame = frame[frame["band"] == sorted(frame["band"].unique())[0]].drop(columns="band")
            period = row.get(period_column, None) if period_column in labels.columns else None
            period = float(period) if period is not None and np.isfinite(period) else None
            _draw_curve(ax, _one_curve(frame), period, colour=f"C{k}")
            subtitle = f"{cls}" + (f"  (P = {period:.3g} d)" if period and per_class == 1 else "")
            ax.set_title(subtitle, fontsize=10)
            _finish_axes(ax, period)
    for ax in list(axes.flat)[len(classes):]:
        ax.set_visible(False)
    fig.suptitle(title)
    return finish(fig, path)


def _window(model, curve, start=0):
    from astromer.data.windows import window_curves

    windows = window_curves([curve], window_size=model.window_size)
    k = int(np.clip(start, 0, len(windows) - 1))
    return windows, k


def _seen(real, hidden):
    return np.setdiff1d(real, hidden)


def reconstruction(model, data, *, object_id=None, band=None, probed=0.5, seed=0, window=0,
                   title=None, ax=None, path=None):
    """A light curve with Astromer's reconstruction of the points it was not shown.

    One window (``window``-th sequential window of ``model.window_size``
    observations) of the curve is encoded with a random ``probed`` fraction of
    its observations hidden (seeded by ``seed``: left out of the attention mask and
    their input magnitudes set to the window mean); the figure shows the visible
    observations, the hidden ones (true values, open circles), the model's
    reconstruction at the hidden ones (filled) and its reconstruction along
    every observation (line). The title gives the RMSE on the hidden points.
    """
    curve = _one_curve(data, object_id, band)
    windows, k = _window(model, curve, window)
    mask = windows.mask[k].copy()
    real = np.flatnonzero(mask > 0)
    rng = np.random.default_rng(seed)
    hidden = rng.choice(real, size=max(1, int(np.floor(len(real) * probed))), replace=False)
    visible = mask.copy()
    visible[hidden] = 0.0
    # Hidden inputs are also set to the window mean (0): models without a mask token (Astromer 1) add
    # their attention mask with +1 and would otherwise still see the hidden values.
    x = {"times": windows.times[k:k + 1], "magnitudes": (windows.magnitudes[k] * visible)[None],
         "mask": visible[None]}
    pred = np.asarray(model(x, training=False))[0]
    t = windows.times[k] + windows.time_mean[k]
    true = windows.magnitudes[k] + windows.mag_mean[k]
    rec = pred + windows.mag_mean[k]
    err = windows.errors[k]
    seen = np.setdiff1d(real, hidden)
    rmse = float(np.sqrt(np.mean((pred[hidden] - windows.magnitudes[k][hidden]) ** 2)))
    # reference: guessing the mean of the visible points
    baseline = float(np.sqrt(np.mean((windows.magnitudes[k][hidden] - windows.magnitudes[k][_seen(real, hidden)].mean()) ** 2)))

    fig = None
    if ax is None:
        fig, ax = new_figure(figsize=(8, 3.8))
    ax.errorbar(t[seen], true[seen], yerr=err[seen], fmt="o", ms=3.5, color="0.25", lw=0.6,
                elinewidth=0.6, label=f"visible ({len(seen)})")
    ax.plot(t[real], rec[real], "-", color="tab:blue", lw=0.8, alpha=0.6, label="reconstruction")
    ax.plot(t[hidden], true[hidden], "o", ms=6, mfc="none", mec="tab:red", mew=1.2,
            label=f"hidden, true ({len(hidden)})")
    ax.plot(t[hidden], rec[hidden], "o", ms=3.5, color="tab:blue", label="hidden, reconstructed")
    for h in hidden:
        ax.plot([t[h], t[h]], [true[h], rec[h]], color="tab:red", lw=0.5, alpha=0.6)
    _finish_axes(ax)
    ax.legend(fontsize=8, ncols=2, loc="best")
    where = f" (window {k + 1} of {len(windows)})" if len(windows) > 1 else ""
    ax.set_title(f"{title + ': ' if title else ''}masked reconstruction{where}\n"
                 f"RMSE on hidden points {rmse:.3f} mag (guessing the visible mean: {baseline:.3f})", fontsize=10)
    return finish(fig if fig is not None else ax.figure, path)


def attention(model, data, *, object_id=None, band=None, block=-1, head=None, window=0, title=None,
              path=None):
    """Where the encoder looks: attention over one window of a curve.

    Left: the curve, each observation coloured by the attention it receives
    (mean over queries and ``head``, or over all heads). Right: the attention
    matrix (query observation x key observation) of block ``block``.
    """
    from matplotlib import colors

    curve = _one_curve(data, object_id, band)
    windows, k = _window(model, curve, window)
    n = int(windows.length[k])
    x = {"times": windows.times[k:k + 1], "magnitudes": windows.magnitudes[k:k + 1],
         "mask": windows.mask[k:k + 1]}
    weights = model.attention_weights(x)
    blocks = len(weights)
    b = block % blocks
    w = weights[b][0]  # (heads, T, T)
    w = w.mean(axis=0) if head is None else w[int(head)]
    w = w[:n, :n]
    received = w.mean(axis=0)
    t = windows.times[k][:n] + windows.time_mean[k]
    m = windows.magnitudes[k][:n] + windows.mag_mean[k]

    fig, (left, right) = new_figure(1, 2, figsize=(11, 4.2), width_ratios=[1.6, 1])
    sc = left.scatter(t, m, c=received, s=16, cmap="viridis", norm=colors.LogNorm(vmin=max(received.min(), 1e-4)))
    fig.colorbar(sc, ax=left, label="attention received (mean over queries)")
    _finish_axes(left)
    left.set_title("observations coloured by attention", fontsize=10)
    im = right.imshow(w, cmap="magma", norm=colors.LogNorm(vmin=max(w[w > 0].min(), 1e-5), vmax=w.max()),
                      interpolation="nearest")
    fig.colorbar(im, ax=right, label="attention weight")
    right.set_xlabel("key (observation index)")
    right.set_ylabel("query (observation index)")
    heads = "mean of heads" if head is None else f"head {head}"
    right.set_title(f"block {b + 1} of {blocks}, {heads}", fontsize=10)
    fig.suptitle(title or "Astromer attention over a light curve")
    return finish(fig, path)
