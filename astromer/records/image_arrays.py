"""Pixel arrays (NumPy, HDF5 and FITS cutouts) as lossless PNG bytes for image records.

Image records hold encoded images (:func:`astromer.records.schema.image_example`). Arrays are
stored as PNG, without loss where the pixels are integers:

- ``uint8`` -> 8-bit PNG and ``uint16`` -> 16-bit PNG, unchanged;
- anything else (float cutouts, other integers) -> 16-bit PNG after a linear map of the
  image's own ``[min, max]`` to ``[0, 65535]``. AstroPT standardises every patch (mean 0,
  std 1), which undoes any per-image ``a * x + b``: its tokens are unchanged up to a
  quantisation of 2^-16 of the image's range.

Images with a NaN or infinite pixel, constant images, and shapes PNG cannot hold (1, 2, 3 or 4
channels) are rejected with the reason (the callers count them as dropped).
FITS files are read with astropy (the ``astro`` extra); their images are channels first, as
astronomers store band stacks (``(bands, H, W)``); NumPy and HDF5 arrays are channels last.
"""

from __future__ import annotations

import os

import numpy as np

from astromer.errors import AstromerError

FITS_EXTENSIONS = (".fits", ".fit", ".fts", ".fits.gz", ".fit.gz", ".fits.fz")
HDF5_EXTENSIONS = (".h5", ".hdf5", ".hdf")


class PixelError(AstromerError, ValueError):
    """An image that cannot be stored: the message says why; ``reason`` is the drop-report key
    (``"bad_pixels"``: NaN/inf, constant or oddly shaped; ``"unreadable"``: a file that does not
    decode)."""

    def __init__(self, message, reason="bad_pixels"):
        super().__init__(message)
        self.reason = reason


def is_fits(path) -> bool:
    return os.fspath(path).lower().endswith(FITS_EXTENSIONS)


def is_hdf5(path) -> bool:
    return os.fspath(path).lower().endswith(HDF5_EXTENSIONS)


def fits_holds_images(path) -> bool:
    """Whether a FITS file is image cutouts rather than a table (a light curve): its first HDU with
    data is an image of 2+ axes. (A TESS light-curve file's first data HDU is its table; its
    aperture image comes after.) False when the file cannot be read or astropy is missing."""
    import warnings

    try:
        from astropy.io import fits

        with warnings.catch_warnings():   # a look, not the read: the reader that follows warns
            warnings.simplefilter("ignore")
            with fits.open(os.fspath(path), memmap=True) as hdul:
                for hdu in hdul:
                    if hdu.header.get("NAXIS", 0) == 0:
                        continue
                    return bool(getattr(hdu, "is_image", False)) and int(hdu.header.get("NAXIS", 0)) >= 2
    except Exception:  # noqa: BLE001 - unreadable or not FITS: not an image input; the table reader says why
        return False
    return False


def file_stem(name) -> str:
    """``name`` without its image extension (``a.fits.gz`` -> ``a``)."""
    base = os.path.basename(os.fspath(name))
    lower = base.lower()
    for ext in sorted(FITS_EXTENSIONS, key=len, reverse=True):
        if lower.endswith(ext):
            return base[: -len(ext)]
    return os.path.splitext(base)[0]


def channels_last(array, channels_first=False):
    """``(H, W)`` -> ``(H, W, 1)``; ``(C, H, W)`` -> ``(H, W, C)`` when ``channels_first``."""
    array = np.asarray(array)
    if array.ndim == 2:
        return array[:, :, None]
    if array.ndim != 3:
        raise PixelError(f"an image must be (H, W) or (H, W, C), got shape {array.shape}")
    return np.moveaxis(array, 0, -1) if channels_first else array


def to_png_pixels(array):
    """``(H, W, C)`` pixels as ``uint8``/``uint16`` PNG pixels (see the module docstring)."""
    array = np.asarray(array)
    if array.ndim != 3 or array.shape[-1] not in (1, 2, 3, 4):
        raise PixelError(f"PNG holds (H, W, 1-4 channels) images, got shape {array.shape}")
    if min(array.shape[:2]) < 1:
        raise PixelError(f"empty image of shape {array.shape}")
    if array.dtype in (np.uint8, np.uint16):
        return array
    if array.dtype == bool:
        return array.astype(np.uint8) * 255
    if not np.issubdtype(array.dtype, np.number):
        raise PixelError(f"pixels must be numbers, got dtype {array.dtype}")
    values = array.astype(np.float64)
    if not np.isfinite(values).all():
        raise PixelError(f"{int((~np.isfinite(values)).sum())} NaN or infinite pixels")
    lo, hi = float(values.min()), float(values.max())
    if hi <= lo:
        raise PixelError(f"constant image (every pixel {lo:g})")
    return np.rint((values - lo) * (65535.0 / (hi - lo))).astype(np.uint16)


