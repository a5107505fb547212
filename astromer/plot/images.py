"""Image figures for AstroPT: the spiral patch order and next-patch predictions."""

from __future__ import annotations

import numpy as np

from astromer.plot._figure import finish, new_figure


def _display(image, lo=None, hi=None):
    """An (H, W, C) image scaled to [0, 1] for imshow (a single channel drops its axis)."""
    image = np.asarray(image, dtype=np.float64)
    lo = np.nanmin(image) if lo is None else lo
    hi = np.nanmax(image) if hi is None else hi
    out = np.clip((image - lo) / (hi - lo + 1e-12), 0, 1)
    return out[..., 0] if out.shape[-1] == 1 else out


def image_grid(images, titles=None, *, ncols=6, title=None, path=None):
    """Images ``(N, H, W, C)`` (uint8 or float) in a grid with optional titles."""
    images = np.asarray(images)
    n = len(images)
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig, axes = new_figure(nrows, ncols, figsize=(1.9 * ncols, 2.0 * nrows), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k < n:
            ax.imshow(_display(images[k], 0, 255) if images.dtype == np.uint8 else _display(images[k]),
                      cmap="gray")
            if titles is not None:
                ax.set_title(str(titles[k]), fontsize=8)
    if title:
        fig.suptitle(title)
    return finish(fig, path)


def spiral_order(image, patch_size=16, *, numbers=True, title=None, path=None):
    """The patch grid over ``image`` (H, W, C) with each patch's token index in AstroPT's
    spiral order (token 0 at the centre) and the path through the patch centres."""
    from matplotlib import colormaps

    from astromer.layers.spiral import spiral_rank_grid

    image = np.asarray(image)
    h, w = image.shape[:2]
    p = int(patch_size)
    if h % p or w % p or h // p != w // p:
        raise ValueError(f"a {h}x{w} image does not make a square grid of {p}-pixel patches")
    n = h // p
    rank = spiral_rank_grid(n)
    fig, ax = new_figure(figsize=(6, 6))
    ax.imshow(_display(image, 0, 255) if image.dtype == np.uint8 else _display(image), cmap="gray")
    for k in range(n + 1):
        ax.axhline(k * p - 0.5, color="white", lw=0.5, alpha=0.6)
        ax.axvline(k * p - 0.5, color="white", lw=0.5, alpha=0.6)
    order = np.argsort(rank.reshape(-1))
    rows, cols = np.divmod(order, n)
    cx, cy = cols * p + (p - 1) / 2, rows * p + (p - 1) / 2
    cmap = colormaps["plasma"]
    for k in range(len(order) - 1):
        ax.plot(cx[k:k + 2], cy[k:k + 2], color=cmap(k / max(len(order) - 1, 1)), lw=1.5, alpha=0.9)
    if numbers:
        size = max(4, min(10, int(60 / n)))
        for k in range(len(order)):
            ax.text(cx[k], cy[k], str(k), ha="center", va="center", fontsize=size, color="white",
                    bbox={"boxstyle": "round,pad=0.1", "fc": "black", "alpha": 0.45, "lw": 0})
    ax.set_xlim(-0.5, w - 0.5)
    ax.set_ylim(h - 0.5, -0.5)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title or f"AstroPT spiral order: {n}x{n} patches of {p} px, token 0 at the centre", fontsize=10)
    return finish(fig, path)


def _rollout(model, tokens, context, limit, temperature=0.0, seed=0):
    """``model.generate`` with one fixed input shape (causal: later buffer entries do not matter),
    so every step reuses the same compiled call."""
    rng = np.random.default_rng(seed)
    out = np.array(tokens, dtype="float32")
    buffer = np.zeros_like(out[:, : limit - 1])
    buffer[:, :context] = out[:, :context]
    for t in range(context, out.shape[1]):
        if t < limit:
            nxt = np.asarray(model(buffer, training=False))[:, t - 1]
        else:  # past the block size: the original's sliding context
            nxt = np.asarray(model(out[:, t - (limit - 1):t], training=False))[:, -1]
        if temperature:
            nxt = nxt + temperature * rng.standard_normal(nxt.shape).astype("float32")
        out[:, t] = nxt
        if t < limit - 1:
            buffer[:, t] = nxt
    return out


def astropt_predictions(model, images, *, context=16, temperature=0.0, seed=0, titles=None, path=None):
    """AstroPT's view of images and what it predicts, re-assembled into images.

    Columns: the input image; the model's tokens re-assembled (what it sees:
    patches in spiral order); the next-patch predictions with teacher forcing
    (patch ``t`` predicted from patches ``0..t-1``; patch 0 is given); a
    roll-out that keeps the first ``context`` spiral patches (outlined) and
    generates the rest one patch at a time. Tokens are standardised per patch;
    for display each predicted patch is rescaled with the true patch's mean and
    standard deviation, so brightness differences between patches are the image's.
    """

    images = np.asarray(images)
    if images.ndim == 3:
        images = images[None]
    tokens = model.tokenize(images)
    raw = np.asarray(model.patcher(images.astype("float32")), dtype=np.float64)
    mean = raw.mean(-1, keepdims=True)
    std = raw.std(-1, ddof=1, keepdims=True) + 1e-8

    n_tokens = tokens.shape[1]
    limit = min(n_tokens, model.block_size + 1)
    teacher = np.asarray(model(tokens[:, : limit - 1], training=False))
    forced = np.concatenate([tokens[:, :1], teacher, tokens[:, limit:]], axis=1)
    context = int(np.clip(context, 1, n_tokens - 1))
    rollout = _rollout(model, tokens, context, limit, temperature, seed)

    def assemble(t):
        return model.tokens_to_images(t * std + mean)

    columns = [("input", images.astype(np.float64)), ("tokens re-assembled", assemble(tokens)),
               ("next-patch predictions", assemble(forced)),
               (f"roll-out from {context} patches", assemble(rollout))]
    fig, axes = new_figure(len(images), 4, figsize=(9.6, 2.5 * len(images)), squeeze=False)
    p = model.patch_size
    side = int(round(np.sqrt(n_tokens)))
    from astromer.layers.spiral import spiral_order as order_of

    ctx = order_of(side)[:context]
    for i in range(len(images)):
        lo, hi = float(images[i].min()), float(images[i].max())
        for j, (name, stack) in enumerate(columns):
            ax = axes[i, j]
            ax.imshow(_display(stack[i], lo, hi), cmap="gray")
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(name, fontsize=9)
            if j == 3:
                from matplotlib.patches import Rectangle

                for r in ctx:
                    row, col = divmod(int(r), side)
                    if model.transpose_images:
                        row, col = col, row
                    ax.add_patch(Rectangle((col * p - 0.5, row * p - 0.5), p, p, fill=False, ec="cyan",
                                           lw=0.6, alpha=0.8))
        if titles is not None:
            axes[i, 0].set_ylabel(str(titles[i]), fontsize=8)
    mse = float(np.mean((teacher - tokens[:, 1:limit]) ** 2))
    fig.suptitle(f"AstroPT next-patch prediction (teacher-forced MSE {mse:.3f} in standardised units)",
                 fontsize=10)
    return finish(fig, path)
