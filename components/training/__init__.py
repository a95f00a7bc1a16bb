"""Training: epoch functions, Ray Train workers, and the driver of the four jobs.

Three layers (imports point down):

* **driver** (:mod:`~components.training.driver`): ``run_training(TrainRequest)``
  checks inputs, opens the MLflow run, builds the ``TorchTrainer`` and finishes
  (outputs, registry). Used by ``har train`` and by each ``har tune`` trial.
* **worker** (:mod:`~components.training.loop`): ``train_loop_per_worker``, with
  ``prepare_model`` / ``prepare_data_loader``, a checkpoint every epoch and
  resume from ``ray.train.get_checkpoint()``.
* **epoch functions** (:mod:`~components.training.epoch`): ``train_one_epoch`` and
  ``evaluate``, plain PyTorch without Ray, over the datasets of
  :mod:`~components.training.datasets` (the job's data indexed by
  :mod:`~components.training.job_data`) and the tasks of :mod:`~components.training.tasks`.

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
from components.training.config import (
    JOBS,
    AugmentConfig,
    DataPaths,
    JobConfig,
    OutputPaths,
    StreamConfig,
    StudentConfig,
    TeacherConfig,
    TrainSettings,
    config_class,
    section_name,
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
from components.training.epoch import EpochStats, evaluate, train_one_epoch
from components.training.losses import NonFiniteLossError

__all__ = [
    "JOBS",
    "REGISTERED_NAMES",
    "AugmentConfig",
    "CheckpointMismatchError",
    "DataPaths",
    "EpochStats",
    "Fingerprint",
    "JobConfig",
    "NonFiniteLossError",
    "OutputPaths",
    "StreamConfig",
    "StudentConfig",
    "TeacherConfig",
    "TrainRequest",
    "TrainResult",
    "TrainSettings",
    "TrainingError",
    "TrialContext",
    "config_class",
    "evaluate",
    "latest_checkpoint",
    "load_checkpoint",
    "make_fingerprint",
    "prepare_training",
    "run_training",
    "save_checkpoint",
    "section_name",
    "train_one_epoch",
    "verify_checkpoint",
]