def encode_png(array):
    """``(bytes, height, width, channels)`` of an ``(H, W, C)`` array as PNG."""
    import tensorflow as tf

    pixels = to_png_pixels(array)
    data = tf.io.encode_png(tf.constant(pixels)).numpy()
    return data, int(pixels.shape[0]), int(pixels.shape[1]), int(pixels.shape[2])


def _astropy_fits():
    try:
        from astropy.io import fits
    except ImportError as exc:  # pragma: no cover - depends on the extra
        raise ImportError("reading FITS cutouts needs astropy: pip install 'astromer-keras[astro]'") from exc
    return fits


def _first_image_hdu(hdul, path, min_ndim):
    for hdu in hdul:
        data = getattr(hdu, "data", None)
        if data is not None and getattr(hdu, "is_image", False) and data.ndim >= min_ndim:
            return hdu
    raise PixelError(f"FITS file {os.fspath(path)!r} has no image HDU with {min_ndim}+ axes", "unreadable")


def read_fits_image(path):
    """One cutout from a FITS file: the first image HDU, ``(H, W)`` or ``(C, H, W)``, channels last."""
    fits = _astropy_fits()
    try:
        with fits.open(os.fspath(path), memmap=False) as hdul:
            data = np.array(_first_image_hdu(hdul, path, 2).data)
    except OSError as exc:
        raise PixelError(f"not a readable FITS file ({exc})", "unreadable") from exc
    if data.ndim == 4 and data.shape[0] == 1:
        data = data[0]
    return channels_last(data.astype(data.dtype.newbyteorder("=")), channels_first=data.ndim == 3)


def read_cube(path, key=None, id_key=None, channels_first=None):
    """A stack of cutouts from one HDF5 or FITS file: ``(images (N, H, W, C), ids or None)``.

    HDF5: dataset ``key`` (default ``"images"``, or the only dataset with 3+ axes), channels last
    unless ``channels_first``; ids from dataset ``id_key`` (default ``"object_id"`` or ``"ids"``
    when present). FITS: the first image HDU with 3+ axes, ``(N, H, W)`` or ``(N, C, H, W)``
    (channels first unless ``channels_first=False``); ids from column ``id_key`` (default
    ``object_id``) of the first table HDU that has it.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"image file {path!r} does not exist")
    ids = None
    if is_hdf5(path):
        import h5py

        with h5py.File(path, "r") as f:
            sets = {name: f[name] for name in f if isinstance(f[name], h5py.Dataset)}
            if key is None:
                stacks = [n for n, d in sets.items() if d.ndim >= 3]
                key = "images" if "images" in sets else (stacks[0] if len(stacks) == 1 else None)
                if key is None:
                    raise ValueError(f"HDF5 file {path!r}: say which dataset holds the images "
                                     f"(--images-key); datasets: {sorted(sets)}")
            if key not in sets:
                raise ValueError(f"HDF5 file {path!r} has no dataset {key!r}; datasets: {sorted(sets)}")
            images = np.asarray(sets[key])
            id_name = id_key or next((n for n in ("object_id", "ids", "id") if n in sets), None)
            if id_key and id_key not in sets:
                raise ValueError(f"HDF5 file {path!r} has no dataset {id_key!r}; datasets: {sorted(sets)}")
            if id_name:
                ids = np.asarray(sets[id_name])
        first = bool(channels_first)
    elif is_fits(path):
        fits = _astropy_fits()
        try:
            with fits.open(path, memmap=False) as hdul:
                images = np.array(_first_image_hdu(hdul, path, 3).data)
                name = id_key or "object_id"
                for hdu in hdul:
                    columns = getattr(getattr(hdu, "columns", None), "names", None) or []
                    if name in columns:
                        ids = np.asarray(hdu.data[name])
                        break
                else:
                    if id_key:
                        raise ValueError(f"FITS file {path!r} has no table column {id_key!r}")
        except OSError as exc:
            raise ValueError(f"FITS file {path!r} cannot be read ({exc})") from exc
        images = images.astype(images.dtype.newbyteorder("="))
        first = channels_first is not False
    else:
        raise ValueError(f"{path!r} is not an HDF5 ({', '.join(HDF5_EXTENSIONS)}) or FITS "
                         f"({', '.join(FITS_EXTENSIONS)}) file")
    if images.ndim == 3:
        images = images[..., None]
    elif images.ndim == 4:
        images = np.moveaxis(images, 1, -1) if first else images
    else:
        raise ValueError(f"{path!r}: the image stack must be (N, H, W) or (N, H, W, C) / (N, C, H, W), "
                         f"got shape {images.shape}")
    if ids is not None:
        ids = [i.decode() if isinstance(i, bytes) else str(i) for i in ids.tolist()]
        if len(ids) != len(images):
            raise ValueError(f"{path!r}: {len(ids)} ids for {len(images)} images")
    return images, ids
