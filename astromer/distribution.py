"""Training beyond one device on the engines Keras already uses: JAX and TensorFlow.

Nothing here is a new distributed runtime: each helper selects the backend's own one.

- **JAX** (``KERAS_BACKEND=jax``): :mod:`keras.distribution`. :func:`data_parallel`
  returns a ``keras.distribution.DataParallel`` (the batch is sharded over a 1-D
  device mesh, weights are replicated; XLA's SPMD partitioner inserts the
  gradient all-reduce). :func:`model_parallel_layout` returns a
  ``keras.distribution.ModelParallel`` for large AstroPT sizes (attention and MLP
  kernels sharded Megatron-style over a ``"model"`` mesh axis, the batch over a
  ``"batch"`` axis).
- **TensorFlow** (``KERAS_BACKEND=tensorflow``): :mod:`tf.distribute`.
  :func:`data_parallel` returns a ``tf.distribute.MirroredStrategy`` (one
  machine, several devices) or, with ``multi_worker=True``, a
  ``tf.distribute.MultiWorkerMirroredStrategy`` (several machines, configured by
  the ``TF_CONFIG`` environment variable).

Both have a ``scope()``: build **and** compile the model inside it, then call
``fit`` as usual (inside or outside the scope)::

    import astromer
    from astromer.distribution import data_parallel

    with data_parallel().scope():
        model = astromer.Astromer.from_architecture("astromer_v1")
        model.compile()
    model.fit(train_dataset, epochs=10)       # global batch = the dataset's batch

The batch size of the dataset is the *global* batch; it must be divisible by
the number of devices.

Multi-host (several machines)
-----------------------------
JAX: start the same script on every host, and before anything else call
``keras.distribution.initialize(job_addresses, num_processes, process_id)``
(or :func:`initialize_multi_host`; on Cloud TPU / SLURM / Open MPI the
arguments are discovered automatically). Afterwards ``jax.devices()`` lists the
devices of *all* hosts and :func:`data_parallel` spans them. Each host must feed
its own part of the global batch (``keras.distribution.distribute_dataset``
does this for a ``tf.data.Dataset`` that ``fit`` receives).
TensorFlow: set ``TF_CONFIG`` on every worker (``{"cluster": {"worker": [...]},
"task": {"type": "worker", "index": i}}``) and use ``data_parallel(multi_worker=True)``
(``tf.data`` auto-sharding gives each worker its own record files).
:func:`astromer.tasks.pretrain.pretrain` takes the setting as ``distribution=`` and makes every
process run the same number of full global batches (``tests/test_multihost.py``: 2 local
processes per backend end with the same weights).

Numerics
--------
With JAX the data-parallel step computes the same global function as one
device (``MaskedRMSE`` over the whole global batch), so results agree to
float32 rounding. With ``tf.distribute`` every replica computes the loss on its
own part of the batch and the gradients are averaged: identical for losses
that are means over windows (MSE, Huber), but Astromer's masked *RMSE* becomes
the mean of the replicas' RMSEs (the square root does not commute with the
mean), a slightly different, equally valid objective.

Gradient accumulation
---------------------
Every Keras optimizer accepts ``gradient_accumulation_steps=k``: gradients are
averaged over ``k`` batches and applied once, so ``k`` batches of ``B`` act as
one batch of ``kB`` for losses that are means over the batch.
:func:`accumulating_optimizer` builds one.
"""

from __future__ import annotations

import os

import keras

__all__ = [
    "accumulating_optimizer",
    "data_parallel",
    "initialize_multi_host",
    "list_devices",
    "model_parallel_layout",
    "simulate_host_devices",
]


def _backend():
    return keras.backend.backend()


def simulate_host_devices(count):
    """Split the host CPU into ``count`` devices (for tests and trying things out).

    Must run before the backend initialises: JAX reads ``XLA_FLAGS`` when it
    first creates its CPU client (set it in the environment before importing
    JAX to be safe); TensorFlow's logical devices must be configured before any
    op runs. Returns the device names the backend will see.
    """
    count = int(count)
    backend = _backend()
    if backend == "jax":
        flag = f"--xla_force_host_platform_device_count={count}"
        flags = os.environ.get("XLA_FLAGS", "")
        if "xla_force_host_platform_device_count" not in flags:
            os.environ["XLA_FLAGS"] = (flags + " " + flag).strip()
        import jax

        if len(jax.devices("cpu")) < count:
            raise RuntimeError(
                f"JAX already started with {len(jax.devices('cpu'))} CPU device(s); set "
                f"XLA_FLAGS={flag} before importing jax."
            )
        return [f"cpu:{i}" for i in range(count)]
    if backend == "tensorflow":
        import tensorflow as tf

        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(count)]
        )
        return [d.name for d in tf.config.list_logical_devices("CPU")]
    raise NotImplementedError(f"simulate_host_devices does not support the {backend!r} backend.")


