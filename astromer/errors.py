"""The base of every error the package raises about its inputs.

``except astromer.AstromerError`` catches them all: bad sources and recipes, corrupt or missing
shards, empty results, unverified or corrupt presets, unsafe checkpoints, oversized archives,
failed downloads, non-finite outputs. Each also keeps its builtin base (``ValueError``,
``OSError``, ...), so code that catches those goes on working.
"""


class AstromerError(Exception):
    """An astromer error: the message names the input and what is wrong with it."""
