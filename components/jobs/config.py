"""The jobs' parameters (params.yaml sections) as frozen dataclasses.

==================  ======================  ==========================================
section             dataclass               the job
==================  ======================  ==========================================
``train_teacher:``  :class:`TeacherConfig`  R(2+1)D on gamma-corrected clips or flow
``train_student:``  :class:`StudentConfig`  LIFT-Net, distilled from the teacher
``train_normal:``   :class:`StreamConfig`   2D CNN on the base frame of each MEI batch
``train_motion:``   :class:`StreamConfig`   2D CNN on MEIs (or rank-pooled images)
==================  ======================  ==========================================

A trained model's ``model.json`` holds its job's section, from which inference rebuilds
the config (:func:`config_class`). How a run executes (``train:``) is training's alone:
:mod:`components.training.settings`. Defaults are generic CPU demo values (8 frames of
32x32: params.yaml's frame size, which ``represent:`` shares; a few epochs); each job
section of params.yaml sets its own epochs, rates and augmentations, and the paper's
values are given beside each field there. Only ``components.stages`` builds these from
params.yaml; everything below takes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

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
    height: int = 32
    width: int = 32
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
            left, centre, right, :mod:`components.jobs.views`), averaged likewise.
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


def config_class(job: str) -> type[JobConfig]:
    """The dataclass of a job's params section."""
    return {"teacher": TeacherConfig, "student": StudentConfig,
            "normal": StreamConfig, "motion": StreamConfig}[job]


def section_name(job: str) -> str:
    """params.yaml section of ``job`` (``train_teacher``...)."""
    return f"train_{job}"
