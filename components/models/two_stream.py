"""The MEI two-stream network's 2D CNNs (timm), their ensemble, and late fusion.

Paper: the MEI two-stream network, its normal and motion streams, the backbones
and their ensemble, and late fusion (``docs/paper-fidelity.md``, section 1).

A *normal stream* CNN classifies the last frame of each batch of N frames; a
*motion stream* CNN classifies the Motion Embedded Image (or a rank-pooled
dynamic image). Each stream is one of the paper's backbones, or an ensemble
that averages their probabilities; the two streams' probabilities are averaged
(late fusion, weights configurable, equal by default).

Every timm model is built with ``pretrained=False``; ImageNet weights come from
local files (:func:`components.models.weights.load_pretrained`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import torch
from torch import nn

from components.models._registry import create_model, register_model
from components.models.weights import Adapted, drop_mismatched_classifier, load_pretrained

#: The paper's backbones (timm names).
BACKBONES: tuple[str, ...] = (
    "efficientnet_b0",
    "densenet201",
    "mobilenetv2_100",
    "resnet50",
    "inception_v3",
)
#: Smallest square input each backbone accepts (the paper preset's input is 224).
MIN_INPUT_SIZE: dict[str, int] = {"inception_v3": 75}
_PREFIX = "backbone."


class StreamCNN(nn.Module):
    """One stream's 2D CNN: a timm backbone with a ``num_classes`` head.

    Args:
        backbone: timm model name (one of :data:`BACKBONES`, or any timm CNN).
        num_classes: K.
        in_chans: Input channels (3 for frames, MEIs and dynamic images).
        drop_rate: Dropout before the classifier.
        output_stride: The backbone's total downsampling: 32 as built for 224 px
            (the paper preset); 8 or 16 keep a 4x4 or 2x2 feature map at 32 px by
            dilating the last stages instead of striding (timm's ``output_stride``;
            the weights are the same tensors, so ImageNet files still load).

    Shapes:
        ``forward``: images (B, in_chans, H, W) float32 -> logits (B, K).
    """

    def __init__(
        self, backbone: str, num_classes: int, in_chans: int = 3, drop_rate: float = 0.0,
        output_stride: int = 32,
    ) -> None:
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"num_classes must be positive, got {num_classes}")
        if output_stride not in (8, 16, 32):
            raise ValueError(f"output_stride must be 8, 16 or 32, got {output_stride!r}")
        self.backbone_name = backbone
        self.num_classes = num_classes
        self.in_chans = in_chans
        self.output_stride = output_stride
        self.min_input_size = MIN_INPUT_SIZE.get(backbone, 1)
        extra: dict[str, Any] = {} if output_stride == 32 else {"output_stride": output_stride}
        import timm  # here, not at the top: the small CNN streams never need it

        try:
            # a timm model: get_classifier, pretrained_cfg (not on nn.Module's type)
            self.backbone: Any = timm.create_model(
                backbone,
                pretrained=False,
                num_classes=num_classes,
                in_chans=in_chans,
                drop_rate=drop_rate,
                **extra,
            )
        except TypeError as exc:  # timm passes unknown keywords to the model class
            raise ValueError(f"{backbone} does not support output_stride={output_stride}: "
                             f"{exc}") from None
        self._reset_classifier()

    def _reset_classifier(self) -> None:
        """A small fresh classifier (weights N(0, 0.01), zero bias).

        timm initialises some heads (MobileNetV2, EfficientNet) for 1000 ImageNet
        classes; with a few classes from scratch the first logits are large
        (cross-entropy measured 6 to 20 on two classes) and training stalls. A
        small head starts every class near 1/K.
        """
        head = self.backbone.get_classifier()
        if isinstance(head, nn.Linear):
            nn.init.normal_(head.weight, std=0.01)
            nn.init.zeros_(head.bias)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> logits (B, K)."""
        if images.dim() != 4 or images.shape[1] != self.in_chans:
            raise ValueError(
                f"{self.backbone_name} expects (B, {self.in_chans}, H, W) images, "
                f"got {tuple(images.shape)}"
            )
        if min(images.shape[-2:]) < self.min_input_size:
            raise ValueError(
                f"{self.backbone_name} needs images of at least {self.min_input_size}x"
                f"{self.min_input_size}, got {tuple(images.shape[-2:])}"
            )
        return self.backbone(images)

    def adapt_pretrained_state_dict(self, state: dict[str, torch.Tensor]) -> Adapted:
        """Fit a timm ImageNet checkpoint: add the ``backbone.`` prefix, drop a classifier
        with another class count (it keeps its fresh initialisation)."""
        state = {k if k.startswith(_PREFIX) else _PREFIX + k: v for k, v in state.items()}
        classifier = self.backbone.pretrained_cfg.get("classifier", "fc")
        names = [classifier] if isinstance(classifier, str) else list(classifier)
        ignored: list[str] = []
        notes: list[str] = []
        allow: list[str] = []
        own = self.state_dict()
        for name in names:
            state, dropped, msgs = drop_mismatched_classifier(state, own, _PREFIX + name)
            ignored += dropped
            notes += msgs
            if dropped:
                allow.append(f"{_PREFIX}{name}.*")
        return Adapted(state, tuple(ignored), tuple(allow), tuple(notes))


