"""Models: the R(2+1)D teacher, the LIFT-Net student and the MEI two-stream 2D CNNs.

Plain PyTorch modules (no Ray, MLflow, Prefect or DVC), built by name:

>>> from components.models import create_model, list_models
>>> teacher = create_model("r2plus1d_18", num_classes=11)  # (B,3,T,H,W) -> (logits, h1)
>>> student = create_model("lift_net", num_classes=11)  # (main, luminous) -> (logits, h2)
>>> stream = create_model("efficientnet_b0", num_classes=11)  # (B,3,H,W) -> logits

Nothing downloads: timm models are built with ``pretrained=False`` and weights
come from local files (:func:`load_pretrained`, ``conf/models.yaml``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from components.models._registry import (
        ModelSpec,
        create_model,
        list_models,
        model_spec,
        register_model,
        resolve_pretrained,
    )
    from components.models.flops import ModelCost, count_flops, count_parameters, measure
    from components.models.lift_blocks import (
        CriticModule,
        CrossAttentionFusion,
        FourierEnhancement,
        LiftBlock,
        LiftModule,
    )
    from components.models.lift_net import DEPTH_PRESETS, LiftNet, lift_net
    from components.models.partial_vit import PartialViT
    from components.models.streams import BACKBONES, StreamCNN
    from components.models.teacher import VideoTeacher, VideoTrunk, r2plus1d_18, r3d_18
    from components.models.two_stream import Ensemble, TwoStreamNet, late_fusion
    from components.models.weights import (
        Adapted,
        LoadReport,
        load_pretrained,
        load_state_dict_checked,
        read_state_dict,
    )

#: Public name -> the module that defines it. Importing the package imports none of
#: them (no torch, no timm): ``components.models.presets`` is read by every ``har``
#: sub-command's parser, and ``har --help`` should not pay for PyTorch.
_EXPORTS: dict[str, str] = {
    "ModelSpec": "components.models._registry",
    "create_model": "components.models._registry",
    "list_models": "components.models._registry",
    "model_spec": "components.models._registry",
    "register_model": "components.models._registry",
    "resolve_pretrained": "components.models._registry",
    "ModelCost": "components.models.flops",
    "count_flops": "components.models.flops",
    "count_parameters": "components.models.flops",
    "measure": "components.models.flops",
    "CriticModule": "components.models.lift_blocks",
    "CrossAttentionFusion": "components.models.lift_blocks",
    "FourierEnhancement": "components.models.lift_blocks",
    "LiftBlock": "components.models.lift_blocks",
    "LiftModule": "components.models.lift_blocks",
    "DEPTH_PRESETS": "components.models.lift_net",
    "LiftNet": "components.models.lift_net",
    "lift_net": "components.models.lift_net",
    "PartialViT": "components.models.partial_vit",
    "VideoTeacher": "components.models.teacher",
    "VideoTrunk": "components.models.teacher",
    "r2plus1d_18": "components.models.teacher",
    "r3d_18": "components.models.teacher",
    "BACKBONES": "components.models.streams",
    "Ensemble": "components.models.two_stream",
    "StreamCNN": "components.models.streams",
    "TwoStreamNet": "components.models.two_stream",
    "late_fusion": "components.models.two_stream",
    "Adapted": "components.models.weights",
    "LoadReport": "components.models.weights",
    "load_pretrained": "components.models.weights",
    "load_state_dict_checked": "components.models.weights",
    "read_state_dict": "components.models.weights",
}


def __getattr__(name: str) -> Any:
    """The public names, each module imported on first use (PEP 562). The registry's
    lookups import the builder modules they need (``_registry.BUILDER_MODULES``)."""
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value

__all__ = [
    "BACKBONES",
    "DEPTH_PRESETS",
    "Adapted",
    "CriticModule",
    "CrossAttentionFusion",
    "Ensemble",
    "FourierEnhancement",
    "LiftBlock",
    "LiftModule",
    "LiftNet",
    "LoadReport",
    "ModelCost",
    "ModelSpec",
    "PartialViT",
    "StreamCNN",
    "TwoStreamNet",
    "VideoTeacher",
    "VideoTrunk",
    "count_flops",
    "count_parameters",
    "create_model",
    "late_fusion",
    "lift_net",
    "list_models",
    "load_pretrained",
    "load_state_dict_checked",
    "measure",
    "model_spec",
    "r2plus1d_18",
    "r3d_18",
    "read_state_dict",
    "register_model",
    "resolve_pretrained",
]
