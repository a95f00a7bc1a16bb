"""Grad-CAM finds class evidence where it was put."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from components.explain import default_layer, gradcam
from components.models.streams import SmallCNN


class CornerNet(nn.Module):
    """Class 1's logit is the global mean of a ReLU'd conv that fires on bright pixels:
    its evidence is wherever the image is bright."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU())
        with torch.no_grad():
            self.features[0].weight.zero_()
            self.features[0].bias.zero_()
            self.features[0].weight[0, 0, 1, 1] = 1.0  # channel 0: the pixel itself
            self.features[0].weight[1, 0, 1, 1] = -1.0  # channel 1: its negative
        self.fc = nn.Linear(2, 2)
        with torch.no_grad():
            self.fc.weight.copy_(torch.tensor([[0.0, 1.0], [1.0, 0.0]]))
            self.fc.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x).mean(dim=(2, 3)))


@pytest.mark.parametrize("corner", [(0, 0), (0, 1), (1, 0), (1, 1)])
def test_map_peaks_in_the_corner_that_holds_the_evidence(corner: tuple[int, int]) -> None:
    image = torch.zeros(1, 16, 16)
    r, c = corner
    image[0, r * 12:r * 12 + 4, c * 12:c * 12 + 4] = 1.0  # a bright 4x4 patch in one corner
    cam = gradcam(CornerNet().eval(), image, target_class=1)
    assert cam.shape == (16, 16)
    assert float(cam.min()) >= 0.0 and float(cam.max()) == pytest.approx(1.0)
    peak = divmod(int(cam.argmax()), 16)
    assert (peak[0] // 8, peak[1] // 8) == corner
    far = cam[(1 - r) * 8:(1 - r) * 8 + 8, (1 - c) * 8:(1 - c) * 8 + 8]
    assert float(far.max()) < 0.2  # the opposite quadrant stays dark


def test_small_cnn_runs_on_its_last_stage_and_leaves_no_gradients() -> None:
    torch.manual_seed(0)
    model = SmallCNN(num_classes=3, width=4, depth=1, stages=2).eval()
    cam = gradcam(model, torch.randn(3, 16, 16), target_class=2)
    assert default_layer(model) is model.features
    assert cam.shape == (16, 16) and torch.isfinite(cam).all()
    assert float(cam.min()) >= 0.0 and float(cam.max()) <= 1.0
    assert all(p.grad is None for p in model.parameters())


def test_rejects_a_class_the_model_does_not_have() -> None:
    with pytest.raises(ValueError, match="target_class"):
        gradcam(CornerNet().eval(), torch.zeros(1, 8, 8), target_class=5)
