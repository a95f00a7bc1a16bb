"""LIFT-Net: Light Invariant Fourier Transformer for action recognition in any light.

Paper: LIFT-Net, the whole student network: Main-Stream, Luminous pathway, the N
repeated blocks and the classification head (``docs/paper-fidelity.md``, section 2).

The student network of the paper's knowledge-distillation scheme
(``docs/paper-fidelity.md``, LIFT-Net): a Main-Stream that reads the raw, possibly
dark frames, a Luminous pathway that reads a light-invariant view of the same
clip (gamma-corrected frames for dark video, optical flow for daylight and
infrared video), and N blocks that fuse them with cross-attention and refine
the result in the frequency domain.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from timm.layers.mlp import Mlp
from torch import nn

from components.models._registry import register_model
from components.models.lift_blocks import LiftBlock
from components.models.partial_vit import PartialViT
from components.models.teacher import TORCHVISION_WIDTH, VIDEO_ARCHS, VideoArch, VideoTrunk
from components.models.weights import (
    LoadReport,
    load_pretrained,
    load_state_dict_checked,
    read_state_dict,
    unwrap_state_dict,
)

#: Depth presets of the paper: number of LIFT + Critic + Fusion repetitions.
DEPTH_PRESETS: dict[str, int] = {"small": 4, "medium": 6, "large": 8}
_TRUNK_PREFIXES = ("stem.", "layer1.", "layer2.", "layer3.", "layer4.")


def resolve_depth(depth: int | str) -> int:
    """``"small"``/``"medium"``/``"large"`` -> 4/6/8; a positive int passes through."""
    if isinstance(depth, str):
        if depth not in DEPTH_PRESETS:
            raise ValueError(
                f"depth must be a positive int or one of {list(DEPTH_PRESETS)}, got {depth!r}"
            )
        return DEPTH_PRESETS[depth]
    if isinstance(depth, bool) or int(depth) < 1:
        raise ValueError(
            f"depth must be a positive int or one of {list(DEPTH_PRESETS)}, got {depth!r}"
        )
    return int(depth)


class LiftNet(nn.Module):
    """LIFT-Net (Light Invariant Fourier Transformer), the distilled student.

    Composition (B batch, T frames, E embedding width, D ViT width, K classes)::

        main_frames (B,T,3,H,W)                  luminous (B,C_lum,T,H,W)
          │ frames folded into the batch           │ gamma RGB (C_lum=3) or flow x/y (2)
          ▼                                        ▼
        Partial ViT: patch embed, CLS, pos       R(2+1)D or R3D trunk = the teacher's
          embed, first vit_blocks blocks; one      (frozen unless train_luminous_trunk)
          weight set for every frame               │ (B, F, ceil(T/8), H/16, W/16)
          │ CLS token per frame (B*T, D)           ▼ F = 8 * luminous_width (512: torchvision)
          ▼                                      AdaptiveAvgPool3d((T,1,1)) -> (B,T,F)
        MLP (D -> E), LayerNorm -> (B,T,E)       Linear (F -> E)            -> (B,T,E)
          │ H_main                                 │ H_lum
        ╔═╪═══════ LiftBlock, repeated N times (small 4, medium 6, large 8) ═══════╗
        ║ ▼                                        ▼                               ║
        ║ LIFT:   H + LN(MHSA(H))                  Critic: H + LN(MHSA(H))         ║
        ║ │                                                H + LN(MLP(H)) = H_LS   ║
        ║ │ key, value                             │ query             │           ║
        ║ └──────────► cross-attention ◄───────────┘                   │           ║
        ║              FE = LN(attention) + H_LS                       │           ║
        ║              FoE: FFT2 -> [Re,Im] -> Z + LN(MLP(Z)) -> IFFT2 │           ║
        ║              ▼ next H_main (B,T,E)                           ▼ next H_lum║
        ╚══════════════════════════════════════════════════════════════════════════╝
          │ H_main after N blocks
          ▼
        mean over T -> pooled (B,E)
          ├─► head: Linear(E,H), GELU, BatchNorm1d(H), Dropout, Linear(H,K) -> logits
          └─► h2 = h2_proj(pooled): Linear(E, F) if E != F, else identity

    h2 and the teacher's h1: the distillation loss is ``L1(h2, h1)``. The pooled
    Main-Stream feature has width E; when E differs from ``teacher_feature_dim``
    (by default the trunk's feature width F: 512 for torchvision's r2plus1d_18 /
    r3d_18) a learned ``nn.Linear(E, F)`` projects the *student* feature to the
    teacher's width (the teacher is never changed); when they are equal the
    projection is the identity.

    The trunk halves time three times, so it yields ceil(T/8) steps; pooling them
    to exactly T tokens (adaptive pooling repeats steps) keeps the luminous and
    Main-Stream sequences the same length, so the fused features (whose length
    is the query's) carry on down the Main-Stream.

    Args:
        num_classes: K.
        vit_name: timm ViT for the Partial ViT (the paper: an ImageNet-21k ViT;
            ``vit_base_patch16_224`` in the paper preset).
        img_size: Frame size the Partial ViT is built for.
        vit_blocks: ViT blocks kept (paper: 5).
        trainable_vit_blocks: First blocks that train (paper: 1; 0 all frozen; ``"all"``).
        depth: N, or ``"small"``/``"medium"``/``"large"`` (4/6/8).
        embed_dim: E; default the ViT width D.
        num_heads: Heads of every attention layer (must divide E).
        mlp_ratio: Critic MLP hidden width / E.
        fourier_mlp_ratio: FoE MLP hidden width / 2E.
        head_hidden: Hidden width of the head; default E.
        luminous_arch: ``"r2plus1d_18"`` (the paper's R(2+1)D) or ``"r3d_18"`` (ablation):
            the teacher's.
        luminous_in_channels: 3 (gamma-corrected RGB) or 2 (optical flow).
        luminous_width: the trunk's width (the teacher's; 64 is torchvision's).
        train_luminous_trunk: Whether the trunk trains further (default frozen: no
            gradients, BatchNorm kept in eval mode).
        teacher_feature_dim: Width of the teacher's h1 (None: the trunk's, 8 * luminous_width).
        dropout: Dropout in attention, MLPs and before the last head layer.
        branch_init: initial weight of the blocks' residual-branch LayerNorms (1:
            PyTorch's default; 0: every block starts as the identity, see
            :func:`components.models.lift_blocks.init_branch_norms`).
        vit_kwargs: Extra timm constructor arguments for the ViT (e.g. a narrow
            ``embed_dim`` for tests).

    Shapes:
        ``forward(main_frames (B,T,3,H,W), luminous (B,C_lum,T_l,H_l,W_l))`` float32
        -> ``(logits (B,K), h2 (B, teacher_feature_dim or E))``. In training mode the
        head's BatchNorm needs B > 1.
    """

    def __init__(
        self,
        num_classes: int,
        *,
        vit_name: str = "vit_base_patch16_224",
        img_size: int | tuple[int, int] = 224,
        vit_blocks: int = 5,
        trainable_vit_blocks: int | str = 1,
        depth: int | str = "small",
        embed_dim: int | None = None,
        num_heads: int = 8,
        mlp_ratio: float = 4.0,
        fourier_mlp_ratio: float = 1.0,
        head_hidden: int | None = None,
        luminous_arch: VideoArch = "r2plus1d_18",
        luminous_in_channels: int = 3,
        luminous_width: int = TORCHVISION_WIDTH,
        train_luminous_trunk: bool = False,
        teacher_feature_dim: int | None = None,
        dropout: float = 0.0,
        branch_init: float = 1.0,
        vit_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"num_classes must be positive, got {num_classes}")
        if luminous_arch not in VIDEO_ARCHS:
            raise ValueError(f"luminous_arch must be one of {VIDEO_ARCHS}, got {luminous_arch!r}")
        self.num_classes = num_classes
        self.depth = resolve_depth(depth)
        self.partial_vit = PartialViT(
            vit_name, img_size, vit_blocks, trainable_vit_blocks, **dict(vit_kwargs or {})
        )
        vit_dim = self.partial_vit.embed_dim
        self.embed_dim = embed_dim = int(embed_dim or vit_dim)
        # Main-Stream: CLS token of each frame -> MLP -> LayerNorm.
        self.main_mlp = Mlp(vit_dim, embed_dim, embed_dim, act_layer=nn.GELU, drop=dropout)
        self.main_norm = nn.LayerNorm(embed_dim)
        self._build_luminous_pathway(luminous_arch, luminous_in_channels, luminous_width,
                                     train_luminous_trunk)
        self.blocks = nn.ModuleList(
            LiftBlock(embed_dim, num_heads, mlp_ratio, fourier_mlp_ratio, dropout, branch_init)
            for _ in range(self.depth)
        )
        self.head = _classification_head(embed_dim, int(head_hidden or embed_dim), num_classes,
                                         dropout)
        self.teacher_feature_dim = int(teacher_feature_dim or self.luminous_trunk.feature_dim)
        self.h2_proj: nn.Module = (
            nn.Linear(embed_dim, self.teacher_feature_dim)
            if self.teacher_feature_dim != embed_dim
            else nn.Identity()
        )

    def _build_luminous_pathway(self, arch: VideoArch, in_channels: int, width: int,
                                train_trunk: bool) -> None:
        """The teacher's trunk (frozen unless ``train_trunk``), pooled to one token per
        frame, and its projection to E."""
        self.luminous_trunk = VideoTrunk(arch, in_channels, width)
        self.luminous_in_channels = in_channels
        self.luminous_proj = nn.Linear(self.luminous_trunk.feature_dim, self.embed_dim)
        self.train_luminous_trunk = bool(train_trunk)
        self.loaded_teacher_trunk = False
        self.last_trunk_features: torch.Tensor | None = None
        self.luminous_trunk.requires_grad_(self.train_luminous_trunk)

    def train(self, mode: bool = True) -> LiftNet:
        """As ``nn.Module.train``, but a frozen luminous trunk stays in eval mode."""
        super().train(mode)
        if not self.train_luminous_trunk:
            self.luminous_trunk.eval()
        return self

    def main_tokens(self, main_frames: torch.Tensor) -> torch.Tensor:
        """(B, T, 3, H, W) -> Main-Stream sequence (B, T, E): CLS per frame, MLP, LayerNorm."""
        if main_frames.dim() != 5 or main_frames.shape[2] != 3:
            raise ValueError(
                f"main_frames must be (B, T, 3, H, W), got shape {tuple(main_frames.shape)}"
            )
        b, t = main_frames.shape[:2]
        cls = self.partial_vit(main_frames.flatten(0, 1))  # (B*T, D): one weight set, every frame
        return self.main_norm(self.main_mlp(cls.view(b, t, -1)))

    def luminous_tokens(self, luminous: torch.Tensor, steps: int) -> torch.Tensor:
        """(B, C_lum, T_l, H, W) -> luminous sequence (B, steps, E)."""
        if luminous.dim() != 5 or luminous.shape[1] != self.luminous_in_channels:
            raise ValueError(
                f"luminous must be (B, {self.luminous_in_channels}, T, H, W), "
                f"got shape {tuple(luminous.shape)}"
            )
        with torch.set_grad_enabled(torch.is_grad_enabled() and self.train_luminous_trunk):
            features = self.luminous_trunk(luminous)  # (B, F, T', H', W')
        # A frozen trunk copied from the teacher computes exactly the teacher's feature
        # map: distillation reads h1 from it instead of running the teacher again.
        self.last_trunk_features = None if self.train_luminous_trunk else features.detach()
        pooled = F.adaptive_avg_pool3d(features, (steps, 1, 1)).flatten(2)  # (B, F, steps)
        return self.luminous_proj(pooled.transpose(1, 2))

    def forward_features(self, main_frames: torch.Tensor, luminous: torch.Tensor) -> torch.Tensor:
        """Both pathways and the N blocks -> fused Main-Stream sequence (B, T, E)."""
        if luminous.shape[0] != main_frames.shape[0]:
            raise ValueError(
                f"batch sizes differ: main_frames {main_frames.shape[0]}, "
                f"luminous {luminous.shape[0]}"
            )
        main = self.main_tokens(main_frames)
        lum = self.luminous_tokens(luminous, main.shape[1])
        for block in self.blocks:
            main, lum = block(main, lum)
        return main

    def forward(
        self, main_frames: torch.Tensor, luminous: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """main_frames (B,T,3,H,W), luminous (B,C_lum,T,H,W) -> (logits (B,K), h2 (B,h1 width))."""
        pooled = self.forward_features(main_frames, luminous).mean(dim=1)
        return self.head(pooled), self.h2_proj(pooled)

    def load_teacher_trunk(
        self, teacher: nn.Module | Mapping[str, torch.Tensor] | str | Path
    ) -> LoadReport:
        """Copy the trained teacher's trunk weights into the luminous pathway.

        Args:
            teacher: A :class:`~components.models.teacher.VideoTeacher` (or trunk), its
                state dict, or a checkpoint file of it. Its ``fc.*`` head is ignored;
                every trunk tensor must fit exactly (same architecture, width and input
                channels), or nothing is loaded.

        Returns:
            The load report. ``requires_grad`` of the trunk is unchanged.

        Raises:
            ValueError: ``teacher`` is a module of another architecture or channel count.
            InputError: The state dict / file does not fit the trunk.
        """
        if isinstance(teacher, nn.Module):
            arch = getattr(teacher, "arch", None)
            channels = getattr(teacher, "in_channels", None)
            width = getattr(teacher, "width", None)
            if (arch, channels, width) != (self.luminous_trunk.arch, self.luminous_in_channels,
                                           self.luminous_trunk.width):
                raise ValueError(
                    f"teacher is {arch} of width {width} with {channels} input channels; the "
                    f"luminous pathway is {self.luminous_trunk.arch} of width "
                    f"{self.luminous_trunk.width} with {self.luminous_in_channels}"
                )
            state, source = teacher.state_dict(), f"<{type(teacher).__name__} {arch}>"
        elif isinstance(teacher, str | Path):
            state, source = read_state_dict(teacher), str(teacher)
        else:
            state, source = unwrap_state_dict(teacher), "<teacher state dict>"
        trunk_state = {k: v for k, v in state.items() if k.startswith(_TRUNK_PREFIXES)}
        report = load_state_dict_checked(
            self.luminous_trunk, trunk_state, source=source, strict=True, adapt=False
        )
        # The trunk now is the teacher's: frozen, its features are the teacher's.
        self.loaded_teacher_trunk = True
        return report

    def load_vit_pretrained(self, path: str | Path) -> LoadReport:
        """Load a full timm ViT checkpoint (e.g. ImageNet-21k) into the Partial ViT.

        Position embeddings are resampled to ``img_size``; blocks beyond
        ``vit_blocks`` and the final norm/head are ignored (see the report).
        """
        return load_pretrained(self.partial_vit, path)


def lift_net(
    *,
    num_classes: int,
    vit_name: str = "vit_base_patch16_224",
    img_size: int | tuple[int, int] = 224,
    vit_blocks: int = 5,
    trainable_vit_blocks: int | str = 1,
    depth: int | str = "small",
    embed_dim: int | None = None,
    num_heads: int = 8,
    mlp_ratio: float = 4.0,
    fourier_mlp_ratio: float = 1.0,
    head_hidden: int | None = None,
    luminous_arch: VideoArch = "r2plus1d_18",
    luminous_in_channels: int = 3,
    luminous_width: int = TORCHVISION_WIDTH,
    train_luminous_trunk: bool = False,
    teacher_feature_dim: int | None = None,
    dropout: float = 0.0,
    branch_init: float = 1.0,
    vit_kwargs: Mapping[str, Any] | None = None,
    vit_pretrained_path: str | Path | None = None,
    luminous_pretrained_path: str | Path | None = None,
    teacher_path: str | Path | None = None,
    pretrained_path: str | Path | None = None,
) -> LiftNet:
    """LIFT-Net student: (main (B,T,3,H,W), luminous (B,C,T,H,W)) -> (logits, h2).

    Weight files, applied in this order: ``vit_pretrained_path`` (a full timm ViT
    checkpoint for the Partial ViT), ``luminous_pretrained_path`` (the weights the
    teacher started from, e.g. Kinetics-400 R(2+1)D, for a student without a
    teacher: the no-KD ablation), ``teacher_path`` (the trained teacher, whose trunk
    the luminous pathway shares), ``pretrained_path`` (a whole LIFT-Net checkpoint,
    loaded strictly, overriding all).
    """
    model = LiftNet(
        num_classes,
        vit_name=vit_name,
        img_size=img_size,
        vit_blocks=vit_blocks,
        trainable_vit_blocks=trainable_vit_blocks,
        depth=depth,
        embed_dim=embed_dim,
        num_heads=num_heads,
        mlp_ratio=mlp_ratio,
        fourier_mlp_ratio=fourier_mlp_ratio,
        head_hidden=head_hidden,
        luminous_arch=luminous_arch,
        luminous_in_channels=luminous_in_channels,
        luminous_width=luminous_width,
        train_luminous_trunk=train_luminous_trunk,
        teacher_feature_dim=teacher_feature_dim,
        dropout=dropout,
        branch_init=branch_init,
        vit_kwargs=vit_kwargs,
    )
    _load_weight_files(model, vit=vit_pretrained_path, luminous=luminous_pretrained_path,
                       teacher=teacher_path, whole=pretrained_path)
    return model


def _classification_head(embed_dim: int, hidden: int, num_classes: int, dropout: float
                         ) -> nn.Sequential:
    """Pooled (B, E) -> logits (B, K): Linear(E, hidden), GELU, BatchNorm1d, Dropout,
    Linear(hidden, K)."""
    return nn.Sequential(
        nn.Linear(embed_dim, hidden),
        nn.GELU(),
        nn.BatchNorm1d(hidden),
        nn.Dropout(dropout),
        nn.Linear(hidden, num_classes),
    )


def _load_weight_files(model: LiftNet, *, vit: str | Path | None, luminous: str | Path | None,
                       teacher: str | Path | None, whole: str | Path | None) -> None:
    """The weight files given, in :func:`lift_net`'s order: a later file overrides what
    an earlier one loaded (``whole``, a LIFT-Net checkpoint, overrides all)."""
    if vit is not None:
        model.load_vit_pretrained(vit)
    if luminous is not None:
        load_pretrained(model.luminous_trunk, luminous)
    if teacher is not None:
        model.load_teacher_trunk(teacher)
    if whole is not None:
        load_pretrained(model, whole)


register_model("lift_net", lift_net, family="lift")
