"""Run names and standard tags, so the MLflow UI lines runs up side by side.

Every run carries the same ``har.*`` tags; filter and group on them in the UI
(``tags."har.model" = 'lift-net-small'``) and in ``search_runs``. Names read
``<job>-<model>-<dataset>[-<extra>]`` so that sorting by name groups comparable runs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

TAG_JOB = "har.job"
"""What the run does: ``train-teacher``, ``train-student``, ``train-streams``, ``sweep``,
``evaluate``, ``register``."""
TAG_MODEL = "har.model"
"""Model/architecture: ``r2plus1d-18``, ``lift-net-small``, ``mei-efficientnet-b0``."""
TAG_DATASET = "har.dataset"
"""Dataset (and lighting variant): ``synthetic-dark``, ``ucf101``, ``arid``."""
TAG_SPLIT = "har.split"
"""Split of the dataset: ``split1``, ``70-30``."""
TAG_STAGE = "har.stage"
"""The ``har <stage>`` / DVC stage that produced the run."""

STANDARD_TAG_KEYS: tuple[str, ...] = (TAG_JOB, TAG_MODEL, TAG_DATASET, TAG_SPLIT, TAG_STAGE)

_UNSAFE = re.compile(r"[^A-Za-z0-9._+=,@-]+")


def _slug(text: str) -> str:
    """Lower-case ``text`` and replace runs of characters unsafe in names by ``_``."""
    return _UNSAFE.sub("_", str(text).strip()).strip("_").lower()


def run_name(
    job: str,
    model: str,
    dataset: str,
    extra: str | Mapping[str, object] | None = None,
) -> str:
    """A readable, sortable run name.

    Args:
        job: What the run does (``train-teacher``).
        model: Model name (``r2plus1d-18``).
        dataset: Dataset key (``synthetic-dark``).
        extra: A suffix, or a mapping rendered as ``k=v`` pairs in key order
            (``{"lr": 1e-4, "bs": 8}`` -> ``bs=8,lr=0.0001``).

    Returns:
        ``<job>-<model>-<dataset>[-<extra>]`` with unsafe characters replaced by ``_``.

    Examples:
        >>> run_name("train-teacher", "R(2+1)D-18", "synthetic-dark", {"lr": 0.001})
        'train-teacher-r_2+1_d-18-synthetic-dark-lr=0.001'
    """
    parts = [_slug(job), _slug(model), _slug(dataset)]
    if isinstance(extra, Mapping):
        extra = ",".join(f"{key}={extra[key]}" for key in sorted(extra))
    if extra:
        parts.append(_slug(extra))
    return "-".join(part for part in parts if part)


def standard_tags(
    *,
    job: str,
    model: str | None = None,
    dataset: str | None = None,
    split: str | None = None,
    stage: str | None = None,
) -> dict[str, str]:
    """The standard ``har.*`` tags of a run (None values are left out).

    Args:
        job: What the run does.
        model: Model name.
        dataset: Dataset key.
        split: Split name.
        stage: DVC / ``har`` stage name.

    Returns:
        A dict of tag key to value.
    """
    values = {
        TAG_JOB: job,
        TAG_MODEL: model,
        TAG_DATASET: dataset,
        TAG_SPLIT: split,
        TAG_STAGE: stage,
    }
    return {key: str(value) for key, value in values.items() if value is not None}


def dataset_key(dataset: str, split: str) -> str:
    """The key that makes two evaluations comparable: ``<dataset>/<split>``.

    Args:
        dataset: Dataset key (``synthetic-dark``).
        split: Split name (``split1``).

    Returns:
        For example ``synthetic-dark/split1``.
    """
    return f"{dataset}/{split}"
