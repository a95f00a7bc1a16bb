"""Loading weights from local files: what fits loads, what does not is refused clearly."""

from __future__ import annotations

from pathlib import Path

import pytest
import timm
import torch

from components.errors import InputError
from components.models import (
    VideoTeacher,
    create_model,
    load_pretrained,
    read_state_dict,
    resolve_pretrained,
)


def _small() -> torch.nn.Module:
    """A small stand-in with a BatchNorm (buffers) for the generic loading rules."""
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.Flatten(), torch.nn.Linear(4, 2)
    )


@pytest.fixture
def small() -> torch.nn.Module:
    return _small()


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sb = b.state_dict()
    return all(torch.equal(v, sb[k]) for k, v in a.state_dict().items())


def test_loads_a_checkpoint_the_test_wrote(small: torch.nn.Module, tmp_path: Path) -> None:
    path = tmp_path / "small.pth"
    torch.save(small.state_dict(), path)
    fresh = _small()
    report = load_pretrained(fresh, path)
    assert report.ok
    assert set(report.loaded) == set(small.state_dict())
    assert not (report.missing or report.unexpected or report.mismatched or report.ignored)
    assert _same_weights(fresh, small)
    assert "loaded 9 tensors" in report.summary()


def test_accepts_a_wrapper_and_a_ddp_prefix(small: torch.nn.Module, tmp_path: Path) -> None:
    path = tmp_path / "ckpt.pt"
    state = {f"module.{k}": v for k, v in small.state_dict().items()}
    torch.save({"state_dict": state, "epoch": 7, "best": 0.5}, path)
    assert set(read_state_dict(path)) == set(small.state_dict())
    fresh = _small()
    load_pretrained(fresh, path)
    assert _same_weights(fresh, small)


def test_refuses_a_checkpoint_with_wrong_keys(tmp_path: Path) -> None:
    path = tmp_path / "other.pth"
    torch.save({"encoder.weight": torch.zeros(3, 3)}, path)
    with pytest.raises(InputError, match="none of the checkpoint's 1 tensors fit") as info:
        load_pretrained(_small(), path)
    assert info.value.path == path


def test_refuses_missing_keys_and_shape_mismatches(small: torch.nn.Module, tmp_path: Path) -> None:
    state = small.state_dict()
    del state["3.bias"]
    state["1.bias"] = torch.zeros(3)
    path = tmp_path / "broken.pth"
    torch.save(state, path)
    fresh = _small()
    before = fresh.state_dict()["0.weight"].clone()
    with pytest.raises(InputError) as info:
        load_pretrained(fresh, path)
    message = str(info.value)
    assert str(path) in message
    assert "model keys missing from the checkpoint (3.bias)" in message
    assert "1 shape mismatches (1.bias: checkpoint [3] vs model [4])" in message
    assert torch.equal(fresh.state_dict()["0.weight"], before)  # nothing loaded

    report = load_pretrained(fresh, path, strict=False)
    assert report.missing == ("3.bias",)
    assert report.mismatched == (("1.bias", (3,), (4,)),)
    assert not report.ok
    assert torch.equal(fresh.state_dict()["0.weight"], small.state_dict()["0.weight"])


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "nope.pth"
    with pytest.raises(InputError, match="not found") as info:
        load_pretrained(_small(), path)
    assert info.value.path == path


def test_only_state_dicts_are_read(tmp_path: Path) -> None:
    pickled_module = tmp_path / "module.pt"
    torch.save(torch.nn.Linear(2, 2), pickled_module)  # a whole pickled object
    with pytest.raises(InputError, match="weights_only"):
        read_state_dict(pickled_module)
    not_a_state = tmp_path / "list.pt"
    torch.save([1, 2, 3], not_a_state)
    with pytest.raises(InputError, match="expected a state dict"):
        read_state_dict(not_a_state)


def test_kinetics_style_checkpoint_into_a_flow_teacher(tmp_path: Path) -> None:
    kinetics = VideoTeacher(num_classes=400)
    path = tmp_path / "r2plus1d_18_kinetics400.pth"
    torch.save(kinetics.state_dict(), path)
    flow = create_model("r2plus1d_18", num_classes=5, in_channels=2, pretrained_path=path)
    report = load_pretrained(flow, path)
    assert report.ok
    assert set(report.ignored) == {"fc.weight", "fc.bias"}
    assert set(report.missing) == {"fc.weight", "fc.bias"}
    expected = kinetics.stem[0].weight.mean(dim=1, keepdim=True).repeat(1, 2, 1, 1, 1)
    torch.testing.assert_close(flow.stem[0].weight, expected)
    assert any("averaged" in n for n in report.notes) and any("400" in n for n in report.notes)


def test_imagenet_timm_checkpoint_into_a_stream_cnn(tmp_path: Path) -> None:
    imagenet = timm.create_model("mobilenetv2_100", pretrained=False)  # 1000 classes, timm keys
    path = tmp_path / "mobilenetv2_100.pth"
    torch.save(imagenet.state_dict(), path)
    model = create_model("mobilenetv2_100", num_classes=3, pretrained_path=path)
    torch.testing.assert_close(model.backbone.conv_stem.weight, imagenet.conv_stem.weight)
    report = load_pretrained(create_model("mobilenetv2_100", num_classes=3), path)
    assert set(report.ignored) == {"backbone.classifier.weight", "backbone.classifier.bias"}
    assert report.ok


def test_resolve_pretrained_maps_network_names_to_arguments() -> None:
    files = {
        "r2plus1d_18": "w/r21d.pth",
        "vit_tiny_patch16_224": "w/vit.pth",
        "resnet50": "w/r50.pth",
        "efficientnet_b0": None,
    }
    assert (
        resolve_pretrained("r2plus1d_18", {"num_classes": 2}, files)["pretrained_path"]
        == "w/r21d.pth"
    )
    lift = resolve_pretrained("lift_net", {"vit_name": "vit_tiny_patch16_224"}, files)
    assert lift["vit_pretrained_path"] == "w/vit.pth"
    assert "vit_pretrained_path" not in resolve_pretrained("lift_net", {}, files)
    two = resolve_pretrained("two_stream", {"normal_backbone": "resnet50"}, files)
    assert two["pretrained_paths"] == {"resnet50": "w/r50.pth"}
    assert "pretrained_path" not in resolve_pretrained("efficientnet_b0", {}, files)
