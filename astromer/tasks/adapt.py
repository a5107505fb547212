"""Scenario (c), step 1: adapting a pretrained encoder to the target survey's unlabelled inputs
before classification (masked reconstruction for light curves, next-patch pretraining for
images), keeping the best held-out score, the pretrained start included."""

import keras
import numpy as np

from astromer.tasks.selection import KeepBestReconstruction


def reconstruction_finetune(encoder, light_curves, epochs=20, batch_size=64, learning_rate=1e-4,
                            validation_fraction=0.1, patience=2, seed=0, verbose="auto"):
    """Scenario (c), step 1: masked-reconstruction training of ``encoder`` on target curves.

    A ``validation_fraction`` of the curves (at least one) is held out; training stops when their
    masked R² has not improved for ``patience`` epochs (at most ``epochs``) and the weights with
    the best held-out R² are kept, the pretrained start included (:class:`KeepBestReconstruction`:
    when no epoch beats the start, the encoder is left as it was). ``validation_fraction=0``: train
    all ``epochs`` on every curve. Returns the History (``r2``, and ``val_r2`` per epoch);
    ``history.selection`` is the callback (``scores`` from the start, ``best_epoch``) or None.
    """
    from astromer.data import pretraining_dataset
    from astromer.data.light_curves import prepare_light_curves

    prepared = prepare_light_curves(light_curves, min_observations=5)
    n = len(prepared.curves)
    order = np.random.default_rng(seed).permutation(n)
    n_val = min(n - 1, max(1, int(round(validation_fraction * n)))) if validation_fraction and n > 1 else 0
    val_rows, train_rows = set(order[:n_val].tolist()), order[n_val:]
    train = [prepared.curves[i] for i in sorted(train_rows)]
    data = pretraining_dataset(train, batch_size=batch_size, window_size=encoder.window_size, seed=seed)
    selection = None
    if n_val:
        val = [prepared.curves[i] for i in sorted(val_rows)]
        # a fixed masking of the held-out curves, so the start and every epoch are scored on the same task
        val_data = pretraining_dataset(val, batch_size=batch_size, window_size=encoder.window_size, seed=seed + 1,
                                       shuffle=False).cache()
        selection = KeepBestReconstruction(val_data, patience=patience)
    encoder.trainable = True
    encoder.compile(optimizer=keras.optimizers.Adam(learning_rate))
    history = encoder.fit(data, epochs=epochs, callbacks=[selection] if selection else [], verbose=verbose)
    history.selection = selection
    return history


def adapt(encoder, data, unlabelled, images, *, epochs, learning_rate, batch_size, seed, verbose):
    """Scenario (c), step 1, on the training plus ``unlabelled`` inputs: masked reconstruction
    (light curves) or next-patch pretraining with a 10% hold-out (images)."""
    if images:
        from astromer.tasks.pretrain import pretrain_images

        stack = np.asarray(data, "float32")
        if unlabelled is not None:
            stack = np.concatenate([stack, np.asarray(unlabelled, "float32")])
        order = np.random.default_rng(seed).permutation(len(stack))
        n_val = max(1, len(stack) // 10) if len(stack) > 1 else 0
        history, _ = pretrain_images(encoder, stack[order[n_val:]], stack[order[:n_val]] if n_val else None,
                                     epochs=epochs, learning_rate=learning_rate, batch_size=batch_size, seed=seed,
                                     quiet=verbose == 0)
        return history
    curves = data
    if unlabelled is not None:
        import pandas as pd

        if isinstance(curves, pd.DataFrame):
            curves = pd.concat([curves, unlabelled], ignore_index=True)
        else:
            curves = list(curves) + list(unlabelled)
    return reconstruction_finetune(encoder, curves, epochs=epochs, learning_rate=learning_rate,
                                   batch_size=batch_size, seed=seed, verbose=verbose)


__all__ = ["reconstruction_finetune", "adapt"]
