"""The validation hold-out of the training videos: whole scene groups when the names
carry them, else a stratified split by video (:func:`holdout_split`)."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from components.jobs.data import VideoEntry

#: UCF-style ``..._gNN_cNN.ext`` names: NN after ``_g`` is the scene group (UCF101's
#: actor/scene groups, SEAGS_V1, the synthetic demo).
_SCENE_GROUP = re.compile(r"_g(\d+)_c\d+\.[^/]*$")


def scene_group(key: str) -> str | None:
    """The scene group of a UCF-style video name (``v_Rise_g03_c02.mp4`` -> ``03``)."""
    match = _SCENE_GROUP.search(key)
    return match.group(1) if match else None


def holdout_split(
    entries: Sequence[VideoEntry], fraction: float, seed: int
) -> tuple[tuple[VideoEntry, ...], tuple[VideoEntry, ...]]:
    """Split training videos into (train, validation), seeded.

    When every video name carries a UCF-style scene group (``_gNN_cNN``) and there
    are at least two groups, whole groups go to validation (about ``fraction`` of
    them, at least one): clips of one group share actor and background, so a
    validation video from a training group would be scored on a scene the model
    has seen (UCF101's split rule, applied to validation). Otherwise (or when a
    class would lose all its training videos) the split is by video, stratified by
    class: every class keeps at least one training video, and a class with two or
    more gives at least one to validation when ``fraction > 0``.
    """
    if fraction <= 0:
        return tuple(entries), ()
    by_group = _split_by_group(entries, fraction, seed)
    if by_group is not None:
        return by_group
    rng = np.random.default_rng(seed)
    by_class: dict[int, list[VideoEntry]] = {}
    for entry in entries:
        by_class.setdefault(entry.label, []).append(entry)
    val_keys: set[str] = set()
    for label in sorted(by_class):
        group = by_class[label]
        order = rng.permutation(len(group))
        n_val = min(len(group) - 1, max(1, round(fraction * len(group))))
        val_keys.update(group[int(i)].key for i in order[:n_val])
    return (tuple(e for e in entries if e.key not in val_keys),
            tuple(e for e in entries if e.key in val_keys))


def _split_by_group(entries: Sequence[VideoEntry], fraction: float, seed: int
                    ) -> tuple[tuple[VideoEntry, ...], tuple[VideoEntry, ...]] | None:
    groups = [scene_group(e.key) for e in entries]
    names = sorted({g for g in groups if g is not None})
    if any(g is None for g in groups) or len(names) < 2:
        return None
    order = np.random.default_rng(seed).permutation(len(names))
    n_val = min(len(names) - 1, max(1, round(fraction * len(names))))
    chosen = {names[int(i)] for i in order[:n_val]}
    train = tuple(e for e, g in zip(entries, groups, strict=True) if g not in chosen)
    val = tuple(e for e, g in zip(entries, groups, strict=True) if g in chosen)
    if {e.label for e in train} != {e.label for e in entries}:
        return None
    return train, val
