"""Pictures of a trained model: confusion matrix and learning curves.

Pure drawing: numbers and titles in, a Matplotlib figure out (Agg canvas); the
caller saves it (:func:`components.training.outputs.save_figure`) or logs it
(``tracking.log_figure``). Titles are for people: :func:`figure_title` names the
model, the dataset and split, and the date; a run's fingerprint, when wanted,
goes in the small grey ``subtitle`` under the picture.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from components._figures import fit_to_text, new_figure

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.ticker import PercentFormatter

#: How people call the registered models.
MODEL_TITLES = {"r2plus1d_18": "R(2+1)D-18", "r3d_18": "R3D-18", "lift_net": "LIFT-Net",
                "small_cnn": "small CNN", "two_stream": "two-stream network",
                "ensemble": "ensemble"}
#: What each training job's model is for.
JOB_ROLES = {"teacher": "teacher", "student": "student, distilled",
             "student_nokd": "student, no KD", "normal": "normal stream",
             "motion": "motion stream"}

#: Line style per split: colour, marker, line style, drawing order (test on top).
SPLIT_STYLES: dict[str, dict[str, Any]] = {
    "train": {"color": "#1f77b4", "marker": "o", "linestyle": "-", "zorder": 2},
    "val": {"color": "#ff7f0e", "marker": "s", "linestyle": "--", "zorder": 3},
    "test": {"color": "#d62728", "marker": "^", "linestyle": ":", "zorder": 5},
}
SUBTITLE_STYLE = {"fontsize": 8, "color": "0.4"}


def model_title(job: str, model: str) -> str:
    """``LIFT-Net (student, distilled)`` from a job (or output) name and a model name."""
    name = MODEL_TITLES.get(model, model)
    role = JOB_ROLES.get(job, job.replace("_", " "))
    return f"{name} ({role})" if role and role != name else name


def figure_title(model: str, dataset: str, split: str = "",
                 when: dt.date | None = None) -> str:
    """``LIFT-Net (student) — ucf101-synthetic/split1, test split, 2026-12-02``.

    Args:
        model: what people call the model (:func:`model_title`, a results row title).
        dataset: the dataset (and split file) the numbers are on.
        split: which part of it (``test``, ``val``); left out when empty.
        when: date of the numbers; today (UTC) by default.
    """
    when = when or dt.datetime.now(dt.UTC).date()
    split = split if not split or split.endswith("split") else f"{split} split"
    return f"{model} — " + ", ".join(p for p in (dataset, split, when.isoformat()) if p)


def _subtitle(fig: Figure, subtitle: str) -> None:
    # supxlabel: a footer line that the constrained layout makes room for
    if subtitle:
        fig.supxlabel(subtitle, **SUBTITLE_STYLE)


def confusion_figure(matrix: np.ndarray, classes: Sequence[str], title: str,
                     subtitle: str = "") -> Figure:
    """A confusion matrix: rows the true class, columns the predicted one.

    Each cell shows the video count and its share of the true class (row %; an
    empty cell just a grey 0);
    the colour is that share (0-100 %, colour bar at the side), so classes with
    more videos do not look better. Class names on both axes.

    Args:
        matrix: (K, K) counts, ``matrix[true, predicted]``; empty when nothing was scored.
        classes: K class names.
        title: the human title (:func:`figure_title`).
        subtitle: a small footer (the run, the epoch).
    """
    k = len(classes)
    matrix = np.asarray(matrix, dtype=float)
    if matrix.size == 0:  # nothing scored (a trial stopped early): an empty grid
        matrix = np.zeros((k, k))
    totals = matrix.sum(axis=1, keepdims=True)
    share = np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0)
    longest = max((len(c) for c in classes), default=4)
    # Cells 0.75 in wide; room for the rotated names below and the names at the left.
    side = max(2.5, 0.75 * k)
    fig = new_figure(side + 0.09 * longest + 2.2, side + 0.07 * longest + 1.6)
    ax = fig.add_subplot(1, 1, 1)
    image = ax.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0)
    bar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.03)
    bar.set_label("share of the true class")
    bar.ax.yaxis.set_major_formatter(_percent())
    ax.set_xticks(range(k), labels=list(classes), rotation=45 if longest > 3 else 0,
                  ha="right" if longest > 3 else "center", rotation_mode="anchor")
    ax.set_yticks(range(k), labels=list(classes))
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    if k <= 30:
        size = 9 if k <= 10 else 7
        for i in range(k):
            for j in range(k):
                count = int(matrix[i, j])
                ax.text(j, i, f"{count}\n{100 * share[i, j]:.0f}%" if count else "0",
                        ha="center", va="center", fontsize=size, linespacing=1.1,
                        color="white" if share[i, j] > 0.5 else "black" if count else "0.6")
    fig.suptitle(title, fontsize=11)
    _subtitle(fig, subtitle)
    return fit_to_text(fig)


def _percent() -> PercentFormatter:
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(1.0, decimals=0)


def _series(history: Sequence[Mapping[str, Any]], key: str) -> list[float]:
    values = []
    for row in history:
        value = row.get(key, math.nan)
        values.append(float(value) if value not in ("", None) else math.nan)
    return values


def _split_of(prefix: str) -> str:
    return prefix if prefix in SPLIT_STYLES else "val"


def curves_figure(history: Sequence[Mapping[str, Any]], eval_prefix: str, title: str,
                  best_epoch: int | None = None, *, subtitle: str = "",
                  test: Mapping[str, float] | None = None) -> Figure:
    """Loss and top-1 per epoch, train and evaluation split side by side.

    Splits differ in colour, marker and line style (train blue circles, solid;
    val orange squares, dashed; test red triangles, dotted, drawn on top); the
    clip-level top-1 (``<split>/top1_item``) is the thin, hollow variant of its
    split's line. A grey dashed line marks the selected epoch, and the test
    split's scores of the selected model (scored once, after training), when
    given, are big red stars on it. One legend, right of the panels, off the data.

    Args:
        history: one record per epoch (``epoch``, ``train/loss``,
            ``<eval_prefix>/loss``, ``train/top1``, ``<eval_prefix>/top1``...).
        eval_prefix: the split scored every epoch (``val``, or ``test`` without one).
        title: the human title (:func:`figure_title`).
        best_epoch: the selected epoch (1-based), if any.
        subtitle: a small footer (the run's name).
        test: final scores of the selected model, ``test/loss``, ``test/top1``...
    """
    from matplotlib.ticker import MaxNLocator

    epochs = [int(h["epoch"]) for h in history]
    fig = new_figure(10.0, 4.2)
    axes = fig.subplots(1, 2)
    evaluated = _split_of(eval_prefix)
    panels = (("loss", "loss"), ("top1", "top-1 accuracy (per video)"))
    for ax, (metric, ylabel) in zip(axes, panels, strict=True):
        _line(ax, epochs, _series(history, f"train/{metric}"), "train", "train")
        _line(ax, epochs, _series(history, f"{eval_prefix}/{metric}"), evaluated, evaluated)
        if metric == "top1":
            _line(ax, epochs, _series(history, f"{eval_prefix}/top1_item"), evaluated,
                  f"{evaluated}, per clip", variant=True)
        if best_epoch:
            _mark_selected_epoch(ax, best_epoch, (test or {}).get(f"test/{metric}"))
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if metric == "top1":
            ax.yaxis.set_major_formatter(_percent())
        ax.grid(alpha=0.3)
    _one_legend(fig, axes)
    fig.suptitle(title, fontsize=12)
    _subtitle(fig, subtitle)
    return fit_to_text(fig)


def _mark_selected_epoch(ax: Axes, best_epoch: int, final: float | None) -> None:
    """A grey dashed line at the selected epoch, and on it a big red star at the
    selected model's test score (``final``) when there is a finite one."""
    ax.axvline(best_epoch, color="0.45", linestyle=(0, (4, 3)), linewidth=1.2,
               zorder=1, label=f"selected epoch ({best_epoch})")
    if final is not None and math.isfinite(final):
        style = SPLIT_STYLES["test"]
        ax.plot([best_epoch], [final], linestyle="none", marker="*", markersize=15,
                color=style["color"], markeredgecolor="black", zorder=6,
                label="test, selected model")


def _one_legend(fig: Figure, axes: Sequence[Axes]) -> None:
    """One legend for both panels, right of them: each label once."""
    handles: dict[str, Any] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    # splits first (train, evaluated, its per-clip variant, test), the marker last
    order = sorted(handles, key=lambda label: (label.startswith("selected"), label != "train",
                                               label.startswith("test")))
    fig.legend([handles[label] for label in order], order, loc="outside right upper", fontsize=9,
               frameon=False)


def _line(ax: Axes, epochs: list[int], values: list[float], split: str, label: str,
          variant: bool = False) -> None:
    if not values or all(math.isnan(v) for v in values):
        return
    style = dict(SPLIT_STYLES[split])
    if variant:  # thinner and hollow: the same split, another granularity
        style.update(linewidth=1.0, markerfacecolor="white", markersize=5,
                     linestyle=(0, (1, 1)), zorder=style["zorder"] + 0.5)
    else:
        style.update(linewidth=1.8, markersize=6)
    ax.plot(epochs, values, label=label, **style)
