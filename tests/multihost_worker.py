"""One process of a data-parallel pretraining run over several processes (tests/test_multihost.py).

    KERAS_BACKEND=jax|tensorflow python multihost_worker.py INDEX ADDRESSES RECORDS OUT.json

``ADDRESSES``: comma-separated ``host:port`` of every process (JAX: the first is the coordinator;
TensorFlow: the ``TF_CONFIG`` worker list). Each process runs the package's one pretraining
workflow (:func:`astromer.tasks.pretrain.pretrain`) on the same records folder and writes what
it ended with: the devices it trained on, the losses and a checksum of its weights.
"""

import hashlib
import json
import os
import sys

index, addresses, records_dir, out = int(sys.argv[1]), sys.argv[2].split(","), sys.argv[3], sys.argv[4]
backend = os.environ["KERAS_BACKEND"]
if backend == "tensorflow":  # before TensorFlow starts
    os.environ["TF_CONFIG"] = json.dumps({"cluster": {"worker": addresses},
                                          "task": {"type": "worker", "index": index}})

import keras  # noqa: E402
import numpy as np  # noqa: E402

import astromer  # noqa: E402
from astromer.distribution import data_parallel, initialize_multi_host, list_devices  # noqa: E402
from astromer.tasks.pretrain import pretrain  # noqa: E402

if backend == "jax":
    initialize_multi_host(addresses[0], len(addresses), index)
    distribution = data_parallel()
else:
    distribution = data_parallel(multi_worker=True)

keras.utils.set_random_seed(0)
with distribution.scope():
    model = astromer.Astromer(num_layers=1, num_heads=2, head_dim=4, ffn_dim=16, window_size=20,
                              dropout=0.0, name="tiny")
initial = [np.array(w) for w in model.get_weights()]
history, info = pretrain(model, records_dir, epochs=2, batch_size=16, learning_rate=3e-3, seed=0,
                         quiet=True, distribution=distribution)
weights = [np.array(w) for w in model.get_weights()]
digest = hashlib.sha256(b"".join(np.ascontiguousarray(w, dtype=np.float32).tobytes()
                                 for w in weights)).hexdigest()
replicas = (len(list_devices()) if backend == "jax"
            else distribution.num_replicas_in_sync)
with open(out, "w") as f:
    json.dump({"index": index, "replicas": int(replicas), "loss": history["loss"].tolist(),
               "weights_sha256": digest,
               "max_change": max(float(np.max(np.abs(a - b))) for a, b in zip(weights, initial))}, f)
