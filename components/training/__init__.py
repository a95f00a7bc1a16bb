"""Training: epoch functions, Ray Train workers, and the driver of the four jobs.

Three layers (imports point down):

* **driver** (:mod:`~components.training.driver`): ``run_training(TrainRequest)``
  checks inputs, opens the MLflow run, builds the ``TorchTrainer`` and finishes
  (outputs, registry). Used by ``har train`` and by each ``har tune`` trial.
* **worker** (:mod:`~components.training.loop`): ``train_loop_per_worker``, with
  ``prepare_model`` / ``prepare_data_loader``, a checkpoint every epoch and
  resume from ``ray.train.get_checkpoint()``.
* **epoch functions** (:mod:`~components.training.epoch`): ``train_one_epoch``,
  plain PyTorch without Ray.

What a job is, apart from training it (its config, its data over the shards, its
datasets and task, and the evaluation pass), is :mod:`components.jobs`: inference,
export and evaluation use it without importing training.

The jobs: ``teacher`` (R(2+1)D, cross-entropy on gamma or flow clips), ``student``
(LIFT-Net, CE + lambda * L1(h1, h2) from the frozen teacher), ``normal`` and
``motion`` (2D CNN streams on base frames and MEIs).
"""

from __future__ import annotations

from components.training.checkpoint import (
    CheckpointMismatchError,
    Fingerprint,
    latest_checkpoint,
    load_checkpoint,
    make_fingerprint,
    save_checkpoint,
    verify_checkpoint,
)
from components.training.driver import (
    REGISTERED_NAMES,
    TrainingError,
    TrainRequest,
    TrainResult,
    TrialContext,
    prepare_training,
    run_training,
)
from components.training.epoch import EpochStats, train_one_epoch
from components.training.nonfinite import NonFiniteLossError
from components.training.settings import DataPaths, OutputPaths, TrainSettings

__all__ = [
    "REGISTERED_NAMES",
    "CheckpointMismatchError",
    "DataPaths",
    "EpochStats",
    "Fingerprint",
    "NonFiniteLossError",
    "OutputPaths",
    "TrainRequest",
    "TrainResult",
    "TrainSettings",
    "TrainingError",
    "TrialContext",
    "latest_checkpoint",
    "load_checkpoint",
    "make_fingerprint",
    "prepare_training",
    "run_training",
    "save_checkpoint",
    "train_one_epoch",
    "verify_checkpoint",
]
