"""The R(2+1)D teacher (and R3D for the ablation): torchvision video ResNets.

Paper: LIFT-Net, the teacher of the knowledge-distillation scheme and the
Luminous pathway's R(2+1)D; the R3D ablation of Table VI
(``docs/paper-fidelity.md``, section 2).

The teacher is trained with cross-entropy on gamma-corrected clips (or optical
flow); LIFT-Net's luminous pathway then reuses its trunk (stem and the four
residual stages) with the same weights, and the distillation loss (Eq. 6)
compares the teacher's logits with the student's (``kd_target: features``: the
teacher's pooled feature with a projection of the student's).

Layout follows torchvision's video models: clips are float32
``(B, C, T, H, W)``; state-dict keys are torchvision's (``stem.*``,
``layer1.*`` .. ``layer4.*``, ``fc.*``), so torchvision Kinetics-400 (or
IG65M weights converted to torchvision naming) load directly from a local
file. The trunk halves time three times (stages 2-4: T -> ceil(T/8)) and space
four times (stem and stages 2-4: H -> H/16).

``width`` scales every stage's channels (stages ``width * (1, 2, 4, 8)``) and keeps
the block structure: 64 is torchvision's network (the paper preset, which
Kinetics-400 weights fit); the CPU demo preset uses 16 (about 1/16 of the
multiply-adds and parameters).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import torch
from torch import nn
from torchvision.models.video.resnet import BasicBlock, Conv2Plus1D, Conv3DSimple

from components.models._registry import register_model
from components.models.weights import (
    Adapted,
    adapt_input_channels,
    drop_mismatched_classifier,
    load_pretrained,
)

VideoArch = Literal["r2plus1d_18", "r3d_18"]
VIDEO_ARCHS: tuple[str, ...] = ("r2plus1d_18", "r3d_18")
#: torchvision's stem/first-stage width; the pooled trunk feature (h1) is 8x the width.
TORCHVISION_WIDTH = 64
#: Width of the pooled trunk feature (h1) of torchvision's 18-layer video ResNets.
TRUNK_FEATURE_DIM = 8 * TORCHVISION_WIDTH


def _stem(arch: str, in_channels: int, width: int) -> nn.Sequential:
    """torchvision's stems at ``width`` output channels (R(2+1)D: a (1,7,7) spatial
    then a (3,1,1) temporal convolution with 45 mid channels at width 64)."""
    if arch == "r3d_18":
        return nn.Sequential(
            nn.Conv3d(in_channels, width, (3, 7, 7), (1, 2, 2), (1, 3, 3), bias=False),
            nn.BatchNorm3d(width), nn.ReLU(inplace=True))
    mid = max(1, round(45 * width / TORCHVISION_WIDTH))
    return nn.Sequential(
        nn.Conv3d(in_channels, mid, (1, 7, 7), (1, 2, 2), (0, 3, 3), bias=False),
        nn.BatchNorm3d(mid), nn.ReLU(inplace=True),
        nn.Conv3d(mid, width, (3, 1, 1), (1, 1, 1), (1, 0, 0), bias=False),
        nn.BatchNorm3d(width), nn.ReLU(inplace=True))


def _stage(conv: type[nn.Module], inplanes: int, planes: int, stride: int) -> nn.Sequential:
    """Two torchvision BasicBlocks (the 18-layer depth), the first one striding."""
    downsample = None
    if stride != 1 or inplanes != planes:
        downsample = nn.Sequential(
            nn.Conv3d(inplanes, planes, kernel_size=1,
                      stride=conv.get_downsample_stride(stride), bias=False),  # type: ignore[attr-defined]
            nn.BatchNorm3d(planes))
    return nn.Sequential(BasicBlock(inplanes, planes, conv, stride, downsample),
                         BasicBlock(planes, planes, conv))


class VideoTrunk(nn.Module):
    """Stem and residual stages of a torchvision video ResNet, without pooling or head.

    Args:
        arch: ``"r2plus1d_18"`` (factorised (2+1)D convolutions) or ``"r3d_18"`` (full 3D).
        in_channels: 3 for (gamma-corrected) RGB, 2 for optical flow (x, y).
        width: channels of the stem and first stage; stages are ``width * (1, 2, 4, 8)``
            (64: torchvision's network, the paper preset).

    Shapes:
        ``forward``: (B, in_channels, T, H, W) float32 ->
        (B, 8 * width, ceil(T/8), H/16, W/16).
    """

    def __init__(self, arch: VideoArch = "r2plus1d_18", in_channels: int = 3,
                 width: int = TORCHVISION_WIDTH) -> None:
        super().__init__()
        if arch not in VIDEO_ARCHS:
            raise ValueError(f"arch must be one of {VIDEO_ARCHS}, got {arch!r}")
        if in_channels < 1:
            raise ValueError(f"in_channels must be positive, got {in_channels}")
        if isinstance(width, bool) or int(width) < 1:
            raise ValueError(f"width must be a positive int, got {width!r}")
        width = int(width)
        conv = Conv2Plus1D if arch == "r2plus1d_18" else Conv3DSimple
        self.arch = arch
        self.in_channels = in_channels
        self.width = width
        self.feature_dim = 8 * width
        self.stem = _stem(arch, in_channels, width)
        self.layer1 = _stage(conv, width, width, 1)
        self.layer2 = _stage(conv, width, 2 * width, 2)
        self.layer3 = _stage(conv, 2 * width, 4 * width, 2)
        self.layer4 = _stage(conv, 4 * width, 8 * width, 2)
        for m in self.modules():  # torchvision's initialisation
            if isinstance(m, nn.Conv3d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm3d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def features(self, clip: torch.Tensor) -> torch.Tensor:
        """(B, C, T, H, W) -> (B, 512, T', H', W') feature map."""
        if clip.dim() != 5 or clip.shape[1] != self.in_channels:
            raise ValueError(
                f"{type(self).__name__} expects (B, {self.in_channels}, T, H, W) clips, "
                f"got shape {tuple(clip.shape)}"
            )
        x = self.stem(clip)
        x = self.layer1(x)
        x = self.layer2(x)
        x = self.layer3(x)
        return self.layer4(x)

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        """(B, C, T, H, W) -> (B, 512, T', H', W') feature map."""
        return self.features(clip)

    def trunk_state_dict(self) -> dict[str, torch.Tensor]:
        """The trunk's tensors only (``stem.*``, ``layer*.*``), detached."""
        return {
            k: v.detach()
            for k, v in self.state_dict().items()
            if k.startswith(("stem.", "layer1.", "layer2.", "layer3.", "layer4."))
        }

    def adapt_pretrained_state_dict(self, state: dict[str, torch.Tensor]) -> Adapted:
        """Translate a torchvision-layout checkpoint (see :mod:`components.models.weights`).

        Drops a head this module does not have (``fc.*``), and averages RGB stem
        filters into ``in_channels`` (e.g. 2 for optical flow) when they differ.
        """
        state = dict(state)
        ignored: list[str] = []
        notes: list[str] = []
        own = self.state_dict()
        key = "stem.0.weight"
        if key in state and key in own:
            ckpt, mine = state[key], own[key]
            if (
                ckpt.dim() == mine.dim() == 5
                and ckpt.shape[1] != mine.shape[1]
                and ckpt.shape[0] == mine.shape[0]
                and ckpt.shape[2:] == mine.shape[2:]
            ):
                state[key], note = adapt_input_channels(ckpt, mine.shape[1], key)
                notes.append(note)
        if "fc.weight" not in own:
            head = [k for k in state if k.startswith("fc.")]
            ignored.extend(head)
            for k in head:
                del state[k]
        return Adapted(state_dict=state, ignored=tuple(ignored), notes=tuple(notes))


class VideoTeacher(VideoTrunk):
    """The teacher: a video ResNet trunk, global average pooling and a linear classifier.

    Args:
        num_classes: Number of action classes.
        arch: ``"r2plus1d_18"`` (the paper's R(2+1)D teacher) or ``"r3d_18"`` (ablation).
        in_channels: 3 for gamma-corrected RGB, 2 for optical flow.
        width: trunk width (64: torchvision's; see :class:`VideoTrunk`).
        dropout: Dropout on h1 before the classifier (0 = none, as in torchvision).

    Shapes:
        ``forward``: clip (B, C, T, H, W) float32, any T >= 1 and H, W >= 16 ->
        ``(logits (B, num_classes), h1 (B, 8 * width))``, where h1 is the pooled
        vector the classifier reads.
    """

    def __init__(
        self,
        num_classes: int,
        arch: VideoArch = "r2plus1d_18",
        in_channels: int = 3,
        width: int = TORCHVISION_WIDTH,
        dropout: float = 0.0,
    ) -> None:
        super().__init__(arch=arch, in_channels=in_channels, width=width)
        if num_classes < 1:
            raise ValueError(f"num_classes must be positive, got {num_classes}")
        self.num_classes = num_classes
        self.avgpool = nn.AdaptiveAvgPool3d((1, 1, 1))
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(self.feature_dim, num_classes)
        nn.init.normal_(self.fc.weight, 0, 0.01)
        nn.init.zeros_(self.fc.bias)

    def forward(self, clip: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # type: ignore[override]
        """clip (B, C, T, H, W) -> (logits (B, num_classes), h1 (B, 8 * width))."""
        h1 = self.avgpool(self.features(clip)).flatten(1)
        return self.classify(h1), h1

    def classify(self, h1: torch.Tensor) -> torch.Tensor:
        """The head alone: pooled feature h1 (B, 8 * width) -> logits (B, num_classes)."""
        return self.fc(self.dropout(h1))

    def adapt_pretrained_state_dict(self, state: dict[str, torch.Tensor]) -> Adapted:
        """As :meth:`VideoTrunk.adapt_pretrained_state_dict`; a classifier with another
        class count (Kinetics-400, IG65M) is dropped and ``fc`` keeps its initialisation."""
        base = super().adapt_pretrained_state_dict(state)
        new_state, ignored, notes = drop_mismatched_classifier(
            base.state_dict, self.state_dict(), "fc"
        )
        return Adapted(
            state_dict=new_state,
            ignored=base.ignored + tuple(ignored),
            allow_missing=base.allow_missing + (("fc.*",) if ignored else ()),
            notes=base.notes + tuple(notes),
        )


def _build_teacher(
    arch: VideoArch,
    num_classes: int,
    in_channels: int,
    width: int,
    dropout: float,
    pretrained_path: str | Path | None,
) -> VideoTeacher:
    model = VideoTeacher(num_classes, arch=arch, in_channels=in_channels, width=width,
                         dropout=dropout)
    if pretrained_path is not None:
        load_pretrained(model, pretrained_path)
    return model


def r2plus1d_18(
    *,
    num_classes: int,
    in_channels: int = 3,
    width: int = TORCHVISION_WIDTH,
    dropout: float = 0.0,
    pretrained_path: str | Path | None = None,
) -> VideoTeacher:
    """R(2+1)D-18 teacher: clip (B, C, T, H, W) -> (logits, h1 (B, 8 * width))."""
    return _build_teacher("r2plus1d_18", num_classes, in_channels, width, dropout, pretrained_path)


def r3d_18(
    *,
    num_classes: int,
    in_channels: int = 3,
    width: int = TORCHVISION_WIDTH,
    dropout: float = 0.0,
    pretrained_path: str | Path | None = None,
) -> VideoTeacher:
    """R3D-18 teacher (ablation): clip (B, C, T, H, W) -> (logits, h1 (B, 8 * width))."""
    return _build_teacher("r3d_18", num_classes, in_channels, width, dropout, pretrained_path)


register_model("r2plus1d_18", r2plus1d_18, family="video")
register_model("r3d_18", r3d_18, family="video")
