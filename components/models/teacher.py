"""The R(2+1)D teacher (and R3D for the ablation): torchvision video ResNets.

The teacher is trained with cross-entropy on gamma-corrected clips (or optical
flow); LIFT-Net's luminous pathway then reuses its trunk (stem and the four
residual stages) with the same weights, and the distillation loss compares the
teacher's pooled feature ``h1`` with the student's ``h2``.

Layout follows torchvision's video models: clips are float32
``(B, C, T, H, W)``; state-dict keys are torchvision's (``stem.*``,
``layer1.*`` .. ``layer4.*``, ``fc.*``), so torchvision Kinetics-400 (or
IG65M weights converted to torchvision naming) load directly from a local
file. The trunk halves time three times (stages 2-4: T -> ceil(T/8)) and space
four times (stem and stages 2-4: H -> H/16).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import torch
from torch import nn
from torchvision.models import video as tv_video

from components.models._registry import register_model
from components.models.weights import (
    Adapted,
    adapt_input_channels,
    drop_mismatched_classifier,
    load_pretrained,
)

VideoArch = Literal["r2plus1d_18", "r3d_18"]
VIDEO_ARCHS: tuple[str, ...] = ("r2plus1d_18", "r3d_18")
#: Width of the pooled trunk feature (h1) for the 18-layer video ResNets.
TRUNK_FEATURE_DIM = 512


class VideoTrunk(nn.Module):
    """Stem and residual stages of a torchvision video ResNet, without pooling or head.

    Args:
        arch: ``"r2plus1d_18"`` (factorised (2+1)D convolutions) or ``"r3d_18"`` (full 3D).
        in_channels: 3 for (gamma-corrected) RGB, 2 for optical flow (x, y).

    Shapes:
        ``forward``: (B, in_channels, T, H, W) float32 -> (B, 512, ceil(T/8), H/16, W/16).
    """

    def __init__(self, arch: VideoArch = "r2plus1d_18", in_channels: int = 3) -> None:
        super().__init__()
        if arch not in VIDEO_ARCHS:
            raise ValueError(f"arch must be one of {VIDEO_ARCHS}, got {arch!r}")
        if in_channels < 1:
            raise ValueError(f"in_channels must be positive, got {in_channels}")
        net = getattr(tv_video, arch)(weights=None)
        self.arch = arch
        self.in_channels = in_channels
        self.feature_dim = TRUNK_FEATURE_DIM
        self.stem = net.stem
        self.layer1, self.layer2 = net.layer1, net.layer2
        self.layer3, self.layer4 = net.layer3, net.layer4
        if in_channels != 3:
            old = self.stem[0]
            new = nn.Conv3d(
                in_channels,
                old.out_channels,
                kernel_size=old.kernel_size,
                stride=old.stride,
                padding=old.padding,
                bias=False,
            )
            nn.init.kaiming_normal_(new.weight, mode="fan_out", nonlinearity="relu")
            self.stem[0] = new

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
        arch: ``"r2plus1d_18"`` (the paper's teacher) or ``"r3d_18"`` (ablation).
        in_channels: 3 for gamma-corrected RGB, 2 for optical flow.
        dropout: Dropout on h1 before the classifier (0 = none, as in torchvision).

    Shapes:
        ``forward``: clip (B, C, T, H, W) float32, any T >= 1 and H, W >= 16 ->
        ``(logits (B, num_classes), h1 (B, 512))``, where h1 is the pooled vector
        the classifier reads (the feature LIFT-Net's distillation loss matches).
    """

    def __init__(
        self,
        num_classes: int,
        arch: VideoArch = "r2plus1d_18",
        in_channels: int = 3,
        dropout: float = 0.0,
    ) -> None:
        super().__init__(arch=arch, in_channels=in_channels)
        if num_classes < 1:
            raise ValueError(f"num_classes must be positive, got {num_classes}")
        self.num_classes = num_classes
        self.avgpool = nn.AdaptiveAvgPool3d((1, 1, 1))
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(self.feature_dim, num_classes)
        nn.init.normal_(self.fc.weight, 0, 0.01)
        nn.init.zeros_(self.fc.bias)

    def forward(self, clip: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # type: ignore[override]
        """clip (B, C, T, H, W) -> (logits (B, num_classes), h1 (B, 512))."""
        h1 = self.avgpool(self.features(clip)).flatten(1)
        return self.fc(self.dropout(h1)), h1

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
    dropout: float,
    pretrained_path: str | Path | None,
) -> VideoTeacher:
    model = VideoTeacher(num_classes, arch=arch, in_channels=in_channels, dropout=dropout)
    if pretrained_path is not None:
        load_pretrained(model, pretrained_path)
    return model


def r2plus1d_18(
    *,
    num_classes: int,
    in_channels: int = 3,
    dropout: float = 0.0,
    pretrained_path: str | Path | None = None,
) -> VideoTeacher:
    """R(2+1)D-18 teacher: clip (B, C, T, H, W) -> (logits, h1 (B, 512))."""
    return _build_teacher("r2plus1d_18", num_classes, in_channels, dropout, pretrained_path)


def r3d_18(
    *,
    num_classes: int,
    in_channels: int = 3,
    dropout: float = 0.0,
    pretrained_path: str | Path | None = None,
) -> VideoTeacher:
    """R3D-18 teacher (ablation): clip (B, C, T, H, W) -> (logits, h1 (B, 512))."""
    return _build_teacher("r3d_18", num_classes, in_channels, dropout, pretrained_path)


register_model("r2plus1d_18", r2plus1d_18, family="video")
register_model("r3d_18", r3d_18, family="video")
