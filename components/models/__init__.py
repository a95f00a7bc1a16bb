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
from components.models.teacher import VideoTeacher, VideoTrunk, r2plus1d_18, r3d_18
from components.models.two_stream import (
    BACKBONES,
    Ensemble,
    StreamCNN,
    TwoStreamNet,
    late_fusion,
)
from components.models.weights import (
    Adapted,
    LoadReport,
    load_pretrained,
    load_state_dict_checked,
    read_state_dict,
)

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
