"""Multi-host data-parallel pretraining from one records folder, on 2 local processes.

TensorFlow: ``tf.distribute.MultiWorkerMirroredStrategy`` configured by ``TF_CONFIG``; JAX:
``keras.distribution.initialize`` (``initialize_multi_host``) then ``DataParallel`` over every
process's devices. Each process feeds its own part of every global batch; after training the
processes must hold the same weights (the gradients were all-reduced), changed by training.
"""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from astromer import records

HERE = Path(__file__).parent


def _free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def _records(folder):
    rng = np.random.default_rng(0)
    rows = []
    for k in range(96):
        t = np.sort(rng.uniform(0, 300, 40))
        period = rng.uniform(0.3, 5.0)
        rows += [(f"obj{k:03d}", "g", ti, 17 + 0.5 * np.sin(2 * np.pi * ti / period)
                  + rng.normal(0, 0.02), 0.02) for ti in t]
    table = pd.DataFrame(rows, columns=["object_id", "band", "time", "mag", "mag_err"])
    labels = pd.DataFrame({"object_id": [f"obj{k:03d}" for k in range(96)], "label": "x"})
    meta = records.write_dataset(records.long_table_source(table, labels), folder,
                                 splits="0.75,0.25,0", shard_size=9, progress=False)
    assert len(meta["splits"]["train"]["shards"]) == 8  # FILE auto-sharding: 4 per worker
    assert meta["splits"]["train"]["objects"] == 72
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_two_processes_train_the_same_weights_from_one_records_folder(tmp_path, backend):
    """72 training curves in global batches of 16: without equal steps on both processes (an
    epoch of 4.5 batches split 3 / 2) one would wait forever in the all-reduce."""
    import keras

    if keras.backend.backend() != backend:
        pytest.skip(f"the {backend} run happens under the {backend} CI backend")
    folder = _records(tmp_path / "records")
    addresses = ",".join(f"localhost:{p}" for p in _free_ports(2))
    env = {**os.environ, "KERAS_BACKEND": backend, "CUDA_VISIBLE_DEVICES": "",
           "XLA_FLAGS": "", "TF_CPP_MIN_LOG_LEVEL": "2"}
    procs = [subprocess.Popen([sys.executable, str(HERE / "multihost_worker.py"), str(i), addresses,
                               str(folder), str(tmp_path / f"worker{i}.json")],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for i in range(2)]
    logs = []
    try:
        for p in procs:
            logs.append(p.communicate(timeout=300)[0])
    finally:
        for p in procs:
            p.kill()
    for p, log in zip(procs, logs):
        assert p.returncode == 0, log[-3000:]
    results = [json.loads((tmp_path / f"worker{i}.json").read_text()) for i in range(2)]
    assert [r["replicas"] for r in results] == [2, 2]  # one device per process, two in the job
    assert results[0]["weights_sha256"] == results[1]["weights_sha256"]
    assert results[0]["max_change"] > 1e-3
    assert all(np.isfinite(r["loss"]).all() and len(r["loss"]) == 2 for r in results)
