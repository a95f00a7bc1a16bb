"""How each job feeds a batch to its model and scores the output (plain torch).

A task names the batch keys that are model inputs, runs the model, and turns its
output into the loss:

=====================  ==================  ===========================================
task                   inputs              loss
=====================  ==================  ===========================================
``ClassifierTask``     ``x``               CE (teacher: model returns (logits, h1))
``DistillTask``        ``main``, ``lum``   CE + lambda * L1(h1, h2), h1 from the frozen
                                           teacher on ``lum`` (lambda = 0 or no teacher:
                                           CE alone, the no-KD ablation)
=====================  ==================  ===========================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import torch
from torch import nn

from components.jobs.losses import (
    MixedTargets,
    classification_loss,
    distillation_loss,
    logit_distillation_loss,
)
from components.models.unwrap import unwrap_model

if TYPE_CHECKING:
    from components.models.teacher import VideoTeacher


@dataclass
class ClassifierTask:
    """One input tensor ``x``; the model returns logits or (logits, features).

    Attributes:
        memory_format: ``torch.channels_last`` (images) or ``torch.channels_last_3d``
            (clips) on CUDA; None keeps the default layout.
    """

    memory_format: torch.memory_format | None = None
    input_keys: tuple[str, ...] = ("x",)

    def prepare(self, inputs: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        if self.memory_format is None:
            return inputs
        return tuple(x.contiguous(memory_format=self.memory_format) for x in inputs)

    _member_logits: list[torch.Tensor] | None = None

    def forward(
        self, model: nn.Module, inputs: tuple[torch.Tensor, ...]
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The model's logits (and features); an ensemble trained member by member
        (``Ensemble(training="separate")``) also leaves its members' logits."""
        out = model(*inputs)
        self._member_logits = getattr(unwrap_model(model), "last_member_logits", None)
        if isinstance(out, tuple):
            return out[0], out[1]
        return out, None

    def loss(
        self, logits: torch.Tensor, features: torch.Tensor | None,
        inputs: tuple[torch.Tensor, ...], targets: torch.Tensor | MixedTargets,
        label_smoothing: float = 0.0,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        if self._member_logits:  # one cross-entropy per member, summed: separate training
            ce = torch.stack([classification_loss(m.float(), targets, label_smoothing)
                              for m in self._member_logits]).sum()
            return ce, {"ce": ce.detach()}
        ce = classification_loss(logits.float(), targets, label_smoothing)
        return ce, {"ce": ce.detach()}


@dataclass
class DistillTask(ClassifierTask):
    """LIFT-Net: ``model(main, lum) -> (logits, h2)``; the teacher gives ``h1`` on ``lum``.

    Attributes:
        teacher: the frozen teacher (eval mode, no gradients), or None (no KD).
        kd_lambda: weight of the L1 term.
        kd_target: ``logits`` (Eq. 6: the teacher's and the student's pre-softmax
            outputs, L1 summed over classes) or ``features`` (the teacher's pooled
            feature against the student's projected feature h2, L1 mean).
    """

    teacher: nn.Module | None = None
    kd_lambda: float = 1.0
    kd_target: str = "logits"
    input_keys: tuple[str, ...] = ("main", "lum")
    h1_from_student_trunk: bool = False
    _h1: torch.Tensor | None = None

    def __post_init__(self) -> None:
        if self.teacher is not None:
            self.teacher.eval()
            self.teacher.requires_grad_(False)

    def forward(
        self, model: nn.Module, inputs: tuple[torch.Tensor, ...]
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """As :meth:`ClassifierTask.forward`; with ``h1_from_student_trunk`` it keeps the
        teacher's h1 = global mean of the student's frozen trunk features (the trunk is
        the teacher's, in eval mode: the same numbers, one R(2+1)D pass instead of two);
        for ``kd_target: logits`` the teacher's head turns it into the teacher's logits."""
        logits, features = super().forward(model, inputs)
        self._h1 = None
        if self.h1_from_student_trunk:
            trunk = getattr(unwrap_model(model), "last_trunk_features", None)
            if trunk is not None:
                pooled = trunk.float().mean(dim=(2, 3, 4))
                if self.kd_target == "logits":
                    with torch.no_grad():
                        # the trunk is this teacher's (make_task sets the flag only then)
                        pooled = cast("VideoTeacher", self.teacher).classify(pooled)
                self._h1 = pooled
        return logits, features

    def prepare(self, inputs: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        return inputs  # (B, T, 3, H, W) and (B, C, T, H, W): no channels-last layout

    def loss(
        self, logits: torch.Tensor, features: torch.Tensor | None,
        inputs: tuple[torch.Tensor, ...], targets: torch.Tensor | MixedTargets,
        label_smoothing: float = 0.0,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        ce = classification_loss(logits.float(), targets, label_smoothing)
        if self.teacher is None or self.kd_lambda == 0 or features is None:
            return ce, {"ce": ce.detach()}
        h1 = self._h1
        if h1 is None:
            with torch.no_grad():
                teacher_logits, teacher_feature = self.teacher(inputs[1])
            h1 = teacher_logits if self.kd_target == "logits" else teacher_feature
        kd = logit_distillation_loss(logits, h1) if self.kd_target == "logits" \
            else distillation_loss(features, h1)
        return ce + self.kd_lambda * kd, {"ce": ce.detach(), "kd": kd.detach()}
