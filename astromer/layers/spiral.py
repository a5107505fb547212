"""AstroPT's patch order: images cut into square patches, read as a spiral from the centre out."""

import functools

import keras
import numpy as np
from keras import ops


@functools.lru_cache(maxsize=64)
def _spiral_order_cached(n):
    # Walk the grid clockwise from the top-left corner inwards (right along the
    # top row, down the right column, left along the bottom row, up the left
    # column, then the next ring), recording raster indices. AstroPT reads
    # this walk backwards, so its first token is the innermost patch and its
    # last token is the corner (0, 0).
    seen = np.zeros((n, n), dtype=bool)
    moves = ((0, 1), (1, 0), (0, -1), (-1, 0))
    row, col, heading = 0, 0, 0
    walk = np.empty(n * n, dtype=np.int64)
    for step in range(n * n):
        walk[step] = row * n + col
        seen[row, col] = True
        if step == n * n - 1:
            break
        for _ in range(4):
            r, c = row + moves[heading][0], col + moves[heading][1]
            if 0 <= r < n and 0 <= c < n and not seen[r, c]:
                break
            heading = (heading + 1) % 4
        row, col = r, c
    order = walk[::-1].copy()
    order.setflags(write=False)
    return order


def spiral_order(n):
    """Raster index of each spiral token on an ``n`` x ``n`` patch grid.

    ``spiral_order(n)[k]`` is the raster index (``row * n + col``) of the patch
    that AstroPT feeds as token ``k``: token 0 is the centre patch
    ``(n // 2, (n - 1) // 2)``, then the sequence winds outwards
    counter-clockwise, ring by ring, and ends at the corner ``(0, 0)``. This is
    the order of the original ``GalaxyImageDataset.spiralise`` (``order{n}`` of
    the reference ``spiral_orders.npz``).
    """
    n = int(n)
    if n < 1:
        raise ValueError(f"spiral_order needs a grid side n >= 1, got {n}.")
    return np.array(_spiral_order_cached(n))


def spiral_rank_grid(n):
    """The inverse view: an ``n`` x ``n`` grid holding each patch's spiral token index."""
    order = spiral_order(n)
    rank = np.empty(n * n, dtype=np.int64)
    rank[order] = np.arange(n * n)
    return rank.reshape(n, n)


@keras.saving.register_keras_serializable(package="astromer")
class SpiralPatcher(keras.layers.Layer):
    """Images ``(B, H, W, C)`` to patch tokens ``(B, N, P)`` in AstroPT's order, and back.

    Each image is cut into ``patch_size`` x ``patch_size`` patches on a grid
    read in raster order, every patch is flattened row by row with the channel
    fastest (``P = patch_size**2 * C``, einops ``(p1 p2 c)``), and with
    ``spiral=True`` the tokens are reordered by :func:`spiral_order` (centre
    first). The grid must then be square.

    ``transpose=True`` swaps the image's H and W axes first. The original
    astroPT 2 Hugging Face data path (behind the released v2 weights) does
    this by accident (``np.array(img).swapaxes(0, 2)`` on an (H, W, C) image),
    so its patch grid and the pixels inside each patch are transposed.
    Converted checkpoints set this flag as their training data path did.

    :meth:`inverse` re-assembles tokens into images (for plotting predictions
    or generated patches); it undoes the spiral and the transpose.
    """

    def __init__(self, patch_size=16, transpose=False, spiral=True, **kwargs):
        super().__init__(**kwargs)
        self.patch_size = int(patch_size)
        self.transpose = bool(transpose)
        self.spiral = bool(spiral)
        if self.patch_size < 1:
            raise ValueError(f"patch_size must be positive, got {patch_size}.")

    def grid_shape(self, image_shape):
        """Patch grid ``(rows, cols)`` for an image of shape ``(H, W)`` (before any transpose)."""
        h, w = int(image_shape[0]), int(image_shape[1])
        if h % self.patch_size or w % self.patch_size:
            raise ValueError(
                f"Image size {h}x{w} is not a multiple of the patch size {self.patch_size}; "
                "crop or resize the images first."
            )
        rows, cols = h // self.patch_size, w // self.patch_size
        if self.transpose:
            rows, cols = cols, rows
        if self.spiral and rows != cols:
            raise ValueError(
                f"The spiral order needs a square patch grid; {h}x{w} images give {rows}x{cols} patches."
            )
        return rows, cols

    def call(self, images):
        images = ops.convert_to_tensor(images)
        if len(images.shape) != 4:
            raise ValueError(f"SpiralPatcher expects images (batch, H, W, C); got shape {tuple(images.shape)}.")
        if any(d is None for d in images.shape[1:]):
            raise ValueError("SpiralPatcher needs images with a known height, width and channel count.")
        if not keras.backend.standardize_dtype(images.dtype).startswith("float"):
            images = ops.cast(images, self.compute_dtype)
        if self.transpose:
            images = ops.transpose(images, (0, 2, 1, 3))
        _, h, w, c = images.shape
        p = self.patch_size
        rows, cols = self.grid_shape((h, w) if not self.transpose else (w, h))
        x = ops.reshape(images, (-1, rows, p, cols, p, c))
        x = ops.transpose(x, (0, 1, 3, 2, 4, 5))
        x = ops.reshape(x, (-1, rows * cols, p * p * c))
        if self.spiral:
            x = ops.take(x, ops.convert_to_tensor(spiral_order(rows), dtype="int32"), axis=1)
        return x

    def inverse(self, tokens, grid_shape=None):
        """Tokens ``(B, N, P)`` in this layer's order back to images ``(B, H, W, C)``.

        ``grid_shape`` (rows, cols) is needed only for non-square raster grids.
        """
        tokens = ops.convert_to_tensor(tokens)
        n, size = tokens.shape[1], tokens.shape[2]
        p = self.patch_size
        if size % (p * p):
            raise ValueError(f"Token size {size} is not a multiple of patch_size**2 = {p * p}.")
        c = size // (p * p)
        if grid_shape is None:
            side = int(round(n**0.5))
            if side * side != n:
                raise ValueError(f"{n} tokens do not form a square grid; pass grid_shape=(rows, cols).")
            grid_shape = (side, side)
        rows, cols = int(grid_shape[0]), int(grid_shape[1])
        if rows * cols != n:
            raise ValueError(f"grid_shape {grid_shape} does not hold {n} tokens.")
        x = tokens
        if self.spiral:
            if rows != cols:
                raise ValueError("Spiral tokens come from a square grid.")
            rank = spiral_rank_grid(rows).reshape(-1)
            x = ops.take(x, ops.convert_to_tensor(rank, dtype="int32"), axis=1)
        x = ops.reshape(x, (-1, rows, cols, p, p, c))
        x = ops.transpose(x, (0, 1, 3, 2, 4, 5))
        x = ops.reshape(x, (-1, rows * p, cols * p, c))
        if self.transpose:
            x = ops.transpose(x, (0, 2, 1, 3))
        return x

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        rows, cols = self.grid_shape((h, w))
        return (b, rows * cols, self.patch_size**2 * c)

    def get_config(self):
        config = super().get_config()
        config.update({"patch_size": self.patch_size, "transpose": self.transpose, "spiral": self.spiral})
        return config
