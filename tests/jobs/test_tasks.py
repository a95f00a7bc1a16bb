"""DistillTask: Eq. 6's L1 term on logits (or on features), h1 read from the
student's frozen copy of the teacher trunk, and CE alone without a teacher."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from training._fixtures import TINY_LIFT_KWARGS

from components.jobs.losses import classification_loss, logit_distillation_loss
from components.jobs.tasks import DistillTask
from components.models import create_model


def test_the_logit_term_is_a_sum_over_classes_averaged_over_the_batch() -> None:
    student = torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]], requires_grad=True)
    teacher = torch.tensor([[1.5, 1.0, 3.0], [1.0, -1.0, 2.0]])
    loss = logit_distillation_loss(student, teacher)
    # row 0: 0.5 + 1 + 0 = 1.5; row 1: 1 + 1 + 2 = 4; mean 2.75 (not /3 per class)
    assert loss.item() == pytest.approx(2.75)
    loss.backward()
    assert student.grad is not None and teacher.grad is None
    with pytest.raises(ValueError, match="same classes"):
        logit_distillation_loss(student, teacher[:, :2])


@pytest.mark.parametrize("kd_target", ["logits", "features"])
def test_h1_from_the_frozen_trunk_equals_the_teachers(kd_target: str) -> None:
    torch.manual_seed(0)
    teacher = create_model("r2plus1d_18", num_classes=3).eval()
    student = create_model("lift_net", num_classes=3, img_size=16, **TINY_LIFT_KWARGS)
    student.load_teacher_trunk(teacher)
    assert student.loaded_teacher_trunk and not student.train_luminous_trunk
    student.train()  # the frozen trunk stays in eval mode (BatchNorm statistics fixed)
    main, lum = torch.randn(2, 4, 3, 16, 16), torch.randn(2, 3, 4, 16, 16)
    y = torch.tensor([0, 2])

    shared = DistillTask(teacher=teacher, h1_from_student_trunk=True, kd_target=kd_target)
    logits, h2 = shared.forward(student, (main, lum))
    loss_shared, parts_shared = shared.loss(logits, h2, (main, lum), y)
    assert shared._h1 is not None
    with torch.no_grad():
        teacher_logits, teacher_feature = teacher(lum)
    expected = teacher_logits if kd_target == "logits" else teacher_feature
    torch.testing.assert_close(shared._h1, expected, rtol=1e-5, atol=1e-6)

    separate = DistillTask(teacher=teacher, kd_target=kd_target)
    loss_separate, parts_separate = separate.loss(logits, h2, (main, lum), y)
    torch.testing.assert_close(parts_shared["kd"], parts_separate["kd"], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(loss_shared, loss_separate, rtol=1e-5, atol=1e-6)
    if kd_target == "logits":
        torch.testing.assert_close(parts_shared["kd"],
                                   (logits - teacher_logits).abs().sum(1).mean().detach())
    loss_shared.backward()  # gradients still flow into the student


def test_distillation_adds_lambda_times_l1() -> None:
    class Teacher(nn.Module):
        def forward(self, lum: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            return lum, torch.ones(lum.shape[0], 4)  # (logits (B, 2), feature (B, 4))

    lum = torch.tensor([[1.0, 0.5]])
    logits = torch.tensor([[2.0, 0.0]])
    h2 = torch.zeros(1, 4)
    ce = classification_loss(logits, torch.tensor([0]))
    # Eq. 6 (default): |2 - 1| + |0 - 0.5| summed over the classes
    on_logits = DistillTask(teacher=Teacher(), kd_lambda=2.0)
    total, parts = on_logits.loss(logits, h2, (torch.zeros(1), lum), torch.tensor([0]))
    torch.testing.assert_close(total, ce + 2.0 * 1.5)
    assert set(parts) == {"ce", "kd"}
    # features: mean |0 - 1| over the 4 components
    on_features = DistillTask(teacher=Teacher(), kd_lambda=2.0, kd_target="features")
    total, _ = on_features.loss(logits, h2, (torch.zeros(1), lum), torch.tensor([0]))
    torch.testing.assert_close(total, ce + 2.0 * 1.0)
    no_kd = DistillTask(teacher=None)
    total, parts = no_kd.loss(logits, h2, (torch.zeros(1), lum), torch.tensor([0]))
    torch.testing.assert_close(total, ce)
    assert set(parts) == {"ce"}
