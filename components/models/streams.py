"""The MEI two-stream network's stream CNNs: the paper's 2D backbones (timm) and a small CNN.

Paper: the MEI two-stream network, its normal and motion streams and their
backbones (``docs/paper-fidelity.md``, section 1).

Each stream of :mod:`components.models.two_stream` is one of these networks (or
their ensemble): a *normal stream* CNN classifies the last frame of each batch of
N frames, a *motion stream* CNN the Motion Embedded Image (or a rank-pooled
dynamic image). :class:`StreamCNN` wraps one of the paper's backbones;
:class:`SmallCNN` is the demo preset's network for small frames.

Every timm model is built with ``pretrained=False``; ImageNet weights come from
local files (:func:`components.models.weights.load_pretrained`).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import torch
from torch import nn

from components.models._registry import register_model
from components.models.weights import Adapted, drop_mismatched_classifier, load_pretrained

#: The paper's backbones (timm names).
BACKBONES: tuple[str, ...] = (
    "efficientnet_b0",
    "densenet201",
    "mobilenetv2_100",
    "resnet50",
    "inception_v3",
)
#: Smallest square input each backbone accepts (the paper preset's input is 224).
MIN_INPUT_SIZE: dict[str, int] = {"inception_v3": 75}
_PREFIX = "backbone."


class StreamCNN(nn.Module):
    """One stream's 2D CNN: a timm backbone with a ``num_classes`` head.

    Args:
        backbone: timm model name (one of :data:`BACKBONES`, or any timm CNN).
        num_classes: K.
        in_chans: Input channels (3 for frames, MEIs and dynamic images).
        drop_rate: Dropout before the classifier.
        output_stride: The backbone's total downsampling: 32 as built for 224 px
            (the paper preset); 8 or 16 keep a 4x4 or 2x2 feature map at 32 px by
            dilating the last stages instead of striding (timm's ``output_stride``;
            the weights are the same tensors, so ImageNet files still load).

    Shapes:
        ``forward``: images (B, in_chans, H, W) float32 -> logits (B, K).
    """

    def __init__(
        self, backbone: str, num_classes: int, in_chans: int = 3, drop_rate: float = 0.0,
        output_stride: int = 32,
    ) -> None:
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"num_classes must be positive, got {num_classes}")
        if output_stride not in (8, 16, 32):
            raise ValueError(f"output_stride must be 8, 16 or 32, got {output_stride!r}")
        self.backbone_name = backbone
        self.num_classes = num_classes
        self.in_chans = in_chans
        self.output_stride = output_stride
        self.min_input_size = MIN_INPUT_SIZE.get(backbone, 1)
        extra: dict[str, Any] = {} if output_stride == 32 else {"output_stride": output_stride}
        import timm  # here, not at the top: the small CNN streams never need it

        try:
            # a timm model: get_classifier, pretrained_cfg (not on nn.Module's type)
            self.backbone: Any = timm.create_model(
                backbone,
                pretrained=False,
                num_classes=num_classes,
                in_chans=in_chans,
                drop_rate=drop_rate,
                **extra,
            )
        except TypeError as exc:  # timm passes unknown keywords to the model class
            raise ValueError(f"{backbone} does not support output_stride={output_stride}: "
                             f"{exc}") from None
        self._reset_classifier()

    def _reset_classifier(self) -> None:
        """A small fresh classifier (weights N(0, 0.01), zero bias).

        timm initialises some heads (MobileNetV2, EfficientNet) for 1000 ImageNet
        classes; with a few classes from scratch the first logits are large
        (cross-entropy measured 6 to 20 on two classes) and training stalls. A
        small head starts every class near 1/K.
        """
        head = self.backbone.get_classifier()
        if isinstance(head, nn.Linear):
            nn.init.normal_(head.weight, std=0.01)
            nn.init.zeros_(head.bias)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> logits (B, K)."""
        if images.dim() != 4 or images.shape[1] != self.in_chans:
            raise ValueError(
                f"{self.backbone_name} expects (B, {self.in_chans}, H, W) images, "
                f"got {tuple(images.shape)}"
            )
        if min(images.shape[-2:]) < self.min_input_size:
            raise ValueError(
                f"{self.backbone_name} needs images of at least {self.min_input_size}x"
                f"{self.min_input_size}, got {tuple(images.shape[-2:])}"
            )
        return self.backbone(images)

    def adapt_pretrained_state_dict(self, state: dict[str, torch.Tensor]) -> Adapted:
        """Fit a timm ImageNet checkpoint: add the ``backbone.`` prefix, drop a classifier
        with another class count (it keeps its fresh initialisation)."""
        state = {k if k.startswith(_PREFIX) else _PREFIX + k: v for k, v in state.items()}
        classifier = self.backbone.pretrained_cfg.get("classifier", "fc")
        names = [classifier] if isinstance(classifier, str) else list(classifier)
        ignored: list[str] = []
        notes: list[str] = []
        allow: list[str] = []
        own = self.state_dict()
        for name in names:
            state, dropped, msgs = drop_mismatched_classifier(state, own, _PREFIX + name)
            ignored += dropped
            notes += msgs
            if dropped:
                allow.append(f"{_PREFIX}{name}.*")
        return Adapted(state, tuple(ignored), tuple(allow), tuple(notes))


