"""What a training job is asked to do, and what it gives back: the request, the
checked and planned job (:class:`Prepared`), the result (see :mod:`.driver`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from components.errors import HarError
from components.jobs.config import JobConfig
from components.jobs.data import JobData
from components.training.checkpoint import (
    Fingerprint,
)
from components.training.session import WorkerPlan
from components.training.settings import DataPaths, OutputPaths, TrainSettings


class TrainingError(HarError):
    """Training failed or stopped (worker errors after retries, a non-finite loss)."""


@dataclass(frozen=True)
class TrialContext:
    """Set when a run is one trial of a ``har tune`` sweep.

    Attributes:
        parent_run_id: the sweep's MLflow run (the trial's run nests under it).
        tracking_uri: the sweep's store.
        trial_id: Tune's trial id (names the Ray run).
        storage_path: where the trial's Ray run folder goes.
    """

    parent_run_id: str
    tracking_uri: str
    trial_id: str
    storage_path: str


@dataclass(frozen=True)
class TrainRequest:
    """One training job, fully specified.

    Attributes:
        job: ``teacher``, ``student``, ``normal`` or ``motion``.
        config: the job's section (resolved: flags applied).
        settings: the ``train:`` section.
        data: input folders (made absolute against ``repo_root``).
        outputs: DVC output folders, or None (Tune trials write none).
        repo_root: repository root (MLflow's default store, relative paths).
        fresh: discard the run folder and start over.
        pretrained: network name -> local weight file (``conf/models.yaml``).
        val_fraction: the share of training videos held out for model selection
            (``val/*``); None: ``settings.val_fraction``. 0: no validation (the last
            epoch is the model). The test split is never evaluated per epoch.
        trial: set for Tune trials.
        register: log and register the model (and move the champion alias).
        candidate_only: why this run must not compete for ``champion`` (a scratch run:
            epochs or output folder changed on the command line); "" for a
            production run. Its version gets the ``challenger`` alias.
        dvc_experiment: the DVC experiment running this job (``DVC_EXP_NAME``, read
            by the stage), "" outside one: tagged ``har.dvc_exp`` on the run (har
            ablate finds its runs by it) and never promoted to ``champion``.
    """

    job: str
    config: JobConfig
    settings: TrainSettings
    data: DataPaths = DataPaths()
    outputs: OutputPaths | None = OutputPaths()
    repo_root: Path = Path(".")
    fresh: bool = False
    pretrained: Mapping[str, str | None] = field(default_factory=dict)
    val_fraction: float | None = None
    trial: TrialContext | None = None
    register: bool = True
    candidate_only: str = ""
    dvc_experiment: str = ""


@dataclass(frozen=True)
class Prepared:
    """A checked job, ready to run (what :func:`prepare_training` returns)."""

    request: TrainRequest
    config: JobConfig
    data: JobData
    plan: WorkerPlan
    fingerprint: Fingerprint
    run_name: str
    storage_path: str
    labels: dict[str, str]


@dataclass(frozen=True)
class TrainResult:
    """What a finished run produced.

    Attributes:
        metrics: final metrics (``top1`` video-level, ``top5``, ``mean_class_acc``...).
        history: one record per epoch.
        resumed_from: the epoch the run resumed after (0: started fresh).
        model_version: registered version, None when not registered.
        promoted: whether the champion alias moved to it.
    """

    job: str
    run_name: str
    run_dir: str
    mlflow_run_id: str
    metrics: dict[str, float]
    history: list[dict[str, float]]
    resumed_from: int = 0
    model_version: str | None = None
    promoted: bool | None = None
    decision: str = ""
