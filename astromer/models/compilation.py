"""XLA by default where TensorFlow runs without its oneDNN kernels.

Keras compiles with XLA on JAX and on GPUs, but leaves it off on a TensorFlow CPU
(``jit_compile="auto"``), where TensorFlow's oneDNN kernels are fast: on an Intel Xeon with
``avx512_bf16`` XLA made the Astromer v1 training step 0.8x as fast. TensorFlow turns oneDNN on
by default only on x86 CPUs with AVX512-VNNI, AVX512-BF16, AVX-VNNI or AMX; on the others it runs
plain Eigen kernels, op by op. There XLA's fused code is the faster one: on a 2-core AMD EPYC with
AVX2 only, the v1 training step ran at 63.0 windows/s with XLA against 44.9 without, and the
forward at 258 against 111 (``benchmarks/results/astromer_vs_original_amd_epyc_avx2.md``).

:func:`default_jit_compile` is the package's default for ``compile`` (``Astromer``, the
classifiers), so training uses it; ``jit_compile=`` passed to ``compile`` always wins. Inference
(``embed``, ``predict_objects``) keeps Keras' default: it runs windows cut to several lengths, and
XLA compiles once per length and batch shape.
"""

import functools
import os

import keras

#: ``ASTROMER_XLA``: ``0`` keeps Keras' default everywhere, ``1`` asks for XLA everywhere,
#: unset or ``auto`` chooses as :func:`default_jit_compile` says.
XLA_ENV = "ASTROMER_XLA"


@functools.cache
def tensorflow_without_onednn():
    """Whether this process runs the TensorFlow backend with oneDNN off (see the module)."""
    if keras.backend.backend() != "tensorflow":
        return False
    try:
        from tensorflow.python.util import _pywrap_util_port

        return not _pywrap_util_port.IsMklEnabled()
    except (ImportError, AttributeError):  # a TensorFlow without the query: Keras' default
        return False


def default_jit_compile():
    """``True`` where XLA is the faster choice (TensorFlow without oneDNN), else Keras' ``"auto"``;
    :data:`XLA_ENV` overrides it (the test suite sets ``0``: XLA compiles every new model and
    shape, 1.7x the time of its many small fits)."""
    setting = os.environ.get(XLA_ENV, "auto").strip().lower()
    if setting not in ("0", "1", "auto", ""):
        raise ValueError(f"{XLA_ENV} must be 0, 1 or auto; got {os.environ[XLA_ENV]!r}")
    if setting == "0":
        return "auto"
    if setting == "1":
        return True
    return True if tensorflow_without_onednn() else "auto"