class SmallCNN(nn.Module):
    """A plain convolutional network for small frames: the demo preset's stream CNN.

    The paper's backbones are built for 224 px ImageNet images: at 32 px their
    stems shrink a frame to a few pixels before the first block, and trained from
    scratch on a few thousand images they memorise instead of generalising
    (measured on the demo's motion images: MobileNetV2 and narrow ResNets stayed
    near chance where this network reached over 95 %). This one keeps full
    resolution for its first stage, as VGG-style networks for CIFAR do.

    Architecture: ``stages`` stages of ``depth`` blocks (3x3 conv, BatchNorm,
    ReLU); stage ``i`` has ``width * 2**i`` channels and its first block strides 2
    (except stage 0); global average pooling, dropout, a linear classifier.

    Args:
        num_classes: K.
        in_chans: input channels.
        width: channels of the first stage.
        depth: blocks per stage.
        stages: number of stages (the output stride is ``2 ** (stages - 1)``).
        drop_rate: dropout before the classifier.

    Shapes:
        ``forward``: images (B, in_chans, H, W) float32 -> logits (B, K).
    """

    def __init__(self, num_classes: int, in_chans: int = 3, width: int = 32, depth: int = 2,
                 stages: int = 3, drop_rate: float = 0.0) -> None:
        super().__init__()
        if num_classes < 1 or width < 1 or depth < 1 or stages < 1:
            raise ValueError("num_classes, width, depth and stages must be positive, got "
                             f"{num_classes}, {width}, {depth}, {stages}")
        self.num_classes = num_classes
        self.in_chans = in_chans
        layers: list[nn.Module] = []
        channels = in_chans
        for stage in range(stages):
            out = width * 2**stage
            for block in range(depth):
                stride = 2 if stage > 0 and block == 0 else 1
                layers += [nn.Conv2d(channels, out, 3, stride, 1, bias=False),
                           nn.BatchNorm2d(out), nn.ReLU(inplace=True)]
                channels = out
        self.features = nn.Sequential(*layers)
        self.num_features = channels
        self.head_drop = nn.Dropout(drop_rate)
        self.classifier = nn.Linear(channels, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        nn.init.normal_(self.classifier.weight, std=0.01)
        nn.init.zeros_(self.classifier.bias)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> logits (B, K)."""
        if images.dim() != 4 or images.shape[1] != self.in_chans:
            raise ValueError(f"small_cnn expects (B, {self.in_chans}, H, W) images, "
                             f"got {tuple(images.shape)}")
        pooled = self.features(images).mean(dim=(2, 3))
        return self.classifier(self.head_drop(pooled))


def small_cnn(
    *,
    num_classes: int,
    in_chans: int = 3,
    width: int = 32,
    depth: int = 2,
    stages: int = 3,
    drop_rate: float = 0.0,
    pretrained_path: str | Path | None = None,
) -> SmallCNN:
    """Plain CNN for small frames (demo preset streams): (B, 3, H, W) -> logits (B, K)."""
    model = SmallCNN(num_classes, in_chans, width, depth, stages, drop_rate)
    if pretrained_path is not None:
        load_pretrained(model, pretrained_path)
    return model


def _stream_cnn(
    backbone: str,
    *,
    num_classes: int,
    in_chans: int = 3,
    drop_rate: float = 0.0,
    output_stride: int = 32,
    pretrained_path: str | Path | None = None,
) -> StreamCNN:
    model = StreamCNN(backbone, num_classes, in_chans=in_chans, drop_rate=drop_rate,
                      output_stride=output_stride)
    if pretrained_path is not None:
        load_pretrained(model, pretrained_path)
    return model


for _name in BACKBONES:
    register_model(
        _name,
        partial(_stream_cnn, _name),
        family="image",
        description=f"timm {_name} stream CNN: (B, 3, H, W) -> logits (B, K)",
    )
register_model("small_cnn", small_cnn, family="image")
