"""DistillTask: Eq. 6's L1 term on logits (or on features), and h1 read from the
student's frozen copy of the teacher trunk."""

from __future__ import annotations

import pytest
import torch

from components.models import create_model
from components.training.losses import logit_distillation_loss
from components.training.tasks import DistillTask

from ._fixtures import TINY_LIFT_KWARGS


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
