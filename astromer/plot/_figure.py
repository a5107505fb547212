"""A pyplot-free matplotlib Figure that shows itself in notebooks, and saving."""

import io
from pathlib import Path

from matplotlib.figure import Figure


class AstromerFigure(Figure):
    """A ``matplotlib.figure.Figure`` with a PNG representation for Jupyter/IPython."""

    def _repr_png_(self):
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
        return buffer.getvalue()


def new_figure(nrows=1, ncols=1, figsize=(6.4, 4.0), **kwargs):
    """``(figure, axes)`` like ``plt.subplots`` but without pyplot (no display needed)."""
    fig = AstromerFigure(figsize=figsize, layout="constrained")
    axes = fig.subplots(nrows, ncols, **kwargs)
    return fig, axes


def finish(fig, path=None, dpi=120):
    """Save ``fig`` to ``path`` (parent folders created) when given; return ``fig``."""
    if path is not None:
        from astromer.io import atomic_path

        path = Path(path)
        with atomic_path(path) as tmp:   # never a half-written picture in place of the last one
            fig.savefig(tmp, dpi=dpi, format=path.suffix[1:].lower() or "png")
    return fig


def class_colours(names):
    """A stable colour per class name (tab10, then tab20)."""
    import matplotlib

    names = list(names)
    cmap = matplotlib.colormaps["tab10" if len(names) <= 10 else "tab20"]
    return {n: cmap(i % cmap.N) for i, n in enumerate(names)}
