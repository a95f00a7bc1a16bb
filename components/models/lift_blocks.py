"""LIFT-Net's repeated block: LIFT, Critic, cross-attention fusion, Fourier Enhancement.

Paper: LIFT-Net, the LIFT module, the Critic module, Feature Fusion and Fourier
Enhancement, repeated N times (``docs/paper-fidelity.md``, section 2).

Every module works on token sequences (B, L, E): E the embedding width, L the
number of time steps. Following the paper, normalisation sits on the branch
and the residual is added after it: ``x + LN(f(x))``.
"""

from __future__ import annotations

import torch
from timm.layers.mlp import Mlp
from torch import nn


def _check_heads(embed_dim: int, num_heads: int) -> None:
    if embed_dim < 1 or num_heads < 1 or embed_dim % num_heads:
        raise ValueError(
            f"embed_dim ({embed_dim}) must be a positive multiple of num_heads ({num_heads})"
        )


class LiftModule(nn.Module):
    """Main-Stream temporal self-attention: ``H = H + LN(MHSA(H))``.

    Shapes: (B, L, E) -> (B, L, E).
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        _check_heads(embed_dim, num_heads)
        self.attn = nn.MultiheadAttention(embed_dim, num_heads, dropout=dropout, batch_first=True)
        self.norm = nn.LayerNorm(embed_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, L, E) -> (B, L, E)."""
        attended, _ = self.attn(x, x, x, need_weights=False)
        return x + self.norm(attended)


class CriticModule(nn.Module):
    """Luminous encoder: self-attention, LayerNorm, residual; MLP, GELU, LayerNorm, residual.

    ``H = H + LN1(MHSA(H)); H = H + LN2(fc2(GELU(fc1(H))))``. Shapes: (B, L, E) -> (B, L, E).
    """

    def __init__(
        self, embed_dim: int, num_heads: int, mlp_ratio: float = 4.0, dropout: float = 0.0
    ) -> None:
        super().__init__()
        _check_heads(embed_dim, num_heads)
        self.attn = nn.MultiheadAttention(embed_dim, num_heads, dropout=dropout, batch_first=True)
        self.norm1 = nn.LayerNorm(embed_dim)
        self.mlp = Mlp(embed_dim, int(embed_dim * mlp_ratio), act_layer=nn.GELU, drop=dropout)
        self.norm2 = nn.LayerNorm(embed_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, L, E) -> (B, L, E)."""
        attended, _ = self.attn(x, x, x, need_weights=False)
        x = x + self.norm1(attended)
        return x + self.norm2(self.mlp(x))


class CrossAttentionFusion(nn.Module):
    """Feature fusion: ``FE = LN(MHA(Q=H_LS, K=V=H_main)) + H_LS``.

    The query is the luminous (Critic) sequence and the key/value the Main-Stream
    (LIFT) sequence, so the output has the luminous sequence's length and, per
    position, mixes Main-Stream tokens with weights set by the luminous token.

    Shapes: query (B, Lq, E), context (B, Lk, E) -> (B, Lq, E).
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        _check_heads(embed_dim, num_heads)
        self.attn = nn.MultiheadAttention(embed_dim, num_heads, dropout=dropout, batch_first=True)
        self.norm = nn.LayerNorm(embed_dim)

    def forward(self, query: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """query (B, Lq, E) luminous, context (B, Lk, E) main -> (B, Lq, E)."""
        attended, _ = self.attn(query, context, context, need_weights=False)
        return query + self.norm(attended)


class FourierEnhancement(nn.Module):
    """Fourier Enhancement (FoE): an MLP on the 2D spectrum of the token sequence.

    1. ``S = FFT2(x)`` over (sequence, embedding), orthonormal scaling.
    2. ``Z = [Re S, Im S]`` (B, L, 2E): the MLP sees real and imaginary parts.
    3. ``Z = Z + LN(MLP(Z))``: residual and LayerNorm (norm on the branch, as in
       the other LIFT-Net modules).
    4. ``y = Re(IFFT2(Z_re + i Z_im))``: back to real features.

    When the MLP outputs zeros (the spectral update is the identity) the block
    returns its input, up to floating-point round-off of the FFT pair.
    Computed in float32 whatever the input dtype (the FFT needs it under autocast).

    Args:
        embed_dim: E.
        mlp_ratio: Hidden width of the spectral MLP as a multiple of 2E.
        dropout: Dropout inside the MLP.

    Shapes: (B, L, E) -> (B, L, E).
    """

    def __init__(self, embed_dim: int, mlp_ratio: float = 1.0, dropout: float = 0.0) -> None:
        super().__init__()
        width = 2 * embed_dim
        self.embed_dim = embed_dim
        self.mlp = Mlp(width, max(1, int(width * mlp_ratio)), act_layer=nn.GELU, drop=dropout)
        self.norm = nn.LayerNorm(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, L, E) -> (B, L, E)."""
        dtype = x.dtype
        e = x.shape[-1]
        spectrum = torch.fft.fft2(x.float(), dim=(-2, -1), norm="ortho")
        z = torch.cat([spectrum.real, spectrum.imag], dim=-1)
        z = z + self.norm(self.mlp(z)).float()  # float32 even if autocast ran the MLP in half
        out = torch.fft.ifft2(torch.complex(z[..., :e], z[..., e:]), dim=(-2, -1), norm="ortho")
        return out.real.to(dtype)


def init_branch_norms(module: nn.Module, gain: float) -> None:
    """Set the weight of every residual branch's LayerNorm (``x + LN(f(x))``) to ``gain``.

    The papers leave initialisation open. PyTorch's default (1) makes every branch
    add a unit-variance term from the first step, which buries the incoming features
    under random ones after a few blocks; 0 makes each block the identity at first
    (as zero-initialised residual branches do in ResNets and LayerScale does in
    CaiT), so the fused sequence starts as the luminous features and the branches
    grow in as they learn.
    """
    for sub in module.modules():
        if isinstance(sub, nn.LayerNorm) and sub.elementwise_affine:
            nn.init.constant_(sub.weight, gain)


class LiftBlock(nn.Module):
    """One LIFT + Critic + Fusion repetition (LIFT-Net stacks N of them).

    ::

        main (B,T,E) ──► LIFT ─────────────┐ key/value
                                           ▼
        lum  (B,T,E) ──► Critic ──┬──► cross-attention ──► LN ──(+)──► FoE ──► main'
                                  │      (query)                ▲
                                  └─────────────────────────────┘ (residual H_LS)
                                  └──────────────────────────────────────────► lum'

    ``forward(main, luminous) -> (main', luminous')``: the fused features carry on
    down the Main-Stream, the Critic output feeds the next block's Critic.
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        mlp_ratio: float = 4.0,
        fourier_mlp_ratio: float = 1.0,
        dropout: float = 0.0,
        branch_init: float = 1.0,
    ) -> None:
        super().__init__()
        self.lift = LiftModule(embed_dim, num_heads, dropout)
        self.critic = CriticModule(embed_dim, num_heads, mlp_ratio, dropout)
        self.fusion = CrossAttentionFusion(embed_dim, num_heads, dropout)
        self.fourier = FourierEnhancement(embed_dim, fourier_mlp_ratio, dropout)
        if branch_init != 1.0:
            init_branch_norms(self, branch_init)

    def forward(
        self, main: torch.Tensor, luminous: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """main (B, T, E), luminous (B, T, E) -> (fused main (B, T, E), luminous (B, T, E))."""
        main = self.lift(main)
        luminous = self.critic(luminous)
        fused = self.fourier(self.fusion(luminous, main))
        return fused, luminous
