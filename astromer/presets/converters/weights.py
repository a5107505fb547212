"""Assigning named original tensors to model variables, all or nothing."""

import numpy as np

from astromer.errors import AstromerError


class WeightMismatchError(AstromerError, ValueError):
    """The original checkpoint and the model do not hold the same set of tensors."""


def _short(names, limit=20):
    names = sorted(names)
    text = "\n  ".join(names[:limit])
    if len(names) > limit:
        text += f"\n  ... and {len(names) - limit} more"
    return text


def assign_weights(variables, values, source):
    """Assign ``values[key]`` to ``variables[key]`` for every key, checking first.

    Every model variable must be present in ``values`` and every value must
    have a model variable, with equal shapes; otherwise nothing is assigned and a
    :class:`WeightMismatchError` lists the missing, unexpected and mis-shaped
    tensors (never a silent partial load).
    """
    missing = set(variables) - set(values)
    unexpected = set(values) - set(variables)
    bad_shapes = [
        f"{k}: checkpoint {tuple(np.shape(values[k]))} vs model {tuple(variables[k].shape)}"
        for k in set(variables) & set(values)
        if tuple(np.shape(values[k])) != tuple(variables[k].shape)
    ]
    if missing or unexpected or bad_shapes:
        parts = [f"Cannot load {source}: the checkpoint does not match the model architecture."]
        if missing:
            parts.append(f"Missing from the checkpoint ({len(missing)}):\n  {_short(missing)}")
        if unexpected:
            parts.append(f"Unexpected in the checkpoint ({len(unexpected)}):\n  {_short(unexpected)}")
        if bad_shapes:
            parts.append(f"Shape mismatches ({len(bad_shapes)}):\n  {_short(bad_shapes)}")
        raise WeightMismatchError("\n".join(parts))
    for key, variable in variables.items():
        variable.assign(np.asarray(values[key], dtype=variable.dtype))
