"""Simulated galaxy images for AstroPT: Sersic bulges, exponential discs with spiral arms, PSF, noise.

:func:`simulate_galaxies` draws colour cutouts of three morphological classes
(``GALAXY_CLASSES``), centred as in SDSS/Galaxy Zoo cutouts::

    from astromer.data.synthetic import simulate_galaxies
    images, labels = simulate_galaxies(64, size=128, seed=0)   # uint8 (64, 128, 128, 3)

- ``elliptical``: a de Vaucouleurs-like Sersic profile (n 3-5), axis ratio
  0.55-1, red;
- ``spiral``: a small red bulge (n 1.5-3) in a bluer exponential disc seen at a
  moderate inclination, with 2-4 logarithmic arms (pitch 12-30 degrees, either
  winding) and knots of star formation along them;
- ``edge_on``: a thin disc (axis ratio 0.08-0.2) with a bulge and a dust lane.

Each image is the sum of its components in three bands (g, r, i mapped to
blue, green, red), convolved with a Gaussian PSF (FWHM 1.5-3 px), plus sky
noise and a few faint field stars, then stretched with asinh to 8 bits.
Seeded: image ``i`` depends only on ``(seed, i)`` and the class list.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

GALAXY_CLASSES = ("elliptical", "spiral", "edge_on")

# Relative flux of the components in the (R, G, B) = (i, r, g) channels.
RED = np.array([1.0, 0.72, 0.42])
BLUE = np.array([0.75, 0.8, 0.95])


def _sersic_b(n):
    return 2.0 * n - 1.0 / 3.0 + 4.0 / (405.0 * n)


def _coordinates(size, centre, angle, axis_ratio):
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)
    dx, dy = x - centre[0], y - centre[1]
    c, s = np.cos(angle), np.sin(angle)
    u = c * dx + s * dy  # along the major axis
    v = (-s * dx + c * dy) / axis_ratio  # de-projected minor axis
    return u, v


def sersic(size, centre, r_eff, n, axis_ratio=1.0, angle=0.0):
    """A Sersic profile of unit central-ish scale: ``exp(-b_n ((r / r_eff)^(1/n) - 1))``."""
    u, v = _coordinates(size, centre, angle, axis_ratio)
    r = np.hypot(u, v)
    return np.exp(-_sersic_b(n) * ((r / r_eff) ** (1.0 / n) - 1.0))


def _spiral_arms(size, centre, angle, axis_ratio, n_arms, pitch_deg, phase, winding, r_scale):
    u, v = _coordinates(size, centre, angle, axis_ratio)
    r = np.hypot(u, v) + 1e-6
    theta = np.arctan2(v, u)
    k = 1.0 / np.tan(np.radians(pitch_deg))
    arg = n_arms * (theta - winding * k * np.log(r / r_scale) - phase)
    arms = (0.5 * (1 + np.cos(arg))) ** 3  # narrow arms
    # arms fade in the centre (bulge) and at large radii
    envelope = (1 - np.exp(-(r / (0.6 * r_scale)) ** 2))
    return arms * envelope


def _gaussian_psf(image, fwhm):
    from scipy.ndimage import gaussian_filter

    sigma = fwhm / 2.3548
    return np.stack([gaussian_filter(image[..., c], sigma, mode="constant") for c in range(image.shape[-1])], -1)


def _galaxy(label, size, rng):
    centre = (size - 1) / 2 + rng.normal(0, 0.6, 2)
    scale = size / 128.0
    angle = rng.uniform(0, np.pi)
    image = np.zeros((size, size, 3))
    params = {"angle": angle}
    if label == "elliptical":
        r_eff = rng.uniform(5, 14) * scale
        q = rng.uniform(0.55, 1.0)
        n = rng.uniform(3, 5)
        image += sersic(size, centre, r_eff, n, q, angle)[..., None] * RED * 1.6
        params.update(r_eff=r_eff, axis_ratio=q, sersic_n=n)
    elif label == "spiral":
        q = rng.uniform(0.45, 1.0)
        h = rng.uniform(8, 16) * scale  # disc scale length
        disc = sersic(size, centre, 1.678 * h, 1.0, q, angle)
        bulge = sersic(size, centre, rng.uniform(2, 4) * scale, rng.uniform(1.5, 3), min(1.0, q + 0.2), angle)
        n_arms = int(rng.choice([2, 2, 3, 4]))
        pitch = rng.uniform(12, 30)
        winding = rng.choice([-1, 1])
        arms = _spiral_arms(size, centre, angle, q, n_arms, pitch, rng.uniform(0, 2 * np.pi), winding, h)
        knots = (rng.uniform(size=(size, size)) < 0.01) * arms * disc
        from scipy.ndimage import gaussian_filter

        knots = gaussian_filter(knots, 0.8) * 6
        disc_light = disc * (0.35 + 1.3 * arms) + knots
        image += disc_light[..., None] * BLUE * 0.9 + bulge[..., None] * RED * rng.uniform(0.8, 2.0)
        params.update(axis_ratio=q, scale_length=h, n_arms=n_arms, pitch=pitch,
                      winding="clockwise" if winding > 0 else "anticlockwise")
    elif label == "edge_on":
        q = rng.uniform(0.08, 0.2)
        h = rng.uniform(10, 18) * scale
        disc = sersic(size, centre, 1.678 * h, 1.0, q, angle)
        bulge = sersic(size, centre, rng.uniform(2, 5) * scale, rng.uniform(1.5, 3), 0.7, angle)
        u, v = _coordinates(size, centre, angle, 1.0)
        dust = 1 - rng.uniform(0.3, 0.7) * np.exp(-0.5 * (v / (0.5 + 0.8 * scale)) ** 2) * (np.abs(u) < 2.5 * h)
        image += (disc[..., None] * BLUE * 1.2 + bulge[..., None] * RED * rng.uniform(0.5, 1.2)) * dust[..., None]
        params.update(axis_ratio=q, scale_length=h)
    else:
        raise ValueError(f"unknown galaxy class {label!r}; choose from {GALAXY_CLASSES}")
    brightness = rng.uniform(0.6, 1.4)
    image *= brightness
    # a few faint foreground stars
    for _ in range(rng.poisson(1.5)):
        x, y = rng.uniform(0, size, 2)
        yy, xx = np.mgrid[0:size, 0:size]
        image += (rng.uniform(0.2, 2.0) * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / 0.5))[..., None] * \
            rng.uniform(0.6, 1.0, 3)
    fwhm = rng.uniform(1.5, 3.0)
    image = _gaussian_psf(image, fwhm)
    image += rng.normal(0, 0.015, image.shape)
    params.update(brightness=brightness, psf_fwhm=fwhm)
    return image, params


def simulate_galaxies(n_images=64, classes=GALAXY_CLASSES, *, size=128, seed=0, id_prefix="gal"):
    """Simulate ``n_images`` RGB galaxy cutouts, classes in equal shares (image ``i`` has class ``i % K``).

    Returns ``(images, labels)``: ``images`` uint8 ``(n_images, size, size, 3)``
    (channels last, as the image records and ``AstroPT.embed`` take them);
    ``labels`` a DataFrame with ``object_id, label`` and the drawn parameters.
    """
    classes = tuple(classes)
    unknown = [c for c in classes if c not in GALAXY_CLASSES]
    if unknown or not classes:
        raise ValueError(f"unknown galaxy classes {unknown}; choose from {GALAXY_CLASSES}")
    if int(size) < 16:
        raise ValueError(f"size must be at least 16 pixels, got {size}")
    images = np.empty((int(n_images), int(size), int(size), 3), dtype=np.uint8)
    rows = []
    for i in range(int(n_images)):
        rng = np.random.default_rng([seed, i, 1])
        label = classes[i % len(classes)]
        image, params = _galaxy(label, int(size), rng)
        stretched = np.arcsinh(np.clip(image, 0, None) / 0.08) / np.arcsinh(1.0 / 0.08)
        images[i] = np.clip(np.round(255 * stretched), 0, 255).astype(np.uint8)
        rows.append({"object_id": f"{id_prefix}{i:05d}", "label": label, **params})
    return images, pd.DataFrame(rows)