def list_devices(device_type=None):
    """The devices of the current backend (all hosts after a multi-host initialisation)."""
    backend = _backend()
    if backend == "tensorflow":
        import tensorflow as tf

        if device_type is None:
            gpus = tf.config.list_logical_devices("GPU")
            return [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
        return [d.name for d in tf.config.list_logical_devices(device_type.upper())]
    return keras.distribution.list_devices(device_type)


def data_parallel(devices=None, multi_worker=False):
    """A data-parallel setting for the current backend; use its ``scope()``.

    ``devices``: device names (default: every device of the preferred type,
    accelerators before CPUs). JAX: ``keras.distribution.DataParallel``;
    TensorFlow: ``tf.distribute.MirroredStrategy`` (or
    ``MultiWorkerMirroredStrategy`` with ``multi_worker=True``). Other backends
    raise ``NotImplementedError``.
    """
    backend = _backend()
    if backend == "jax":
        if multi_worker:
            raise ValueError(
                "On JAX, call keras.distribution.initialize() (initialize_multi_host) first; "
                "data_parallel() then spans every host's devices."
            )
        return keras.distribution.DataParallel(devices=devices or list_devices())
    if backend == "tensorflow":
        import tensorflow as tf

        if multi_worker:
            return _multi_worker_strategy()
        return tf.distribute.MirroredStrategy(devices=devices or list_devices())
    raise NotImplementedError(f"data_parallel does not support the {backend!r} backend.")


def _multi_worker_strategy():
    """``tf.distribute.MultiWorkerMirroredStrategy`` that Keras 3's ``fit`` can use.

    Keras 3.15's TensorFlow trainer, on a multi-worker strategy, (1) calls
    ``strategy.reduce("MEAN", first_batch)`` on the whole (nested) first batch before building,
    and the strategy reduces only single values, and (2) reduces every scalar log (the loss) with
    ``axis=0``, which a 0-d value does not have; so ``fit`` fails on every dataset
    (keras-team/keras#20329, #20585). Here a nest is reduced value by value and a scalar across
    the replicas only (``axis=None``): what both calls mean; nothing else changes.
    """
    import tensorflow as tf

    class MultiWorkerMirroredStrategy(tf.distribute.MultiWorkerMirroredStrategy):
        def reduce(self, reduce_op, value, axis):
            if tf.nest.is_nested(value):
                return tf.nest.map_structure(lambda v: self.reduce(reduce_op, v, axis), value)
            if axis is not None and self.experimental_local_results(value)[0].shape.rank == 0:
                axis = None
            return super().reduce(reduce_op, value, axis)

    return MultiWorkerMirroredStrategy()


def model_parallel_layout(model_devices=2, devices=None, model=None):
    """A ``keras.distribution.ModelParallel`` for AstroPT on JAX (tensor parallelism).

    The devices form a ``(batch, model)`` mesh with ``model_devices`` devices
    on the model axis. Megatron-style layouts: the first Dense of each
    attention and MLP (``c_attn``, ``c_fc``, the patch encoder's ``c_fc``) is
    split by output columns, the second (``c_proj``) by input rows, so each
    MLP needs one all-reduce; embeddings and norms are replicated. ``c_attn``
    holds q, k and v side by side (nanoGPT's layout, kept for checkpoint
    compatibility), so its column split is not aligned with heads and XLA's
    partitioner reshards q/k/v inside each attention: correct (tested against
    one device), with more communication than a head-aligned split. Build the
    model under ``layout.scope()``. ``model`` (optional) is only used to check
    that the widths divide evenly.
    """
    if _backend() != "jax":
        raise NotImplementedError("model_parallel_layout needs KERAS_BACKEND=jax (keras.distribution).")
    devices = devices or list_devices()
    model_devices = int(model_devices)
    if len(devices) % model_devices:
        raise ValueError(f"{len(devices)} devices cannot be split into model groups of {model_devices}.")
    if model is not None:
        width = getattr(model, "embed_dim", None)
        if width and width % model_devices:
            raise ValueError(f"The width {width} is not divisible by model_devices={model_devices}.")
        heads = getattr(model, "num_heads", None)
        if heads and heads % model_devices:
            raise ValueError(f"num_heads={heads} is not divisible by model_devices={model_devices}.")
    mesh = keras.distribution.DeviceMesh(
        shape=(len(devices) // model_devices, model_devices), axis_names=("batch", "model"), devices=devices
    )
    layout = keras.distribution.LayoutMap(mesh)
    layout[r".*block_\d+/attn/c_attn/kernel"] = (None, "model")
    layout[r".*block_\d+/attn/c_proj/kernel"] = ("model", None)
    layout[r".*block_\d+/c_fc/kernel"] = (None, "model")
    layout[r".*block_\d+/c_proj/kernel"] = ("model", None)
    layout[r".*encoder/c_fc/kernel"] = (None, "model")
    layout[r".*encoder/c_proj/kernel"] = ("model", None)
    return keras.distribution.ModelParallel(layout_map=layout, batch_dim_name="batch")


def initialize_multi_host(job_addresses=None, num_processes=None, process_id=None):
    """Join a multi-host JAX job (``keras.distribution.initialize``); call first, on every host.

    Arguments may also come from ``KERAS_DISTRIBUTION_JOB_ADDRESSES``,
    ``KERAS_DISTRIBUTION_NUM_PROCESSES`` and ``KERAS_DISTRIBUTION_PROCESS_ID``,
    or be discovered automatically on Cloud TPU, SLURM and Open MPI. On
    TensorFlow use ``TF_CONFIG`` and ``data_parallel(multi_worker=True)`` instead.
    """
    if _backend() != "jax":
        raise NotImplementedError("initialize_multi_host is for JAX; on TensorFlow set TF_CONFIG.")
    keras.distribution.initialize(job_addresses, num_processes, process_id)


def accumulating_optimizer(optimizer="adam", steps=2, **kwargs):
    """An optimizer that averages gradients over ``steps`` batches and applies them once.

    ``optimizer``: a name (``"adam"``, ``"adamw"``, ...), a config dict or an
    optimizer instance (its config is copied); extra ``kwargs`` override the
    config. Weights change on every ``steps``-th batch only; ``steps``
    batches of size B act as one of size ``steps * B`` for batch-mean losses.
    """
    steps = int(steps)
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}.")
    opt = optimizer if isinstance(optimizer, keras.optimizers.Optimizer) else keras.optimizers.get(optimizer)
    cfg = opt.get_config()
    cfg.update(kwargs)
    cfg["gradient_accumulation_steps"] = steps if steps > 1 else None
    return opt.__class__.from_config(cfg)
