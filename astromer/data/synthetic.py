"""Simulated survey light curves: the package's embedded default data set.

:func:`simulate_light_curves` draws variable stars of the classes most
classifiers care about, observed with a realistic irregular ground-based
cadence, and returns them in the long layout that every entry point of the
package reads (``object_id, band, time, mag, mag_err``) plus a labels table
(``object_id, label`` and the true parameters)::

    from astromer.data.synthetic import simulate_light_curves
    curves, labels = simulate_light_curves(600, seed=0)

Classes (``CLASSES``; magnitudes are survey r-band-like, larger = fainter):

- ``rr_lyrae_ab``: fundamental-mode RR Lyrae, P 0.45-0.9 d, amplitude
  0.5-1.2 mag falling with period (the Bailey diagram), a sawtooth with a fast
  rise (~15% of the cycle);
- ``rr_lyrae_c``: first-overtone RR Lyrae, P 0.25-0.45 d, amplitude 0.2-0.5
  mag, nearly sinusoidal;
- ``cepheid``: classical Cepheids, P 3-50 d (log-uniform), amplitude growing
  with log P (0.3-1.0 mag), a slower rise (~30% of the cycle);
- ``eclipsing_binary``: detached and contact systems, P 0.3-10 d, primary
  eclipses 0.2-1 mag deep, a shallower secondary at phase ~0.5 (eccentric
  systems slightly off), ellipsoidal variation in close pairs;
- ``long_period_variable``: Mira and semi-regular variables, P 100-500 d,
  amplitude 1-3.5 mag, asymmetric cycles whose amplitude and mean wander;
- ``non_variable``: constant stars (with a little red noise at the mmag level).

Cadence: every object belongs to one of a few survey fields; a field is
observed in yearly seasons (about 8 months visible, then a gap), on nights
drawn by a weather probability, with 1-4 exposures clustered within a couple
of hours per night. Each object gets a random number of observations
(log-uniform between ``min_observations`` and ``max_observations``) from its
field's nights; measurements fainter than the detection limit are left out. Errors are heteroscedastic: a magnitude-dependent photometric
error (sky-limited at the faint end, a 5 mmag floor at the bright end) times a
per-night seeing factor; magnitudes are drawn with that scatter, and a small
fraction of points are outliers (bad photometry several sigma away, reported
with ordinary errors). Mean magnitudes follow one distribution for every class
(16-20), so brightness and error level do not give the class away.

Everything is seeded: object ``i`` depends only on ``(seed, i)`` and on the
class list, so a larger sample extends a smaller one. Galaxy images for AstroPT
are in :mod:`astromer.data.synthetic_galaxies` (re-exported here as
:func:`simulate_galaxies`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CLASSES = (
    "rr_lyrae_ab",
    "rr_lyrae_c",
    "cepheid",
    "eclipsing_binary",
    "long_period_variable",
    "non_variable",
)

# Amplitude scale and colour offset (mag relative to r) of each supported band.
BANDS = {"g": (1.35, 0.45), "r": (1.0, 0.0), "i": (0.8, -0.2)}
TIME_ZERO = 58000.0  # MJD of the survey start
YEAR = 365.25


# --------------------------------------------------------------------------- shapes
def _skewed_template(rise_fraction, harmonics=8, size=512):
    """A periodic shape of unit peak-to-peak in magnitude: maximum light (lowest
    magnitude) at phase 0, a fast rise over ``rise_fraction`` of the cycle before
    it and a slow linear decline after it, smoothed to ``harmonics`` Fourier terms."""
    phase = np.arange(size) / size
    decline = 1.0 - rise_fraction
    # magnitude: 0 at maximum light (phase 0), 1 at minimum (phase = decline)
    shape = np.where(phase < decline, phase / decline, (1.0 - phase) / rise_fraction)
    spectrum = np.fft.rfft(shape)
    spectrum[harmonics + 1:] = 0
    smooth = np.fft.irfft(spectrum, size)
    return (smooth - smooth.min()) / np.ptp(smooth)


def _interp_periodic(template, phase):
    size = len(template)
    x = (phase % 1.0) * size
    i = np.floor(x).astype(int) % size
    frac = x - np.floor(x)
    return template[i] * (1 - frac) + template[(i + 1) % size] * frac


def _eclipse(phase, centre, width, depth, shape=0.6):
    d = (phase - centre + 0.5) % 1.0 - 0.5
    return depth * np.clip(1.0 - (d / width) ** 2, 0.0, None) ** shape


def _variability(label, t, rng):
    """Zero-mean-ish magnitude offsets (r band) at times ``t`` and the true parameters."""
    epoch = rng.uniform(0, 1)
    if label == "rr_lyrae_ab":
        period = rng.uniform(0.45, 0.9)
        amp = float(np.clip(1.25 - 1.4 * (period - 0.45) + rng.normal(0, 0.08), 0.45, 1.3))
        template = _skewed_template(rng.uniform(0.12, 0.2))
        y = amp * (_interp_periodic(template, t / period + epoch) - 0.5)
    elif label == "rr_lyrae_c":
        period = rng.uniform(0.25, 0.45)
        amp = rng.uniform(0.2, 0.5)
        phi = 2 * np.pi * (t / period + epoch)
        r21 = rng.uniform(0.05, 0.2)
        y = 0.5 * amp * (np.cos(phi) + r21 * np.cos(2 * phi + rng.uniform(0, 2 * np.pi))) / (1 + r21)
    elif label == "cepheid":
        period = float(np.exp(rng.uniform(np.log(3.0), np.log(50.0))))
        amp = float(np.clip(0.3 + 0.55 * np.log10(period / 3.0) + rng.normal(0, 0.08), 0.2, 1.1))
        template = _skewed_template(rng.uniform(0.25, 0.35), harmonics=6)
        y = amp * (_interp_periodic(template, t / period + epoch) - 0.5)
    elif label == "eclipsing_binary":
        period = float(np.exp(rng.uniform(np.log(0.3), np.log(10.0))))
        depth1 = rng.uniform(0.2, 1.0)
        depth2 = depth1 * rng.uniform(0.05, 0.9)
        width = float(np.clip(rng.uniform(0.03, 0.08) / period**0.35, 0.02, 0.2))
        second = 0.5 + (rng.uniform(-0.04, 0.04) if period > 2 else 0.0)
        phase = t / period + epoch
        y = _eclipse(phase, 0.0, width, depth1) + _eclipse(phase, second, width, depth2)
        if period < 1.0:  # tidally distorted close pairs: ellipsoidal modulation
            y = y + rng.uniform(0.05, 0.2) * 0.5 * (1 - np.cos(4 * np.pi * phase))
        amp = float(depth1)
        y = y - np.median(y)
    elif label == "long_period_variable":
        period = rng.uniform(100.0, 500.0)
        amp = rng.uniform(1.0, 3.5)
        phase = t / period + epoch
        cycles = np.floor(phase)
        n_cycles = int(cycles.max() - cycles.min()) + 2
        # cycle-to-cycle wander of amplitude and mean level, interpolated smoothly
        knots = np.arange(n_cycles) + cycles.min()
        amp_k = amp * np.exp(rng.normal(0, 0.12, n_cycles))
        mean_k = rng.normal(0, 0.12 * amp, n_cycles)
        template = _skewed_template(rng.uniform(0.35, 0.45), harmonics=3)
        y = np.interp(phase, knots, amp_k) * (_interp_periodic(template, phase) - 0.5)
        y = y + np.interp(phase, knots, mean_k)
    elif label == "non_variable":
        period, amp = np.nan, 0.0
        y = np.cumsum(rng.normal(0, 0.002, len(t)))
        y = y - y.mean()
    else:
        raise ValueError(f"unknown class {label!r}; choose from {CLASSES}")
    return y, float(period), float(amp)


# --------------------------------------------------------------------------- cadence
def _field_nights(rng, baseline_days):
    """Observed nights (float days since TIME_ZERO) of one survey field."""
    season_start = rng.uniform(0, YEAR)
    season_length = rng.uniform(200, 270)
    weather = rng.uniform(0.35, 0.75)
    nights = np.arange(int(baseline_days))
    in_season = ((nights - season_start) % YEAR) < season_length
    clear = rng.uniform(size=nights.size) < weather
    chosen = nights[in_season & clear]
    # Field transit time varies slowly through the season (around local midnight).
    return chosen + 0.15 + 0.1 * np.sin(2 * np.pi * chosen / YEAR) + rng.normal(0, 0.02, chosen.size)


def _cadence(rng, nights, n_obs):
    """``n_obs`` sorted times: random nights of the field, 1-4 exposures clustered per night."""
    per_night = 1 + rng.poisson(rng.uniform(0.3, 1.5), size=nights.size).clip(0, 3)
    n_nights = min(nights.size, max(1, int(np.ceil(1.1 * n_obs / per_night.mean()))))
    picked = np.sort(rng.choice(nights.size, size=n_nights, replace=False))
    times = []
    for k in picked:
        m = per_night[k]
        offsets = np.sort(rng.uniform(0, rng.uniform(0.03, 0.15), m))  # within ~1-4 hours
        times.append(nights[k] + offsets)
    t = np.concatenate(times)
    if t.size > n_obs:
        t = np.sort(rng.choice(t, size=n_obs, replace=False))
    return t


def photometric_error(mag, seeing=1.0, faint_limit=21.0, floor=0.005):
    """Magnitude error of a point source: sky-limited noise that reaches 0.2 mag at
    ``faint_limit - 0.75`` (roughly S/N 5 at the limit), times ``seeing``, with a floor."""
    sky = 0.2 * 10 ** (0.4 * (np.asarray(mag) - (faint_limit - 0.75)))
    return np.sqrt(floor**2 + (seeing * sky) ** 2)


# --------------------------------------------------------------------------- public
def simulate_light_curves(
    n_objects=600,
    classes=CLASSES,
    *,
    bands=("r",),
    seed=0,
    min_observations=40,
    max_observations=400,
    baseline_days=1000.0,
    n_fields=8,
    mag_range=(16.0, 20.0),
    outlier_fraction=0.01,
    faint_limit=21.5,
    id_prefix="sim",
):
    """Simulate ``n_objects`` light curves, classes in equal shares (object ``i`` has class ``i % K``).

    Args:
        n_objects: number of objects.
        classes: class names, a subset of :data:`CLASSES`.
        bands: bands to observe, from ``"g"``, ``"r"``, ``"i"`` (amplitudes scale
            with wavelength; each band has its own exposures on the same nights).
        seed: seed of everything (object ``i`` is drawn from ``default_rng([seed, i])``).
        min_observations, max_observations: per-band number of observations is
            log-uniform in this range (capped by the nights available).
        baseline_days: survey duration.
        n_fields: survey fields, each with its own seasons and weather.
        mag_range: mean r magnitudes are uniform in this range.
        outlier_fraction: expected fraction of outlying points.
        faint_limit: detection limit: fainter measurements are left out (at
            least the 5 brightest points of a curve are kept).
        id_prefix: object ids are ``f"{id_prefix}{i:06d}"``.

    Returns:
        ``(curves, labels)``: ``curves`` a DataFrame with columns
        ``object_id, band, time, mag, mag_err`` (sorted by object, band, time;
        time in MJD), ``labels`` a DataFrame with ``object_id, label, period,
        amplitude, mean_mag, field`` (``period`` NaN for non-variables).
        Both go straight into :func:`astromer.records.long_table_source`, the
        evaluation harness and ``Astromer.embed``.
    """
    classes = tuple(classes)
    unknown = [c for c in classes if c not in CLASSES]
    if unknown or not classes:
        raise ValueError(f"unknown classes {unknown}; choose from {CLASSES}")
    bad_bands = [b for b in bands if b not in BANDS]
    if bad_bands or not bands:
        raise ValueError(f"unknown bands {bad_bands}; choose from {sorted(BANDS)}")
    if n_objects < 1:
        raise ValueError(f"n_objects must be >= 1, got {n_objects}")
    if not 2 <= min_observations <= max_observations:
        raise ValueError("need 2 <= min_observations <= max_observations, got "
                         f"{min_observations}, {max_observations}")
    if not 0 <= outlier_fraction < 0.5:
        raise ValueError(f"outlier_fraction must be in [0, 0.5), got {outlier_fraction}")
    field_rng = np.random.default_rng([seed, 2**31 - 1])
    fields = [_field_nights(field_rng, baseline_days) for _ in range(max(1, int(n_fields)))]

    ids, bands_col, times, mags, errs, rows = [], [], [], [], [], []
    for i in range(int(n_objects)):
        rng = np.random.default_rng([seed, i])
        label = classes[i % len(classes)]
        oid = f"{id_prefix}{i:06d}"
        field = int(rng.integers(len(fields)))
        nights = fields[field]
        mean_mag = rng.uniform(*mag_range)
        per_band = {}
        for band in bands:
            n = int(np.exp(rng.uniform(np.log(min_observations), np.log(max_observations + 1))))
            per_band[band] = _cadence(rng, nights, min(n, max_observations))
        all_t = np.concatenate(list(per_band.values()))
        signal, period, amp = _variability(label, all_t, rng)
        start = 0
        for band, t in per_band.items():
            scale, colour = BANDS[band]
            true = mean_mag + colour + scale * signal[start:start + t.size]
            start += t.size
            seeing = np.exp(rng.normal(0, 0.3, t.size))
            sigma = photometric_error(true, seeing, faint_limit=faint_limit)
            mag = true + rng.normal(0, 1, t.size) * sigma
            outliers = rng.uniform(size=t.size) < outlier_fraction
            if outliers.any():
                k = int(outliers.sum())
                mag[outliers] += rng.choice([-1, 1], k) * rng.uniform(5, 15, k) * sigma[outliers] + \
                    rng.choice([0, 1], k, p=[0.5, 0.5]) * rng.uniform(0.2, 1.0, k)
            reported = sigma * np.exp(rng.normal(0, 0.05, t.size))
            detected = mag < faint_limit  # non-detections are not in the table
            if detected.sum() < min(5, t.size):
                detected = np.zeros(t.size, bool)
                detected[np.argsort(mag)[: min(5, t.size)]] = True
            t, mag, reported = t[detected], mag[detected], reported[detected]
            ids.append(np.full(t.size, oid, dtype=object))
            bands_col.append(np.full(t.size, band, dtype=object))
            times.append(TIME_ZERO + t)
            mags.append(mag)
            errs.append(reported)
        rows.append((oid, label, period, amp, mean_mag, field))

    curves = pd.DataFrame({
        "object_id": np.concatenate(ids),
        "band": np.concatenate(bands_col),
        "time": np.round(np.concatenate(times), 6),
        "mag": np.round(np.concatenate(mags), 4).astype("float64"),
        "mag_err": np.round(np.concatenate(errs), 4).clip(0.001).astype("float64"),
    })
    curves = curves.sort_values(["object_id", "band", "time"], kind="stable").reset_index(drop=True)
    labels = pd.DataFrame(rows, columns=["object_id", "label", "period", "amplitude", "mean_mag", "field"])
    return curves, labels


def write_simulated_survey(folder, n_objects=600, *, test_fraction=0.2, seed=0, **kwargs):
    """Simulate and write ``lightcurves.csv.gz`` and ``labels.csv`` (with a ``split`` column,
    ``test`` for a stratified ``test_fraction``) into ``folder``, the layout of ``../shared/data``
    and of ``astromer evaluate``. Returns the folder as a ``pathlib.Path``."""
    from pathlib import Path

    from astromer.data.splits import stratified_fractions

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    curves, labels = simulate_light_curves(n_objects, seed=seed, **kwargs)
    groups = stratified_fractions(dict(zip(labels["object_id"], labels["label"])),
                                  (("train", 1.0 - test_fraction), ("test", test_fraction)), seed=seed)
    labels = labels.assign(split=np.where(labels["object_id"].isin(set(groups["test"])), "test", "train"))
    curves.to_csv(folder / "lightcurves.csv.gz", index=False)
    labels.to_csv(folder / "labels.csv", index=False)
    return folder


def __getattr__(name):
    if name in ("simulate_galaxies", "GALAXY_CLASSES"):
        from astromer.data import synthetic_galaxies

        return getattr(synthetic_galaxies, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def check_windows(window_size, batch=4, seed=0):
    """A fixed batch of encoder windows (dict of ``(batch, window_size)`` float32): sorted
    centred times, magnitudes, ~20% of steps masked out. The accuracy checks of ONNX export and
    of bfloat16 run on it."""
    rng = np.random.default_rng(seed)
    times = np.sort(rng.uniform(-300.0, 300.0, (batch, window_size)), axis=1)
    mask = (rng.uniform(size=(batch, window_size)) > 0.2).astype("float32")
    return {"times": (times - times.mean(axis=1, keepdims=True)).astype("float32"),
            "magnitudes": (rng.normal(0.0, 0.5, (batch, window_size)) * mask).astype("float32"),
            "mask": mask}
