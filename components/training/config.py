"""The training jobs' parameters (params.yaml sections) as frozen dataclasses.

=================  ===================  ============================================
section            dataclass            what it trains
=================  ===================  ============================================
``train:``         :class:`TrainSettings`  shared: Ray workers, GPUs, failures, seed
``train_teacher:`` :class:`TeacherConfig`  R(2+1)D on gamma-corrected clips or flow
``train_student:`` :class:`StudentConfig`  LIFT-Net, distilled from the teacher
``train_normal:``  :class:`StreamConfig`   2D CNN on the base frame of each MEI batch
``train_motion:``  :class:`StreamConfig`   2D CNN on MEIs (or rank-pooled images)
=================  ===================  ============================================

Defaults are the CPU demo's values (about 8 frames of 64x64, a few epochs); the
paper's values are given beside each field and in params.yaml. Only
``components.stages`` builds these from params.yaml; everything below takes them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from components.config import as_plain

JobName = Literal["teacher", "student", "normal", "motion"]
JOBS: tuple[str, ...] = ("teacher", "student", "normal", "motion")
#: Representation kinds a job can read (``data/represent/<kind>``).
RepresentationKind = Literal["frames", "gamma", "flow", "mei", "rank"]


def _check_probability(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1], got {value}")


@dataclass(frozen=True)
class AugmentConfig:
    """Training-time augmentations, chosen in params (all off = 0).

    Every random choice is made once per clip, so all frames of a clip (and the
    raw and luminous clips of LIFT-Net) get the same flip, jitter, affine and
    shuffle. Geometric transforms of optical flow keep its vectors consistent:
    a flip negates x; rotation and scaling are skipped for flow (translation only).

    Attributes:
        flip: probability of a horizontal flip (the MEI paper's only augmentation).
        colour_jitter: maximum relative change of brightness, contrast and
            saturation (0.4 is a common choice; 0 = off). RGB inputs only.
        affine: probability of a random affine transform with the ranges below.
        affine_degrees: rotation range +-degrees.
        affine_translate: translation range +-fraction of the frame size.
        affine_scale: (min, max) zoom factor.
        frame_shuffle: probability of shuffling the frame order of a clip (LIFT-Net
            paper). NOTE: classes defined by motion direction (the synthetic
            Rise/Fall) become ambiguous when frames are shuffled: keep it small.
        optical_distortion: probability of a radial lens distortion (LIFT-Net
            paper), coefficient k1 uniform in +-``optical_distortion_limit``.
        elastic: probability of an elastic distortion (LIFT-Net paper): a smooth
            random displacement field, ``elastic_alpha`` strong, smoothed over
            ``elastic_sigma`` of the frame size.
        rain: probability of synthetic rain streaks (LIFT-Net paper) on the RGB
            clip, ``rain_density`` (min, max) drops per pixel.
        The three are kornia's (``undistort_image``, ``RandomElasticTransform``,
        ``RandomRain``) with one draw per clip; like rotation, they are skipped for
        optical flow, whose vectors a warp would have to follow.
        cutmix: probability that a batch is mixed with CutMix.
        cutmix_alpha: Beta(alpha, alpha) of the mixed area.
        flip_pairs: pairs of class names a horizontal flip turns into each other
            (MoveLeft and MoveRight): a flipped sample of one is labelled the other,
            as MMAction2's ``flip_label_map`` does. Other classes keep their label.
    """

    flip: float = 0.5
    colour_jitter: float = 0.0
    affine: float = 0.0
    affine_degrees: float = 10.0
    affine_translate: float = 0.1
    affine_scale: tuple[float, float] = (0.9, 1.1)
    frame_shuffle: float = 0.0
    optical_distortion: float = 0.0
    optical_distortion_limit: float = 0.2
    elastic: float = 0.0
    elastic_alpha: float = 1.0
    elastic_sigma: float = 0.1
    rain: float = 0.0
    rain_density: tuple[float, float] = (0.01, 0.03)
    cutmix: float = 0.0
    cutmix_alpha: float = 1.0
    flip_pairs: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        for name in ("flip", "affine", "frame_shuffle", "cutmix", "optical_distortion",
                     "elastic", "rain"):
            _check_probability(name, getattr(self, name))
        if not 0 <= self.optical_distortion_limit < 1 or self.elastic_alpha < 0 or \
                not 0 < self.elastic_sigma <= 1:
            raise ValueError("need 0 <= optical_distortion_limit < 1, elastic_alpha >= 0 and "
                             "0 < elastic_sigma <= 1")
        low_rain, high_rain = self.rain_density
        if not 0 < low_rain <= high_rain < 1:
            raise ValueError(f"rain_density must be (min, max) drops per pixel with "
                             f"0 < min <= max < 1, got {self.rain_density}")
        if not 0.0 <= self.colour_jitter < 1.0:
            raise ValueError(f"colour_jitter must be in [0, 1), got {self.colour_jitter}")
        low, high = self.affine_scale
        if not 0 < low <= high:
            raise ValueError(f"affine_scale must be (min, max) with 0 < min <= max, "
                             f"got {low, high}")
        if self.cutmix_alpha <= 0:
            raise ValueError(f"cutmix_alpha must be positive, got {self.cutmix_alpha}")


@dataclass(frozen=True)
class TrainSettings:
    """params.yaml ``train:``: what every training job shares.

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
            :func:`components.training.job_data.holdout_split`). Every epoch is scored on
            them (``val/*``), the best epoch's weights are the trained model, and the
            test split is scored once, by that model, after training. 0: no
            validation; the last epoch is the model.
        precise_bn_batches: after every epoch, recompute BatchNorm statistics over at
            most this many training batches with the epoch's final weights (precise
            BN, :mod:`components.training.precise_bn`); 0: off.
    """

    num_workers: int = 2
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
    precise_bn_batches: int = 64

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
class JobConfig:
    """Fields every training job has (see the subclasses for the jobs).

    Attributes:
        model: registered model name (``components.models.list_models()``).
        model_kwargs: builder arguments besides ``num_classes`` (and the sizes and
            channels the job fills in).
        input: representation kind read from ``data/represent/<input>``.
        height, width: frame size the shards must have (``represent.height/width``;
            LIFT-Net paper: 224; silent for the teacher and the MEI streams).
        epochs: training epochs.
        batch_size: global batch (split over the workers). LIFT-Net paper: 32.
        eval_batch_size: evaluation batch per worker (0: ``batch_size``).
        lr: AdamW learning rate, reached after the warm-up and then cosine-annealed
            per step to ``min_lr`` at the last epoch. LIFT-Net paper: 1e-4.
        min_lr: the cosine schedule's floor.
        warmup_epochs: linear warm-up from ``lr / 100`` over this many epochs (steps
            counted; fractions allowed); 0: none.
        patience: stop once the validation score (video top-1, then loss) has not
            improved for this many epochs; 0: train every epoch. The best epoch's
            weights are kept either way.
        stop_at_top1: stop once validation top-1 (video level) reaches this; 0: off.
            The MEI paper's rule is 0.9 (``conf/protocols/mei-paper.yaml``).
        weight_decay: AdamW weight decay.
        label_smoothing: cross-entropy label smoothing.
        grad_clip: clip the gradient norm to this (0: off).
        num_classes: expected class count; 0 = take it from classes.txt. A
            different count is an error before training starts.
        augment: training augmentations.
    """

    model: str = ""
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    input: str = ""
    height: int = 64
    width: int = 64
    epochs: int = 3
    batch_size: int = 8
    eval_batch_size: int = 0
    lr: float = 1e-3
    min_lr: float = 0.0
    warmup_epochs: float = 0.0
    patience: int = 0
    stop_at_top1: float = 0.0
    weight_decay: float = 0.05
    label_smoothing: float = 0.0
    grad_clip: float = 0.0
    num_classes: int = 0
    augment: AugmentConfig = field(default_factory=AugmentConfig)

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.eval_batch_size < 0:
            raise ValueError("epochs and batch_size must be >= 1, eval_batch_size >= 0")
        if self.height < 1 or self.width < 1:
            raise ValueError(f"height and width must be positive, got {self.height}x{self.width}")
        if self.lr <= 0 or self.min_lr < 0 or self.min_lr > self.lr:
            raise ValueError(f"need 0 <= min_lr <= lr and lr > 0, got lr={self.lr}, "
                             f"min_lr={self.min_lr}")
        if self.warmup_epochs < 0 or self.warmup_epochs > self.epochs or self.patience < 0:
            raise ValueError(f"need 0 <= warmup_epochs <= epochs and patience >= 0, got "
                             f"warmup_epochs={self.warmup_epochs}, patience={self.patience}")
        if not 0 <= self.stop_at_top1 <= 1:
            raise ValueError(f"stop_at_top1 must be in [0, 1] (0: off), got {self.stop_at_top1}")
        if self.weight_decay < 0 or self.grad_clip < 0 or self.num_classes < 0:
            raise ValueError("weight_decay, grad_clip and num_classes must be >= 0")
        if not 0 <= self.label_smoothing < 1:
            raise ValueError(f"label_smoothing must be in [0, 1), got {self.label_smoothing}")

    @property
    def eval_batch(self) -> int:
        return self.eval_batch_size or self.batch_size


@dataclass(frozen=True)
class ClipJobConfig(JobConfig):
    """Jobs on clips (teacher, student).

    Attributes:
        clip_len: frames per clip (LIFT-Net paper: 30; silent for the teacher).
        stride: step between the frames of a clip.
        eval_clips: deterministic, evenly spaced clips per test video; the video's
            prediction is the mean of their softmax outputs.
        eval_crops: spatial crops per clip at evaluation (1: the whole frame; 3:
            left, centre, right, :mod:`components.training.views`), averaged likewise.
    """

    clip_len: int = 8
    stride: int = 1
    eval_clips: int = 2
    eval_crops: int = 1

    def __post_init__(self) -> None:
        super().__post_init__()
        if min(self.clip_len, self.stride, self.eval_clips, self.eval_crops) < 1:
            raise ValueError("clip_len, stride, eval_clips and eval_crops must be >= 1")


@dataclass(frozen=True)
class TeacherConfig(ClipJobConfig):
    """params.yaml ``train_teacher:``: the R(2+1)D teacher, cross-entropy.

    ``input``: ``gamma`` (gamma-corrected frames, dark video), ``flow`` (optical
    flow, daylight and infrared video), ``frames`` (raw frames: the control for the
    paper's claim that gamma helps on dark video) or ``auto`` (by the dataset's lighting in
    ``dataset.json``, declared or measured at ingest: the paper's choice);
    ``model``: ``r2plus1d_18`` (the paper's R(2+1)D; 18 layers is the project's
    choice) or ``r3d_18`` (ablation).
    """

    model: str = "r2plus1d_18"
    input: Literal["auto", "frames", "gamma", "flow"] = "auto"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.model not in ("r2plus1d_18", "r3d_18"):
            raise ValueError(f"the teacher is r2plus1d_18 or r3d_18, got {self.model!r}")


@dataclass(frozen=True)
class StudentConfig(ClipJobConfig):
    """params.yaml ``train_student:``: LIFT-Net distilled from the trained teacher.

    The loss is Eq. 6, ``CE + kd_lambda * sum_i |h1_i - h2_i|``: h1 the frozen
    teacher's logits on the luminous clip, h2 LIFT-Net's logits (``kd_target:
    logits``; ``features``: pooled teacher feature vs a projection of the student's,
    L1 mean). The luminous pathway starts from the teacher's trunk (the paper: the
    weights are shared; frozen is the project's reading, unless
    ``model_kwargs.train_luminous_trunk``).

    Attributes:
        input: the luminous input, ``gamma``, ``flow`` or ``frames`` (raw frames: the
            control the paper's gamma is measured against); it must be the teacher's.
            ``auto``: the teacher's (with KD), else by the dataset's lighting.
        teacher: folder of the trained teacher (``har train --job teacher``
            writes ``model.pt`` and ``model.json`` there).
        kd: distil from the teacher. ``false`` (the no-KD ablation) trains on
            cross-entropy alone, without the teacher: the luminous trunk then starts
            from the weights the teacher started from (the ``pretrained:`` file of its
            architecture when configured, else a random initialisation) and trains.
        kd_lambda: weight of the L1 distillation term (paper: 1).
        kd_target: ``logits`` (the paper's h1, h2: pre-softmax outputs) or
            ``features`` (pooled features, the project's earlier variant).
        tuned_config: a ``har tune`` result (YAML with ``depth``,
            ``trainable_vit_blocks``, ``lr``) that overrides those values; null = none.
    """

    model: str = "lift_net"
    input: Literal["auto", "frames", "gamma", "flow"] = "auto"
    teacher: Path = Path("models/teacher")
    kd: bool = True
    kd_lambda: float = 1.0
    kd_target: Literal["logits", "features"] = "logits"
    tuned_config: Path | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.model != "lift_net":
            raise ValueError(f"the student is lift_net, got {self.model!r}")
        if self.kd_lambda < 0:
            raise ValueError(f"kd_lambda must be >= 0, got {self.kd_lambda}")


@dataclass(frozen=True)
class StreamConfig(JobConfig):
    """params.yaml ``train_normal:`` / ``train_motion:``: a 2D CNN stream of the MEI
    two-stream network (paper backbones: efficientnet_b0, densenet201,
    mobilenetv2_100, resnet50, inception_v3, ensemble).

    Attributes:
        input: ``mei`` or ``rank`` for the motion stream; ``frames`` or ``gamma`` for
            the normal stream, which reads the base (last) frame of each MEI batch
            (``gamma`` when the MEIs are made from gamma-corrected frames,
            ``represent.mei.source: gamma``, so both streams see the same pixels).
        base_of: normal stream only: the motion representation whose batches'
            base frames it reads (``mei`` or ``rank``).
    """

    model: str = "mobilenetv2_100"
    input: Literal["frames", "gamma", "mei", "rank"] = "mei"
    base_of: Literal["mei", "rank"] = "mei"


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


def config_class(job: str) -> type[JobConfig]:
    """The dataclass of a job's params section."""
    return {"teacher": TeacherConfig, "student": StudentConfig,
            "normal": StreamConfig, "motion": StreamConfig}[job]


def section_name(job: str) -> str:
    """params.yaml section of ``job`` (``train_teacher``...)."""
    return f"train_{job}"


def stable_hash(data: Any) -> str:
    """SHA-256 of JSON-friendly ``data`` with sorted keys (the same on every machine)."""
    text = json.dumps(as_plain(data), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
