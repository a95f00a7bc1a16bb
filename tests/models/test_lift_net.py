"""LIFT-Net: shapes, h2, which parameters learn, the shared Partial ViT, teacher weights."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from components.errors import InputError
from components.models import DEPTH_PRESETS, LiftNet, VideoTeacher, create_model


def _grad_names(model: torch.nn.Module) -> set[str]:
    return {n for n, p in model.named_parameters() if p.grad is not None}


def _trainable(model: torch.nn.Module) -> set[str]:
    return {n for n, p in model.named_parameters() if p.requires_grad}


def _backward(model: LiftNet, main, lum) -> None:
    logits, h2 = model(main, lum)
    loss = F.cross_entropy(logits, torch.tensor([0, 1])) + h2.abs().mean()
    loss.backward()


def test_shapes_of_logits_and_h2(tiny_lift_kwargs, lift_inputs) -> None:
    model = create_model("lift_net", **tiny_lift_kwargs).eval()
    main, lum = lift_inputs()
    with torch.no_grad():
        logits, h2 = model(main, lum)
    assert logits.shape == (2, 3)
    assert h2.shape == (2, 512)  # projected from E=32 to the teacher's width
    assert isinstance(model.h2_proj, torch.nn.Linear)
    assert model.h2_proj.in_features == 32 and model.h2_proj.out_features == 512


def test_h2_needs_no_projection_when_widths_match(tiny_lift_kwargs, lift_inputs) -> None:
    model = create_model("lift_net", **{**tiny_lift_kwargs, "teacher_feature_dim": 32}).eval()
    assert isinstance(model.h2_proj, torch.nn.Identity)
    with torch.no_grad():
        _, h2 = model(*lift_inputs())
    assert h2.shape == (2, 32)


@pytest.mark.parametrize(("lum_channels", "lum_frames"), [(2, 4), (3, 9)])
def test_flow_input_and_other_luminous_lengths(
    tiny_lift_kwargs, lift_inputs, lum_channels, lum_frames
) -> None:
    model = create_model(
        "lift_net", **{**tiny_lift_kwargs, "luminous_in_channels": lum_channels}
    ).eval()
    main, lum = lift_inputs(lum_channels=lum_channels, lum_frames=lum_frames)
    with torch.no_grad():
        tokens = model.luminous_tokens(lum, steps=4)
        logits, _ = model(main, lum)
    assert tokens.shape == (2, 4, 32)  # one token per main frame, whatever T_l
    assert logits.shape == (2, 3)


@pytest.mark.parametrize(
    ("overrides", "trainable_prefixes", "frozen_prefixes"),
    [
        (
            {},
            ["partial_vit.vit.blocks.0."],
            [
                "partial_vit.vit.blocks.1.",
                "partial_vit.vit.patch_embed.",
                "partial_vit.vit.pos_embed",
                "partial_vit.vit.cls_token",
                "luminous_trunk.",
            ],
        ),
        ({"trainable_vit_blocks": 0}, [], ["partial_vit.", "luminous_trunk."]),
        (
            {"trainable_vit_blocks": "all", "train_luminous_trunk": True},
            ["partial_vit.vit.patch_embed.", "partial_vit.vit.blocks.1.", "luminous_trunk.stem."],
            [],
        ),
    ],
)
def test_gradients_exist_exactly_on_trainable_parameters(
    tiny_lift_kwargs, lift_inputs, overrides, trainable_prefixes, frozen_prefixes
) -> None:
    model = create_model("lift_net", **{**tiny_lift_kwargs, **overrides}).train()
    _backward(model, *lift_inputs())
    grads, trainable = _grad_names(model), _trainable(model)
    assert grads == trainable
    for prefix in trainable_prefixes:
        assert any(n.startswith(prefix) for n in grads), prefix
    for prefix in frozen_prefixes:
        assert not any(n.startswith(prefix) for n in grads), prefix
    # The LIFT blocks, the Main-Stream MLP, the projections and the head always learn.
    for prefix in [
        "blocks.0.fusion.",
        "blocks.1.fourier.",
        "main_mlp.",
        "luminous_proj.",
        "head.",
        "h2_proj.",
    ]:
        assert any(n.startswith(prefix) for n in grads), prefix


def test_frozen_trunk_stays_in_eval_mode(tiny_lift_kwargs, lift_inputs) -> None:
    model = create_model("lift_net", **tiny_lift_kwargs).train()
    assert model.training and not model.luminous_trunk.training
    bn = model.luminous_trunk.stem[1]
    before = bn.running_mean.clone()
    model(*lift_inputs())
    torch.testing.assert_close(bn.running_mean, before)


def test_one_parameter_set_serves_every_frame(tiny_lift_kwargs, lift_inputs) -> None:
    model = create_model("lift_net", **tiny_lift_kwargs).eval()
    main, _ = lift_inputs(frames=3)
    block0 = model.partial_vit.vit.blocks[0].attn.qkv.weight

    model.main_tokens(main).sum().backward()
    together = block0.grad.clone()
    separate = torch.zeros_like(together)
    for t in range(main.shape[1]):
        model.zero_grad()
        model.main_tokens(main[:, t : t + 1]).sum().backward()
        separate += block0.grad
        with torch.no_grad():
            per_frame = model.main_tokens(main[:, t : t + 1])[:, 0]
            torch.testing.assert_close(per_frame, model.main_tokens(main)[:, t])
    # Every frame went through the same weights: their gradients add up in one tensor.
    torch.testing.assert_close(together, separate, rtol=1e-4, atol=1e-6)
    assert sum(1 for m in model.modules() if type(m).__name__ == "PartialViT") == 1


def test_eval_forward_is_deterministic(tiny_lift_kwargs, lift_inputs) -> None:
    model = create_model("lift_net", **{**tiny_lift_kwargs, "dropout": 0.1}).eval()
    main, lum = lift_inputs()
    with torch.no_grad():
        a = model(main, lum)
        b = model(main, lum)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


@pytest.mark.parametrize("preset", sorted(DEPTH_PRESETS))
def test_depth_presets(tiny_lift_kwargs, preset: str) -> None:
    model = LiftNet(**{**tiny_lift_kwargs, "depth": preset})
    assert (
        len(model.blocks) == DEPTH_PRESETS[preset] == {"small": 4, "medium": 6, "large": 8}[preset]
    )


def test_bad_inputs_are_refused(tiny_lift_kwargs, lift_inputs) -> None:
    model = create_model("lift_net", **tiny_lift_kwargs).eval()
    main, lum = lift_inputs()
    with pytest.raises(ValueError, match="main_frames"):
        model(main.transpose(1, 2), lum)
    with pytest.raises(ValueError, match="luminous"):
        model(main, lum[:, :2])
    with pytest.raises(ValueError, match="batch sizes differ"):
        model(main, lum[:1])


def test_load_teacher_trunk_shares_the_teachers_weights(tiny_lift_kwargs, tmp_path: Path) -> None:
    teacher = VideoTeacher(num_classes=3)
    model = create_model("lift_net", **tiny_lift_kwargs)
    report = model.load_teacher_trunk(teacher)
    assert report.ok and not report.missing
    for key, value in teacher.trunk_state_dict().items():
        torch.testing.assert_close(model.luminous_trunk.state_dict()[key], value)
    assert not _trainable(model.luminous_trunk)  # still frozen

    path = tmp_path / "teacher.pt"
    torch.save({"model": teacher.state_dict(), "epoch": 3}, path)
    fresh = create_model("lift_net", **tiny_lift_kwargs, teacher_path=path)
    torch.testing.assert_close(fresh.luminous_trunk.stem[0].weight, teacher.stem[0].weight)


def test_a_teacher_of_another_architecture_is_refused(tiny_lift_kwargs) -> None:
    model = create_model("lift_net", **tiny_lift_kwargs)
    r3d = VideoTeacher(num_classes=3, arch="r3d_18")
    with pytest.raises(ValueError, match="r3d_18"):
        model.load_teacher_trunk(r3d)
    with pytest.raises(InputError, match="does not fit"):
        model.load_teacher_trunk(r3d.state_dict())


def test_the_luminous_input_reaches_the_output(tiny_lift_kwargs, lift_inputs) -> None:
    model = create_model("lift_net", **tiny_lift_kwargs).eval()
    main, lum = lift_inputs()
    with torch.no_grad():
        base = model(main, lum)[0]
        other = model(main, torch.randn_like(lum))[0]
        same = model(main, lum)[0]
    assert torch.equal(base, same)
    assert not torch.allclose(base, other)
