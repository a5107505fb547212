"""Figures for light curves, Astromer, embeddings, few-shot results and AstroPT.

Every function builds one matplotlib ``Figure`` and returns it; with
``path=`` it also saves it (PNG, PDF or SVG by extension). The figures are not
registered with pyplot, so they work without a display (no backend needed)
and never pile up in scripts; in a notebook, leave the figure as the cell's
value to show it.

Light curves and Astromer:

- :func:`light_curve`: one curve (or several bands), optionally phase-folded;
- :func:`class_examples`: one example curve per class;
- :func:`reconstruction`: a curve, the points Astromer did not see, and its
  reconstruction of them;
- :func:`attention`: attention over a curve (which observations the encoder looks at);
- :func:`training_history`: loss and metrics per epoch (a ``keras.callbacks.History``);
- :func:`embedding_projection`: embeddings projected to 2-D (PCA or t-SNE), coloured by class;
- :func:`fewshot_scores`: macro F1 (and accuracy) per method from the evaluation harness;
- :func:`f1_vs_shots`: macro F1 against labelled samples per class, one line per method;
- :func:`probe_scores`: linear-probe scores per method (mean ± std over seeds).

AstroPT:

- :func:`spiral_order`: the patch grid over an image, numbered in AstroPT's spiral order;
- :func:`astropt_predictions`: images, next-patch predictions and a roll-out, re-assembled;
- :func:`image_grid`: a grid of images with titles.
"""

import importlib

_LAZY = {
    "light_curve": "light_curves",
    "class_examples": "light_curves",
    "reconstruction": "light_curves",
    "attention": "light_curves",
    "training_history": "results",
    "embedding_projection": "results",
    "fewshot_scores": "results",
    "f1_vs_shots": "results",
    "probe_scores": "results",
    "spiral_order": "images",
    "astropt_predictions": "images",
    "image_grid": "images",
    "new_figure": "_figure",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        module = importlib.import_module(f"astromer.plot.{_LAZY[name]}")
        value = getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_LAZY))
