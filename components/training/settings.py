"""How a training run executes (params.yaml ``train:``) and where a job reads and writes.

The jobs' own sections (``train_teacher:`` ...) are :mod:`components.jobs.config`:
what inference rebuilds a trained model with. These are training's alone. Only
``components.stages`` builds them from params.yaml; everything below takes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal


@dataclass(frozen=True)
class TrainSettings:
    """params.yaml ``train:``: what every training job shares. Defaults are params.yaml's
    (``tests/test_params_defaults.py``).

    Attributes:
        num_workers: Ray Train workers (DDP ranks). Paper: one per GPU.
        use_gpu: ``auto`` (CUDA on the driver, or GPUs in the Ray cluster), true, false.
        cpus_per_worker: CPUs Ray reserves per worker, also its torch/OpenMP
            threads; 0 = the local CPUs divided by ``num_workers``.
        max_failures: worker-group restarts (from the latest checkpoint) before the
            run fails (Ray ``FailureConfig``).
        seed: seed of everything random (per-rank and per-epoch seeds derive from it).
        storage_path: where Ray keeps each run's checkpoints: a folder (relative to
            the repository root) or, on a cluster, a shared path or URI (``s3://...``).
        keep_checkpoints: checkpoints kept per run while it trains (the latest ones).
        prune_checkpoints: once a run has finished and its outputs are written,
            delete its epoch checkpoints (resuming a finished run trains afresh
            anyway); the run folder keeps its ``state.json``.
        log_checkpoint: also log the final resume checkpoint (model, optimiser,
            scheduler state: several times the model) to the MLflow run; the
            registered model holds the weights either way.
        loader_workers: DataLoader processes per Ray worker (0: load in the worker;
            shards are memory-mapped, so loading is cheap).
        amp: mixed precision on CUDA (ignored on CPU).
        channels_last: channels-last memory format on CUDA (ignored on CPU).
        experiment: MLflow experiment.
        log_model: log and register the trained model in MLflow.
        preset: the model preset (``demo`` or ``paper``) whose networks the jobs build
            (``conf/models.yaml``; a job's ``model``/``model_kwargs`` override it).
        models_file: ``conf/models.yaml``: the presets, and the ``pretrained:`` map of
            network name -> local weight file; null: no preset (every job section
            names its model) and random initialisation.
        val_fraction: share of the training videos held out for model selection
            (whole scene groups when the names carry them; see
            :func:`components.training.holdout.holdout_split`). Every epoch is scored on
            them (``val/*``), the best epoch's weights are the trained model, and the
            test split is scored once, by that model, after training. 0: no
            validation; the last epoch is the model.
        precise_bn_batches: after every epoch, recompute BatchNorm statistics over at
            most this many training batches with the epoch's final weights (precise
            BN, :mod:`components.training.precise_bn`); 0: off.
    """

    num_workers: int = 1
    use_gpu: bool | Literal["auto"] = "auto"
    cpus_per_worker: int = 0
    max_failures: int = 1
    seed: int = 0
    storage_path: str = "outputs/ray"
    keep_checkpoints: int = 2
    prune_checkpoints: bool = True
    log_checkpoint: bool = False
    loader_workers: int = 0
    amp: bool = True
    channels_last: bool = True
    experiment: str = "har"
    log_model: bool = True
    preset: str = "demo"
    models_file: Path | None = Path("conf/models.yaml")
    val_fraction: float = 0.2
    precise_bn_batches: int = 32

    def __post_init__(self) -> None:
        if not 0.0 <= self.val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in [0, 1), got {self.val_fraction}")
        if self.precise_bn_batches < 0:
            raise ValueError(f"precise_bn_batches must be >= 0, got {self.precise_bn_batches}")
        if self.num_workers < 1:
            raise ValueError(f"num_workers must be >= 1, got {self.num_workers}")
        if self.cpus_per_worker < 0 or self.max_failures < 0 or self.loader_workers < 0:
            raise ValueError("cpus_per_worker, max_failures and loader_workers must be >= 0")
        if self.keep_checkpoints < 1:
            raise ValueError(f"keep_checkpoints must be >= 1, got {self.keep_checkpoints}")


#: TrainSettings fields that change how a run executes, not what it computes:
#: they are left out of the checkpoint fingerprint, so a run resumes with more
#: workers or another storage location.
OPERATIONAL_SETTINGS: frozenset[str] = frozenset({
    "num_workers", "use_gpu", "cpus_per_worker", "max_failures", "storage_path",
    "keep_checkpoints", "loader_workers", "channels_last", "experiment", "log_model",
    "prune_checkpoints", "log_checkpoint",
})


@dataclass(frozen=True)
class DataPaths:
    """Where a training job reads its inputs (absolute paths in workers).

    Attributes:
        ingest: ``har ingest`` output: manifest.csv, classes.txt, dataset.json.
        represent: ``har represent`` output: one shard folder per kind.
    """

    ingest: Path = Path("data/ingest")
    represent: Path = Path("data/represent")

    def resolved(self, root: Path) -> DataPaths:
        return DataPaths(ingest=(root / self.ingest).resolve(),
                         represent=(root / self.represent).resolve())


@dataclass(frozen=True)
class OutputPaths:
    """Where a job writes what DVC tracks.

    Attributes:
        models: ``<models>/<job>/model.pt`` (state dict) and ``model.json``.
        metrics: ``<metrics>/<job>.json``: final test metrics.
        plots: ``<plots>/<job>.csv`` (per-epoch history) and ``<job>_confusion.png``.
        name: the ``<job>`` part of these names; a variant of a job (the no-KD
            student: ``student_nokd``) writes under its own name. Empty: the job.
    """

    models: Path = Path("models")
    metrics: Path = Path("metrics")
    plots: Path = Path("plots")
    name: str = ""

