"""The Partial ViT of LIFT-Net's Main-Stream: the first few blocks of a timm ViT.

Paper: LIFT-Net, Main-Stream (Partial ViT, shared over frames, the first block
trainable; ``docs/paper-fidelity.md``, section 2).

One set of weights is applied to every frame (frames are folded into the
batch), and the CLS token of each frame is returned. Only the first
``trainable_blocks`` blocks train (the paper's setting is 1 of 5); the patch
embedding, class token and position embedding train only when the whole
Partial ViT does (``"all"``).
"""

from __future__ import annotations

import re
from typing import Any, Literal, cast

import timm
import torch
from timm.models.vision_transformer import VisionTransformer, checkpoint_filter_fn
from torch import nn

from components.models.weights import Adapted

_PREFIX = "vit."
_HEAD_KEYS = re.compile(r"^(norm|fc_norm|head|head_drop|attn_pool|pre_logits)\.")
_BLOCK_KEY = re.compile(r"^blocks\.(\d+)\.")


def parse_trainable(trainable: int | str, blocks: int) -> int | Literal["all"]:
    """Validate ``trainable_vit_blocks``: an int in [0, blocks] or ``"all"``."""
    if isinstance(trainable, str):
        if trainable != "all":
            raise ValueError(f"trainable_vit_blocks must be an int or 'all', got {trainable!r}")
        return "all"
    if isinstance(trainable, bool) or not 0 <= int(trainable) <= blocks:
        raise ValueError(
            f"trainable_vit_blocks must be in [0, {blocks}] or 'all', got {trainable!r}"
        )
    return int(trainable)


_DEPTHS: dict[tuple[str, str], int] = {}


def _full_depth(vit_name: str, vit_kwargs: dict[str, Any]) -> int:
    """Depth of the full timm ViT (built once on the meta device, then remembered)."""
    key = (vit_name, repr(sorted(vit_kwargs.items())))
    if key not in _DEPTHS:
        with torch.device("meta"):  # shapes only: no memory, no initialisation cost
            full = timm.create_model(vit_name, pretrained=False, num_classes=0, **vit_kwargs)
        if not isinstance(full, VisionTransformer):
            raise ValueError(f"{vit_name!r} is not a timm VisionTransformer")
        if full.cls_token is None:
            raise ValueError(f"{vit_name!r} has no class token; the Partial ViT needs one")
        _DEPTHS[key] = len(full.blocks)
    return _DEPTHS[key]


class PartialViT(nn.Module):
    """Patch embedding, CLS token, position embedding and the first ``vit_blocks`` blocks.

    Args:
        vit_name: A timm ViT (the paper: an ImageNet-21k ViT; ``vit_base_patch16_224``
            in the paper preset, ``vit_tiny_patch16_224`` for the CPU demo). Always built with
            ``pretrained=False``; weights come from a local file
            (:func:`components.models.weights.load_pretrained`, which resamples the
            position embedding when ``img_size`` differs from the checkpoint's).
        img_size: Input frame size (square int or (H, W)); a multiple of the patch size.
        vit_blocks: How many transformer blocks to keep (at most the ViT's depth).
        trainable_blocks: How many of the first blocks train: 0 (all frozen), 1 (the
            paper's default), ..., or ``"all"`` (every block plus the embeddings).
        **vit_kwargs: Further timm constructor arguments (e.g. ``embed_dim``,
            ``num_heads`` for a smaller test ViT).

    Shapes:
        ``forward``: images (N, 3, H, W) float32 -> CLS tokens (N, embed_dim).
    """

    def __init__(
        self,
        vit_name: str = "vit_base_patch16_224",
        img_size: int | tuple[int, int] = 224,
        vit_blocks: int = 5,
        trainable_blocks: int | str = 1,
        **vit_kwargs: Any,
    ) -> None:
        super().__init__()
        full_depth = _full_depth(vit_name, vit_kwargs)
        if not 1 <= vit_blocks <= full_depth:
            raise ValueError(
                f"vit_blocks must be in [1, {full_depth}] for {vit_name}, got {vit_blocks}"
            )
        kwargs = dict(vit_kwargs, depth=vit_blocks)
        vit = cast(VisionTransformer, timm.create_model(
            vit_name, pretrained=False, num_classes=0, img_size=img_size, **kwargs
        ))
        # Nothing after the kept blocks: the CLS token goes to LIFT-Net's own MLP + LayerNorm.
        vit.norm = nn.Identity()
        vit.fc_norm = nn.Identity()
        vit.head_drop = nn.Identity()  # type: ignore[assignment]  # typed Dropout in timm
        vit.head = nn.Identity()
        self.vit = vit
        self.vit_name = vit_name
        self.full_depth = full_depth
        self.vit_blocks = vit_blocks
        self.embed_dim = int(vit.embed_dim)
        self.trainable_blocks = parse_trainable(trainable_blocks, vit_blocks)
        self.set_trainable_blocks(self.trainable_blocks)

    def set_trainable_blocks(self, trainable: int | str) -> None:
        """Freeze everything, then unfreeze the first ``trainable`` blocks (or all)."""
        trainable = parse_trainable(trainable, self.vit_blocks)
        self.trainable_blocks = trainable
        for p in self.vit.parameters():
            p.requires_grad_(trainable == "all")
        if trainable != "all":
            for block in list(self.vit.blocks)[:trainable]:
                for p in block.parameters():
                    p.requires_grad_(True)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) -> CLS token of every image after the kept blocks, (N, embed_dim)."""
        if images.dim() != 4:
            raise ValueError(f"PartialViT expects (N, 3, H, W) images, got {tuple(images.shape)}")
        return self.vit.forward_features(images)[:, 0]

    def adapt_pretrained_state_dict(self, state: dict[str, torch.Tensor]) -> Adapted:
        """Fit a full timm ViT checkpoint (e.g. ImageNet-21k ViT-B/16) to this Partial ViT.

        Resamples the position embedding to this ``img_size`` (timm's
        ``checkpoint_filter_fn``), drops the blocks beyond ``vit_blocks`` and the
        final norm and head, and adds the ``vit.`` prefix.
        """
        plain = {k[len(_PREFIX) :] if k.startswith(_PREFIX) else k: v for k, v in state.items()}
        old_pos = plain.get("pos_embed")
        plain = checkpoint_filter_fn(plain, self.vit)
        notes: list[str] = []
        new_pos = plain.get("pos_embed")
        if old_pos is not None and new_pos is not None and old_pos.shape != new_pos.shape:
            notes.append(
                f"pos_embed resampled from {old_pos.shape[1]} to {new_pos.shape[1]} tokens "
                f"(img_size {tuple(self.vit.patch_embed.img_size)})"
            )
        ignored: list[str] = []
        out: dict[str, torch.Tensor] = {}
        for key, value in plain.items():
            block = _BLOCK_KEY.match(key)
            if _HEAD_KEYS.match(key) or (block and int(block.group(1)) >= self.vit_blocks):
                ignored.append(key)
                continue
            out[_PREFIX + key] = value
        dropped_blocks = {int(m.group(1)) for k in ignored if (m := _BLOCK_KEY.match(k))}
        if dropped_blocks:
            notes.append(
                f"kept blocks 0..{self.vit_blocks - 1}; ignored blocks "
                f"{min(dropped_blocks)}..{max(dropped_blocks)} and the final norm/head"
            )
        return Adapted(state_dict=out, ignored=tuple(ignored), notes=tuple(notes))
