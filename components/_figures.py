"""Figure plumbing shared by every picture the pipeline draws.

Figures are made on the Agg canvas (no display, no pyplot state shared between
threads), laid out by Matplotlib's constrained layout, then widened until every
text fits inside: constrained layout keeps axes decorations in, but not a
centred title longer than the axes below it. PNG bytes are made here; callers
write the file (atomically) or log it.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from matplotlib.transforms import Bbox

DPI = 100


def new_figure(width_in: float, height_in: float) -> Figure:
    """An empty figure (inches at :data:`DPI`) on an Agg canvas, constrained layout."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def text_extents(fig: Figure) -> list[tuple[str, Bbox]]:
    """Every visible, non-empty text of ``fig`` with its window extent (pixels, origin
    bottom left), after a layout pass."""
    from matplotlib.text import Text

    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]  # Agg-based canvases
    hidden = _undrawn_tick_labels(fig)
    return [(t.get_text(), t.get_window_extent(renderer))
            for t in fig.findobj(Text)
            if t.get_visible() and t.get_text().strip() and id(t) not in hidden]


def _undrawn_tick_labels(fig: Figure) -> set[int]:
    """Ids of the tick labels Matplotlib keeps but does not draw: those of ticks
    outside the axis' view (they sit at stale places, often off the figure)."""
    hidden: set[int] = set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            low, high = sorted(axis.get_view_interval())
            slack = 1e-9 * max(1.0, abs(high - low))
            for ticks in (axis.get_major_ticks(), axis.get_minor_ticks()):
                for tick in ticks:
                    loc = tick.get_loc()
                    if loc is None or not low - slack <= loc <= high + slack:
                        hidden.update((id(tick.label1), id(tick.label2)))
    return hidden


def overflow_px(fig: Figure) -> tuple[float, float]:
    """How far (pixels) the widest and tallest texts reach beyond the figure's edges,
    summed over both sides; (0, 0) when everything is inside."""
    width, height = fig.bbox.width, fig.bbox.height
    dx = dy = 0.0
    for _, box in text_extents(fig):
        dx = max(dx, max(0.0, -box.x0) + max(0.0, box.x1 - width))
        dy = max(dy, max(0.0, -box.y0) + max(0.0, box.y1 - height))
    return dx, dy


def fit_to_text(fig: Figure, pad_px: float = 12.0, tries: int = 4) -> Figure:
    """Enlarge ``fig`` until no text reaches past its edges; returns ``fig``.

    Centred texts overflow both sides equally, so the figure grows by twice the
    overflow plus a pad; a few rounds settle it (the layout moves with the size).
    """
    for _ in range(tries):
        dx, dy = overflow_px(fig)
        if dx <= 0 and dy <= 0:
            break
        w, h = fig.get_size_inches()
        fig.set_size_inches(w + (2 * dx + pad_px) / fig.dpi if dx > 0 else w,
                            h + (2 * dy + pad_px) / fig.dpi if dy > 0 else h)
    return fig


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG bytes (its own size and dpi)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=fig.dpi)
    return buffer.getvalue()
