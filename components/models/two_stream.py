"""The MEI two-stream network: the ensemble of stream CNNs, and late fusion.

Paper: the MEI two-stream network, its normal and motion streams, the backbones
and their ensemble, and late fusion (``docs/paper-fidelity.md``, section 1).

A *normal stream* CNN classifies the last frame of each batch of N frames; a
*motion stream* CNN classifies the Motion Embedded Image (or a rank-pooled
dynamic image). Each stream is one of the paper's backbones
(:mod:`components.models.streams`), or an ensemble that averages their
probabilities; the two streams' probabilities are averaged (late fusion, weights
configurable, equal by default).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from torch import nn

from components.models._registry import create_model, register_model

# The stream CNNs lived here first: their names stay importable from this module
# (and importing it registers them before the ensemble and the two-stream network).
from components.models.streams import BACKBONES, MIN_INPUT_SIZE, SmallCNN, StreamCNN, small_cnn

__all__ = [
    "BACKBONES",
    "MIN_INPUT_SIZE",
    "Ensemble",
    "SmallCNN",
    "StreamCNN",
    "TwoStreamNet",
    "ensemble",
    "late_fusion",
    "checked_fusion_weights",
    "normalise_weights",
    "small_cnn",
    "two_stream",
]


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


def checked_fusion_weights(weights: Sequence[float], count: int) -> list[float]:
    """The weights as floats; ValueError unless they are ``count`` non-negative
    numbers with a positive sum (the one rule for fusion weights, wherever given)."""
    w = [float(x) for x in weights]
    if len(w) != count or any(x < 0 for x in w) or sum(w) <= 0:
        raise ValueError(f"need {count} non-negative fusion weights with a positive sum, "
                         f"got {w}")
    return w


def normalise_weights(weights: Sequence[float] | None, count: int) -> list[float]:
    """``count`` equal weights when None; else check them and scale to sum 1."""
    if weights is None:
        return [1.0 / count] * count
    w = checked_fusion_weights(weights, count)
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


register_model("ensemble", ensemble, family="ensemble")
register_model("two_stream", two_stream, family="two_stream")