class SmallCNN(nn.Module):
    """A plain convolutional network for small frames: the demo preset's stream CNN.

    The paper's backbones are built for 224 px ImageNet images: at 32 px their
    stems shrink a frame to a few pixels before the first block, and trained from
    scratch on a few thousand images they memorise instead of generalising
    (measured on the demo's motion images: MobileNetV2 and narrow ResNets stayed
    near chance where this network reached over 95 %). This one keeps full
    resolution for its first stage, as VGG-style networks for CIFAR do.

    Architecture: ``stages`` stages of ``depth`` blocks (3x3 conv, BatchNorm,
    ReLU); stage ``i`` has ``width * 2**i`` channels and its first block strides 2
    (except stage 0); global average pooling, dropout, a linear classifier.

    Args:
        num_classes: K.
        in_chans: input channels.
        width: channels of the first stage.
        depth: blocks per stage.
        stages: number of stages (the output stride is ``2 ** (stages - 1)``).
        drop_rate: dropout before the classifier.

    Shapes:
        ``forward``: images (B, in_chans, H, W) float32 -> logits (B, K).
    """

    def __init__(self, num_classes: int, in_chans: int = 3, width: int = 32, depth: int = 2,
                 stages: int = 3, drop_rate: float = 0.0) -> None:
        super().__init__()
        if num_classes < 1 or width < 1 or depth < 1 or stages < 1:
            raise ValueError("num_classes, width, depth and stages must be positive, got "
                             f"{num_classes}, {width}, {depth}, {stages}")
        self.num_classes = num_classes
        self.in_chans = in_chans
        layers: list[nn.Module] = []
        channels = in_chans
        for stage in range(stages):
            out = width * 2**stage
            for block in range(depth):
                stride = 2 if stage > 0 and block == 0 else 1
                layers += [nn.Conv2d(channels, out, 3, stride, 1, bias=False),
                           nn.BatchNorm2d(out), nn.ReLU(inplace=True)]
                channels = out
        self.features = nn.Sequential(*layers)
        self.num_features = channels
        self.head_drop = nn.Dropout(drop_rate)
        self.classifier = nn.Linear(channels, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        nn.init.normal_(self.classifier.weight, std=0.01)
        nn.init.zeros_(self.classifier.bias)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> logits (B, K)."""
        if images.dim() != 4 or images.shape[1] != self.in_chans:
            raise ValueError(f"small_cnn expects (B, {self.in_chans}, H, W) images, "
                             f"got {tuple(images.shape)}")
        pooled = self.features(images).mean(dim=(2, 3))
        return self.classifier(self.head_drop(pooled))


def small_cnn(
    *,
    num_classes: int,
    in_chans: int = 3,
    width: int = 32,
    depth: int = 2,
    stages: int = 3,
    drop_rate: float = 0.0,
    pretrained_path: str | Path | None = None,
) -> SmallCNN:
    """Plain CNN for small frames (demo preset streams): (B, 3, H, W) -> logits (B, K)."""
    model = SmallCNN(num_classes, in_chans, width, depth, stages, drop_rate)
    if pretrained_path is not None:
        load_pretrained(model, pretrained_path)
    return model


def late_fusion(
    probabilities: Sequence[torch.Tensor], weights: Sequence[float] | None = None
) -> torch.Tensor:
    """Weighted average of class probabilities (late fusion).

    Args:
        probabilities: S tensors (B, K), each a probability distribution per row
            (e.g. softmax of the normal and of the motion stream).
        weights: S non-negative weights, normalised to sum to 1; default equal.

    Returns:
        (B, K) fused probabilities.
    """
    if not probabilities:
        raise ValueError("late_fusion needs at least one probability tensor")
    shape = probabilities[0].shape
    if any(p.shape != shape for p in probabilities):
        raise ValueError(f"shapes differ: {[tuple(p.shape) for p in probabilities]}")
    w = normalise_weights(weights, len(probabilities))
    return sum(wi * p for wi, p in zip(w, probabilities, strict=True))  # type: ignore[return-value]


def normalise_weights(weights: Sequence[float] | None, count: int) -> list[float]:
    """``count`` equal weights when None; else check non-negative and scale to sum 1."""
    if weights is None:
        return [1.0 / count] * count
    w = [float(x) for x in weights]
    if len(w) != count:
        raise ValueError(f"expected {count} fusion weights, got {len(w)}")
    if any(x < 0 for x in w) or sum(w) <= 0:
        raise ValueError(f"fusion weights must be non-negative with a positive sum, got {w}")
    total = sum(w)
    return [x / total for x in w]


class Ensemble(nn.Module):
    """Average of the class probabilities of K member models.

    ``forward`` returns the *log* of the averaged probabilities, so it drops in
    where logits are expected: ``softmax(out)`` is the averaged distribution and
    ``argmax`` the ensemble's prediction.

    Training (``training``): ``separate`` (the MEI paper: base networks trained on
    their own and averaged, 1/K each): in training mode the members' logits are
    kept in ``last_member_logits`` and the training task sums one cross-entropy per
    member, so no member's gradient depends on another's. ``joint``:
    ``cross_entropy(out, y)``, the negative log-likelihood of the averaged
    distribution, trains the members as one mixture.

    Shapes: images (B, 3, H, W) -> log-probabilities (B, K).
    """

    def __init__(
        self, members: Sequence[nn.Module], weights: Sequence[float] | None = None,
        training: str = "separate",
    ) -> None:
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one member")
        if training not in ("separate", "joint"):
            raise ValueError(f"ensemble training is separate or joint, got {training!r}")
        self.members = nn.ModuleList(members)
        self.weights = normalise_weights(weights, len(members))
        self.member_training = training
        self.last_member_logits: list[torch.Tensor] | None = None

    def predict_proba(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) -> averaged probabilities (B, K)."""
        return late_fusion([m(images).softmax(dim=-1) for m in self.members], self.weights)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) -> log of the averaged probabilities (B, K)."""
        logits = [m(images) for m in self.members]
        self.last_member_logits = logits if self.training and \
            self.member_training == "separate" else None
        log_probs = torch.stack([x.log_softmax(dim=-1) for x in logits])
        log_w = torch.tensor(self.weights, dtype=log_probs.dtype, device=log_probs.device).log()
        return torch.logsumexp(log_probs + log_w.view(-1, 1, 1), dim=0)


class TwoStreamNet(nn.Module):
    """Normal stream + motion stream, fused late by averaging probabilities.

    Args:
        normal: Classifies the last frame of each batch: (B, 3, H, W) -> logits.
        motion: Classifies the MEI / dynamic image: (B, 3, H, W) -> logits.
        weights: (normal, motion) fusion weights, normalised; default equal.

    Shapes:
        ``forward(normal_images, motion_images)`` -> log of the fused probabilities (B, K)
        (a drop-in for logits, as for :class:`Ensemble`); ``predict_proba`` the probabilities.
    """

    def __init__(
        self, normal: nn.Module, motion: nn.Module, weights: Sequence[float] | None = None
    ) -> None:
        super().__init__()
        self.normal = normal
        self.motion = motion
        self.weights = normalise_weights(weights, 2)

    def predict_proba(
        self, normal_images: torch.Tensor, motion_images: torch.Tensor
    ) -> torch.Tensor:
        """Fused probabilities (B, K)."""
        return late_fusion(
            [self.normal(normal_images).softmax(-1), self.motion(motion_images).softmax(-1)],
            self.weights,
        )

    def forward(self, normal_images: torch.Tensor, motion_images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) each -> log fused probabilities (B, K)."""
        return self.predict_proba(normal_images, motion_images).clamp_min(1e-12).log()


