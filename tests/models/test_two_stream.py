"""Two-stream 2D CNNs, their ensemble, and late fusion."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from components.models import BACKBONES, Ensemble, TwoStreamNet, create_model, late_fusion

SIZES = {"inception_v3": 75}  # Inception-V3 needs at least 75x75


@pytest.mark.parametrize("name", BACKBONES)
def test_backbone_output_shape(name: str) -> None:
    model = create_model(name, num_classes=3).eval()
    size = SIZES.get(name, 32)
    with torch.no_grad():
        logits = model(torch.randn(2, 3, size, size))
    assert logits.shape == (2, 3)
    assert torch.isfinite(logits).all()


def test_inception_refuses_images_below_its_minimum() -> None:
    model = create_model("inception_v3", num_classes=2)
    with pytest.raises(ValueError, match="at least 75x75"):
        model(torch.randn(1, 3, 64, 64))


def test_late_fusion_defaults_to_the_mean() -> None:
    a = torch.tensor([[0.8, 0.2], [0.1, 0.9]])
    b = torch.tensor([[0.4, 0.6], [0.5, 0.5]])
    torch.testing.assert_close(late_fusion([a, b]), (a + b) / 2)
    torch.testing.assert_close(late_fusion([a, b], [3, 1]), 0.75 * a + 0.25 * b)
    torch.testing.assert_close(late_fusion([a, b], [1, 0]), a)


@pytest.mark.parametrize("weights", [[1.0], [-1.0, 2.0], [0.0, 0.0]])
def test_late_fusion_refuses_bad_weights(weights) -> None:
    p = torch.full((1, 2), 0.5)
    with pytest.raises(ValueError, match="weights"):
        late_fusion([p, p], weights)


def _linear_member(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(3 * 4 * 4, 5))


def test_ensemble_averages_probabilities() -> None:
    members = [_linear_member(s) for s in range(3)]
    ensemble = Ensemble(members)
    x = torch.randn(2, 3, 4, 4)
    expected = torch.stack([m(x).softmax(-1) for m in members]).mean(0)
    torch.testing.assert_close(ensemble.predict_proba(x), expected)
    torch.testing.assert_close(ensemble(x).exp(), expected)  # forward: log-probabilities


def test_separately_trained_members_each_learn_from_their_own_loss_only() -> None:
    from components.jobs.losses import classification_loss
    from components.jobs.tasks import ClassifierTask

    x, y = torch.randn(4, 3, 4, 4), torch.tensor([0, 1, 2, 0])

    def member_grads(training: str) -> list[torch.Tensor]:
        members = [_linear_member(s) for s in range(2)]
        ensemble = Ensemble(members, training=training).train()
        task = ClassifierTask()
        logits, features = task.forward(ensemble, (x,))
        loss, _ = task.loss(logits, features, (x,), y)
        loss.backward()
        return [p.grad.clone() for m in members for p in m.parameters()]

    # The MEI paper's ensemble: member k's gradient is that of its own cross-entropy.
    alone = _linear_member(0)
    classification_loss(alone(x), y).backward()
    separate = member_grads("separate")
    torch.testing.assert_close(separate[0], next(alone.parameters()).grad)
    joint = member_grads("joint")  # the mixture's likelihood couples the members
    assert not torch.allclose(separate[0], joint[0])
    ensemble = Ensemble([_linear_member(0), _linear_member(1)]).eval()
    ensemble(x)
    assert ensemble.last_member_logits is None  # evaluation scores the average only
    with pytest.raises(ValueError, match="separate or joint"):
        Ensemble([_linear_member(0)], training="mixed")


def test_two_stream_fuses_normal_and_motion_probabilities() -> None:
    normal, motion = _linear_member(1), _linear_member(2)
    frame, mei = torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4)
    p_normal, p_motion = normal(frame).softmax(-1), motion(mei).softmax(-1)
    equal = TwoStreamNet(normal, motion)
    torch.testing.assert_close(equal(frame, mei).exp(), (p_normal + p_motion) / 2)
    weighted = TwoStreamNet(normal, motion, weights=(1, 3))
    torch.testing.assert_close(
        weighted.predict_proba(frame, mei), 0.25 * p_normal + 0.75 * p_motion
    )


def test_factory_builds_ensembles_and_two_stream_models() -> None:
    ensemble = create_model(
        "ensemble", num_classes=4, backbones=["mobilenetv2_100", "efficientnet_b0"]
    )
    assert len(ensemble.members) == 2
    two = create_model("two_stream", num_classes=4, normal_backbone="mobilenetv2_100")
    assert two.normal is not two.motion  # same architecture, separate weights
    with torch.no_grad():
        out = two.eval()(torch.randn(2, 3, 32, 32), torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 4)
    torch.testing.assert_close(out.exp().sum(-1), torch.ones(2))
