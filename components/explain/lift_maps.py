"""Where LIFT-Net looks: per-frame maps of its cross-attention and Fourier blocks.

These are the project's reading of the paper's Figs. 5 and 6 (cross-attention
and Fourier Enhancement maps over frames); the paper does not say how its maps
were computed. LIFT-Net fuses *one token per frame* (the Partial ViT's CLS
token, and one pooled luminous token per frame), so its cross-attention and
Fourier blocks have no spatial grid of their own: each map below is a
per-frame weight from the block, spread over the frame by what that frame's
token is made of, the ViT's patch tokens. Everything is captured with forward
hooks on an unchanged model, in one forward pass, without gradients.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F

from components.models.lift_net import LiftNet


def _cls_attention(attn: Any, x: torch.Tensor, prefix: int) -> torch.Tensor:
    """CLS -> patch attention of a timm ``Attention`` on its input ``x`` (N, L, D),
    recomputed from its own q/k weights (timm's fused kernel returns no weights):
    (N, patches), mean over heads, each row sums to <= 1 (the rest is on the CLS
    and other prefix tokens)."""
    n, length, _ = x.shape
    qkv = attn.qkv(x).reshape(n, length, 3, attn.num_heads, attn.head_dim).permute(2, 0, 3, 1, 4)
    q, k = attn.q_norm(qkv[0]), attn.k_norm(qkv[1])
    weights = ((q * attn.scale) @ k.transpose(-2, -1)).softmax(dim=-1)  # (N, heads, L, L)
    return weights[:, :, 0, prefix:].mean(dim=1)


def _to_frames(per_patch: torch.Tensor, grid: tuple[int, int], size: tuple[int, int]
               ) -> torch.Tensor:
    """(T, patches) -> (T, H, W): onto the patch grid, bilinear up to the frame size."""
    maps = per_patch.reshape(per_patch.shape[0], 1, *grid)
    return F.interpolate(maps, size=size, mode="bilinear", align_corners=False)[:, 0]


def _unit(maps: torch.Tensor) -> torch.Tensor:
    """Stretched to 0..1 between the clip's minimum and maximum (one scale for all
    frames, so they stay comparable; min-max because the raw maps are nearly flat:
    a trained model's CLS attention is spread, and ratios near 1 read as nothing)."""
    low, high = maps.min(), maps.max()
    return (maps - low) / (high - low) if high > low else torch.zeros_like(maps)


def lift_net_maps(model: LiftNet, raw: torch.Tensor, lum: torch.Tensor
                  ) -> dict[str, torch.Tensor]:
    """Per-frame cross-attention and Fourier maps of one clip.

    Args:
        model: a LIFT-Net (eval mode: the head's BatchNorm needs it for one clip).
        raw: the Main-Stream clip, (T, 3, H, W) or (1, T, 3, H, W), normalised as in
            training.
        lum: the luminous clip, (C, T, H, W) or (1, C, T, H, W).

    Returns:
        ``{"cross_attention": (T, H, W), "fourier": (T, H, W)}`` float32 in 0..1,
        each stretched between its minimum and maximum over the whole clip (0: the
        clip's weakest place, 1: its strongest):

        * ``cross_attention``: in every LIFT block the luminous tokens (queries)
          attend to the T Main-Stream frame tokens (keys). ``a_t`` = the attention
          frame t receives, averaged over heads, queries and blocks, times T (1:
          an even share). Frame t's token is its ViT CLS token, so ``a_t`` is spread
          over the frame by the CLS token's attention to the patches in the last
          kept ViT block (mean over heads): map_t = a_t * CLS attention_t, on the
          patch grid, upsampled to H x W.
        * ``fourier``: the last block's Fourier Enhancement output ``f_t`` (the
          fused token of frame t, E wide). Per patch: how much the patch's token,
          projected like a CLS token into the Main-Stream (the model's own MLP and
          LayerNorm), points the way of ``f_t`` (cosine, negatives cut), times the
          output's magnitude ``|f_t|``: bright where a frame's Fourier output is
          strong and looks like that part of the frame.
    """
    main = raw if raw.dim() == 5 else raw.unsqueeze(0)
    luminous = lum if lum.dim() == 5 else lum.unsqueeze(0)
    if main.shape[0] != 1:
        raise ValueError(f"lift_net_maps explains one clip, got a batch of {main.shape[0]}")
    vit = model.partial_vit.vit
    prefix = int(getattr(vit, "num_prefix_tokens", 1))
    grid_h, grid_w = (int(g) for g in vit.patch_embed.grid_size)
    grid = (grid_h, grid_w)
    seen = _capture(model, main, luminous)
    with torch.no_grad():
        received = _attention_received(seen.fusion, frames=main.shape[1])  # (T,)
        cls_attn = _cls_attention(seen.vit_attn, seen.vit_in, prefix)  # (T, P)
        cross = received[:, None] * cls_attn
        four = _fourier_agreement(model, seen.tokens[:, prefix:], seen.fourier[0].float())
    size = (int(main.shape[-2]), int(main.shape[-1]))
    return {"cross_attention": _unit(_to_frames(cross.float(), grid, size)),
            "fourier": _unit(_to_frames(four.float(), grid, size))}


@dataclass
class _Captured:
    """What one forward pass showed the hooks: the last ViT block's attention module
    and its input (T, L, D), the ViT's output tokens (T, L, D), the last LIFT block's
    Fourier output (1, T, E), and each LIFT block's fusion attention with its queries
    and keys."""

    vit_attn: Any
    vit_in: torch.Tensor = field(init=False)
    tokens: torch.Tensor = field(init=False)
    fourier: torch.Tensor = field(init=False)
    fusion: list[tuple[Any, torch.Tensor, torch.Tensor]] = field(default_factory=list)


def _capture(model: LiftNet, main: torch.Tensor, luminous: torch.Tensor) -> _Captured:
    """One forward pass without gradients, hooks keeping what the maps read (the hooks
    are removed after, so the model is left as it was)."""
    vit = model.partial_vit.vit
    # timm's ViT block and LIFT-Net's blocks, reached through nn.Module's untyped children
    seen = _Captured(vit_attn=vit.blocks[-1].attn)
    lift_blocks: list[Any] = list(model.blocks)
    hooks = [
        seen.vit_attn.register_forward_pre_hook(
            lambda _m, args: setattr(seen, "vit_in", args[0])),
        vit.norm.register_forward_hook(lambda _m, _a, out: setattr(seen, "tokens", out)),
        lift_blocks[-1].fourier.register_forward_hook(
            lambda _m, _a, out: setattr(seen, "fourier", out)),
    ]
    for block in lift_blocks:
        hooks.append(block.fusion.attn.register_forward_pre_hook(
            lambda m, args: seen.fusion.append((m, args[0], args[1]))))
    try:
        with torch.no_grad():
            model(main, luminous)
    finally:
        for hook in hooks:
            hook.remove()
    return seen


def _attention_received(fusion: list[tuple[Any, torch.Tensor, torch.Tensor]], frames: int
                        ) -> torch.Tensor:
    """(T,): the attention each Main-Stream frame token receives from the luminous
    queries, averaged over heads, queries and blocks, times T (1: an even share)."""
    # the fusion ran with need_weights=False: ask the same module (unhooked) for them
    return torch.stack([
        m(q, k, k, need_weights=True, average_attn_weights=True)[1][0].mean(dim=0)
        for m, q, k in fusion
    ]).mean(dim=0) * frames


def _fourier_agreement(model: LiftNet, patch_tokens: torch.Tensor, fourier: torch.Tensor
                       ) -> torch.Tensor:
    """(T, P): how far each patch token (T, P, D), projected like a CLS token into the
    Main-Stream, points the way of its frame's Fourier output (T, E) (cosine, negatives
    cut), times that output's magnitude."""
    projected = model.main_norm(model.main_mlp(patch_tokens))  # (T, P, E)
    cosine = F.cosine_similarity(projected, fourier[:, None, :], dim=-1).clamp(min=0)
    return fourier.norm(dim=-1)[:, None] * cosine