def _stream_cnn(
    backbone: str,
    *,
    num_classes: int,
    in_chans: int = 3,
    drop_rate: float = 0.0,
    output_stride: int = 32,
    pretrained_path: str | Path | None = None,
) -> StreamCNN:
    model = StreamCNN(backbone, num_classes, in_chans=in_chans, drop_rate=drop_rate,
                      output_stride=output_stride)
    if pretrained_path is not None:
        load_pretrained(model, pretrained_path)
    return model


def ensemble(
    *,
    num_classes: int,
    backbones: Sequence[str] = BACKBONES,
    weights: Sequence[float] | None = None,
    drop_rate: float = 0.0,
    pretrained_paths: Mapping[str, str | Path | None] | None = None,
    training: str = "separate",
) -> Ensemble:
    """Ensemble of 2D backbones averaging probabilities: (B, 3, H, W) -> log-probabilities.
    ``training``: ``separate`` (the MEI paper: each member on its own loss) or ``joint``."""
    paths = dict(pretrained_paths or {})
    members = [
        create_model(
            name, num_classes=num_classes, drop_rate=drop_rate, pretrained_path=paths.get(name)
        )
        for name in backbones
    ]
    return Ensemble(members, weights, training=training)


def two_stream(
    *,
    num_classes: int,
    normal_backbone: str = "efficientnet_b0",
    motion_backbone: str | None = None,
    weights: Sequence[float] | None = None,
    drop_rate: float = 0.0,
    pretrained_paths: Mapping[str, str | Path | None] | None = None,
) -> TwoStreamNet:
    """MEI two-stream network: (normal (B,3,H,W), motion (B,3,H,W)) -> log fused probabilities.

    Each stream is a registered 2D model (a backbone name or ``"ensemble"``);
    the motion stream defaults to the normal stream's architecture (separate weights).
    """
    paths = dict(pretrained_paths or {})

    def stream(name: str) -> nn.Module:
        if name == "ensemble":
            return create_model(
                name, num_classes=num_classes, drop_rate=drop_rate, pretrained_paths=paths
            )
        return create_model(
            name, num_classes=num_classes, drop_rate=drop_rate, pretrained_path=paths.get(name)
        )

    return TwoStreamNet(
        stream(normal_backbone), stream(motion_backbone or normal_backbone), weights
    )


for _name in BACKBONES:
    register_model(
        _name,
        partial(_stream_cnn, _name),
        family="image",
        description=f"timm {_name} stream CNN: (B, 3, H, W) -> logits (B, K)",
    )
register_model("small_cnn", small_cnn, family="image")
register_model("ensemble", ensemble, family="ensemble")
register_model("two_stream", two_stream, family="two_stream")
