"""The model factory, and one training step of every registered model on the CPU."""

from __future__ import annotations

from typing import Any

import pytest
import torch
import torch.nn.functional as F

from components.errors import ConfigError
from components.models import create_model, list_models, model_spec
from tests.fresh_process import fresh_output

REQUIRED = {
    "r2plus1d_18",
    "r3d_18",
    "lift_net",
    "efficientnet_b0",
    "densenet201",
    "mobilenetv2_100",
    "resnet50",
    "inception_v3",
    "ensemble",
    "two_stream",
}


def test_every_required_model_is_registered() -> None:
    assert set(list_models()) >= REQUIRED


def test_a_small_stream_is_built_without_importing_timm_or_torchvision() -> None:
    # A fresh interpreter: this one has imported every builder module already.
    probe = ("import sys; from components.models import create_model; "
             "create_model('small_cnn', num_classes=4); "
             "print(sorted(m for m in ('timm', 'torchvision') if m in sys.modules))")
    assert fresh_output(probe).strip() == "[]"


def test_the_model_package_imports_its_modules_on_first_use() -> None:
    probe = ("import sys, components.models as m; before = 'torch' in sys.modules; "
             "names = m.list_models(); "
             "print(before, 'lift_net' in names and 'r2plus1d_18' in names)")
    assert fresh_output(probe).split() == ["False", "True"]


def test_the_name_index_says_which_module_registers_each_built_in_model() -> None:
    from components.models._registry import _REGISTRY, MODEL_MODULES, import_builders

    import_builders()
    def module(builder: Any) -> str:  # the stream CNNs are partials of one builder
        return str(getattr(builder, "func", builder).__module__)

    assert {name: module(_REGISTRY[name].builder) for name in MODEL_MODULES} == MODEL_MODULES
    assert set(_REGISTRY) == set(MODEL_MODULES)


def test_listing_and_looking_up_a_name_import_only_what_it_needs() -> None:
    probe = ("import sys; from components.models import list_models, model_spec; "
             "names = list_models(); loaded = sorted(m for m in sys.modules "
             "if m.startswith(('timm', 'torchvision', 'components.models.'))); "
             "model_spec('r3d_18'); "
             "print(len(names), 'timm' in sys.modules, 'components.models.lift_net' in "
             "sys.modules, loaded == ['components.models._registry'])")
    assert fresh_output(probe).split() == ["11", "False", "False", "True"]


def test_unknown_name_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown model name; known: .*r2plus1d_18"):
        create_model("r2plus1d_50", num_classes=2)


def test_unknown_argument_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="bad arguments.*num_clases"):
        create_model("r3d_18", num_clases=2)
    with pytest.raises(ConfigError, match="num_classes"):
        create_model("resnet50")


def _case(name: str, tiny_lift: dict[str, Any]) -> tuple[dict[str, Any], list[torch.Tensor]]:
    """Builder kwargs and a tiny batch of 2 for ``name``."""
    family = model_spec(name).family
    if family == "video":
        return {"num_classes": 2}, [torch.randn(2, 3, 4, 32, 32)]
    if family == "lift":
        kwargs = {**tiny_lift, "num_classes": 2}
        return kwargs, [torch.randn(2, 4, 3, 32, 32), torch.randn(2, 3, 4, 32, 32)]
    size = 75 if name == "inception_v3" else 32
    if family == "ensemble":  # two small members; the five-backbone default is built elsewhere
        kwargs = {"num_classes": 2, "backbones": ["mobilenetv2_100", "efficientnet_b0"]}
        return kwargs, [torch.randn(2, 3, size, size)]
    if family == "two_stream":
        kwargs = {"num_classes": 2, "normal_backbone": "mobilenetv2_100"}
        return kwargs, [torch.randn(2, 3, size, size), torch.randn(2, 3, size, size)]
    return {"num_classes": 2}, [torch.randn(2, 3, size, size)]


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_every_model_trains_one_step(name: str, tiny_lift_kwargs) -> None:
    kwargs, inputs = _case(name, tiny_lift_kwargs)
    model = create_model(name, **kwargs).train()
    params = [p for p in model.parameters() if p.requires_grad]
    before = [p.detach().clone() for p in params]
    optimizer = torch.optim.SGD(params, lr=0.1)

    out = model(*inputs)
    logits, feature = out if isinstance(out, tuple) else (out, None)
    loss = F.cross_entropy(logits, torch.tensor([0, 1]))
    if feature is not None:  # the teacher's h1 / the student's h2 (distillation feature)
        loss = loss + feature.abs().mean()
    optimizer.zero_grad()
    loss.backward()
    assert torch.isfinite(loss)
    assert all(p.grad is not None for p in params), "a trainable parameter got no gradient"
    assert not any(p.grad is not None for p in model.parameters() if not p.requires_grad)
    optimizer.step()
    assert any(not torch.equal(b, p) for b, p in zip(before, params, strict=True))
