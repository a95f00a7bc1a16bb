"""DistillTask: h1 read from the student's frozen copy of the teacher trunk."""

from __future__ import annotations

import torch

from components.models import create_model
from components.training.tasks import DistillTask

from ._fixtures import TINY_LIFT_KWARGS


def test_h1_from_the_frozen_trunk_equals_the_teachers() -> None:
    torch.manual_seed(0)
    teacher = create_model("r2plus1d_18", num_classes=3).eval()
    student = create_model("lift_net", num_classes=3, img_size=16, **TINY_LIFT_KWARGS)
    student.load_teacher_trunk(teacher)
    assert student.loaded_teacher_trunk and not student.train_luminous_trunk
    student.train()  # the frozen trunk stays in eval mode (BatchNorm statistics fixed)
    main, lum = torch.randn(2, 4, 3, 16, 16), torch.randn(2, 3, 4, 16, 16)
    y = torch.tensor([0, 2])

    shared = DistillTask(teacher=teacher, h1_from_student_trunk=True)
    logits, h2 = shared.forward(student, (main, lum))
    loss_shared, parts_shared = shared.loss(logits, h2, (main, lum), y)
    assert shared._h1 is not None
    with torch.no_grad():
        _, h1 = teacher(lum)
    torch.testing.assert_close(shared._h1, h1, rtol=1e-5, atol=1e-6)

    separate = DistillTask(teacher=teacher)
    loss_separate, parts_separate = separate.loss(logits, h2, (main, lum), y)
    torch.testing.assert_close(parts_shared["kd"], parts_separate["kd"], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(loss_shared, loss_separate, rtol=1e-5, atol=1e-6)
    loss_shared.backward()  # gradients still flow into the student
