"""params.yaml ``tune:``: the LIFT-Net sweep of ``har tune``, as a frozen dataclass."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple


class Tuned(NamedTuple):
    """The student's values a sweep tunes, named once: the keys of the search space,
    of each trial's config, of the sweep's trial rows and of the ``best:`` mapping it
    writes (which ``train_student.tuned_config`` reads).

    Attributes:
        depth: LIFT-Net's N.
        trainable_vit_blocks: how many Partial-ViT blocks train (an int or ``all``).
        lr: the learning rate.
    """

    depth: Any
    trainable_vit_blocks: Any
    lr: Any

    @classmethod
    def of(cls, config: Mapping[str, Any]) -> Tuned:
        """The tuned values of a trial's config (KeyError: one is missing)."""
        return cls(*(config[key] for key in cls._fields))


@dataclass(frozen=True)
class TuneSettings:
    """The search space and the schedule of the sweep.

    Every trial trains the student (``train_student:`` with these overrides) on a
    held-out split of the training videos and reports ``metric`` each epoch; ASHA
    stops the weak trials early.

    Attributes:
        depth: LIFT-Net's N to choose from (paper: 4 small, 6 medium, 8 large).
        trainable_vit_blocks: how many Partial-ViT blocks train (0, 1, ..., ``all``).
        lr: (low, high) of the log-uniform learning rate.
        num_samples: trials (random draws from the space).
        max_epochs: epochs of a trial that is never stopped (ASHA's max_t).
        grace_period: epochs every trial runs before ASHA may stop it.
        reduction_factor: ASHA's halving rate.
        metric, mode: what ASHA and the best-trial choice optimise.
        val_fraction: share of each class's training videos held out for ``val/*``.
        num_workers: Ray Train workers per trial.
        cpus_per_worker: CPUs per worker (a trial takes num_workers x this).
        max_concurrent: trials at once; 0 = as many as the cluster's CPUs allow.
        seed: seed of the random search.
        storage_path: where Tune and the trials keep their folders (relative to the
            repository root, or a shared path / URI on a cluster).
    """

    depth: tuple[int, ...] = (4, 6, 8)
    trainable_vit_blocks: tuple[int | str, ...] = (0, 1, "all")
    lr: tuple[float, float] = (1e-5, 1e-3)
    num_samples: int = 4
    max_epochs: int = 2
    grace_period: int = 1
    reduction_factor: int = 2
    metric: str = "val/top1"
    mode: Literal["max", "min"] = "max"
    val_fraction: float = 0.25
    num_workers: int = 1
    cpus_per_worker: int = 1
    max_concurrent: int = 0
    seed: int = 0
    storage_path: str = "outputs/tune"

    def __post_init__(self) -> None:
        if not self.depth or any(d < 1 for d in self.depth):
            raise ValueError(f"depth must list positive integers, got {list(self.depth)}")
        for value in self.trainable_vit_blocks:
            if value != "all" and (isinstance(value, str) or value < 0):
                raise ValueError(f"trainable_vit_blocks entries must be >= 0 or 'all', "
                                 f"got {value!r}")
        low, high = self.lr
        if not 0 < low <= high:
            raise ValueError(f"lr must be (low, high) with 0 < low <= high, got {low, high}")
        if self.num_samples < 1 or self.max_epochs < 1 or self.grace_period < 1:
            raise ValueError("num_samples, max_epochs and grace_period must be >= 1")
        if self.grace_period > self.max_epochs:
            raise ValueError("grace_period cannot exceed max_epochs")
        if self.reduction_factor < 2:
            raise ValueError(f"reduction_factor must be >= 2, got {self.reduction_factor}")
        if not 0 < self.val_fraction < 1:
            raise ValueError(f"val_fraction must be in (0, 1), got {self.val_fraction}")
        if self.num_workers < 1 or self.cpus_per_worker < 1 or self.max_concurrent < 0:
            raise ValueError("num_workers and cpus_per_worker must be >= 1, max_concurrent >= 0")
