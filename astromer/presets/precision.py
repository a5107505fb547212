"""Which float precision to run in: float32, or bfloat16 where the hardware has it natively.

``dtype="auto"`` in ``Model.from_preset`` (and :func:`auto_dtype` on a model) picks
Keras' ``"mixed_bfloat16"`` policy (bfloat16 matrix products, float32 weights, norms and
softmax) only when

1. the machine computes bfloat16 natively: a CPU with ``avx512_bf16`` or ``amx_bf16``
   (``/proc/cpuinfo``), or a GPU of compute capability 8.0 or newer; and
2. the accuracy check passes: on a fixed batch of windows the pooled embeddings of the bfloat16
   model keep a cosine similarity of at least 0.999 with float32's; and
3. bfloat16 is faster here: on that batch its encoder runs at least 1.1x as fast as float32's
   (best of 3 timed calls each). A CPU flag is not enough: on an Intel Xeon with
   ``avx512_bf16`` (no AMX) TensorFlow's bfloat16 Astromer 1 ran at 0.6-0.8x float32's speed
   (``benchmarks/results/astromer_vs_original.md``);

and float32 otherwise. The choice and its reason are logged once. float32 stays the default
everywhere (``dtype=None``): see ``benchmarks/results`` for where bfloat16 is faster.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

BF16_POLICY = "mixed_bfloat16"
MIN_COSINE = 0.999
MIN_SPEEDUP = 1.1
CPU_FLAGS = ("avx512_bf16", "amx_bf16")

log = logging.getLogger("astromer")


def cpu_flags(path="/proc/cpuinfo") -> set:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def native_bf16() -> tuple[bool, str]:
    """``(True, why)`` when an accelerator or the CPU computes bfloat16 natively."""
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        for gpu in tf.config.list_physical_devices("GPU"):
            cc = tf.config.experimental.get_device_details(gpu).get("compute_capability")
            if cc and tuple(cc) >= (8, 0):
                return True, f"GPU {gpu.name} compute capability {cc[0]}.{cc[1]}"
    elif keras.backend.backend() == "jax":
        import jax

        for d in jax.devices():
            if d.platform == "gpu" and float(getattr(d, "compute_capability", 0) or 0) >= 8.0:
                return True, f"GPU {d.device_kind} compute capability {d.compute_capability}"
            if d.platform == "tpu":
                return True, f"TPU {d.device_kind}"
    found = sorted(cpu_flags() & set(CPU_FLAGS))
    if found:
        return True, f"CPU flag {', '.join(found)}"
    return False, f"no native bfloat16 (no GPU >= 8.0, CPU without {' or '.join(CPU_FLAGS)})"


def with_dtype(model, dtype):
    """A copy of ``model`` built with the Keras dtype policy ``dtype``, weights cast into it."""
    rebuilt = type(model).from_config({**model.get_config(), "dtype": dtype})
    for variable, value in zip(rebuilt.weights, model.get_weights()):
        variable.assign(value)
    return rebuilt


def _check_batch(model, batch=64, seed=0):
    from astromer.data.synthetic import check_windows

    return check_windows(model.window_size, batch=batch, seed=seed)


def pooled_cosine(model, other, batch=64, seed=0) -> float:
    """Smallest cosine similarity between two Astromer encoders' pooled embeddings on a fixed batch."""
    x = _check_batch(model, batch, seed)
    m = x["mask"][..., None]
    pooled = []
    for enc in (model, other):
        z = np.asarray(enc.encoder_model().predict_on_batch(x), dtype="float64")
        pooled.append((z * m).sum(axis=1) / m.sum(axis=1))
    a, b = pooled
    return float(np.min((a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))))


def speedup(model, other, batch=64, repeats=3) -> float:
    """How many times faster ``other``'s encoder runs than ``model``'s on a fixed batch (best of
    ``repeats`` timed calls each, after one untimed call that compiles)."""
    import time

    x = _check_batch(model, batch)
    best = []
    for enc in (model.encoder_model(), other.encoder_model()):
        enc.predict_on_batch(x)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            np.asarray(enc.predict_on_batch(x))
            times.append(time.perf_counter() - start)
        best.append(min(times))
    return best[0] / best[1]


def auto_dtype(model):
    """``model`` in bfloat16 where that is native, accurate enough and faster, else ``model`` itself."""
    import astromer

    native, why = native_bf16()
    if not native:
        log.info("precision auto: float32 (%s)", why)
        return model
    if not isinstance(model, astromer.Astromer):
        log.info("precision auto: float32 (the accuracy check is defined for Astromer encoders, "
                 "not %s)", type(model).__name__)
        return model
    candidate = with_dtype(model, BF16_POLICY)
    cosine = pooled_cosine(model, candidate)
    if not cosine >= MIN_COSINE:
        log.warning("precision auto: float32 (%s, but bfloat16 pooled embeddings reach cosine %.5f "
                    "< %.3f)", why, cosine, MIN_COSINE)
        return model
    faster = speedup(model, candidate)
    if not faster >= MIN_SPEEDUP:
        log.info("precision auto: float32 (%s and cosine %.5f, but bfloat16 runs at %.2fx float32's "
                 "speed here, < %.1fx)", why, cosine, faster, MIN_SPEEDUP)
        return model
    log.info("precision auto: %s (%s; pooled-embedding cosine %.5f; %.2fx float32's speed)",
             BF16_POLICY, why, cosine, faster)
    return candidate
