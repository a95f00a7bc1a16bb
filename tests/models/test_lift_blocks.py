"""LIFT, Critic, cross-attention fusion and Fourier Enhancement."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from components.models import (
    CriticModule,
    CrossAttentionFusion,
    FourierEnhancement,
    LiftBlock,
    LiftModule,
)

E, HEADS = 16, 2


def _manual_cross_attention(fusion: CrossAttentionFusion, query, context) -> torch.Tensor:
    """LN(MHA(Q=query, K=V=context)) + query, written out from the module's weights."""
    attn = fusion.attn
    w_q, w_k, w_v = attn.in_proj_weight.chunk(3)
    b_q, b_k, b_v = attn.in_proj_bias.chunk(3)
    q = F.linear(query, w_q, b_q)
    k = F.linear(context, w_k, b_k)
    v = F.linear(context, w_v, b_v)
    b, lq, _ = q.shape
    d = E // HEADS

    def heads(x: torch.Tensor) -> torch.Tensor:
        return x.view(b, -1, HEADS, d).transpose(1, 2)  # (B, heads, L, d)

    weights = (heads(q) @ heads(k).transpose(-2, -1) / math.sqrt(d)).softmax(dim=-1)
    mixed = (weights @ heads(v)).transpose(1, 2).reshape(b, lq, E)
    out = F.linear(mixed, attn.out_proj.weight, attn.out_proj.bias)
    return query + fusion.norm(out)


@pytest.mark.parametrize("cls", [LiftModule, CriticModule])
def test_self_attention_modules_keep_the_shape(cls) -> None:
    x = torch.randn(2, 5, E)
    assert cls(E, HEADS)(x).shape == (2, 5, E)


def test_fusion_query_comes_from_the_luminous_input() -> None:
    fusion = CrossAttentionFusion(E, HEADS).eval()
    main = torch.randn(2, 4, E)
    for lum_len in (3, 4, 6):
        lum = torch.randn(2, lum_len, E)
        with torch.no_grad():
            out = fusion(lum, main)
            expected = _manual_cross_attention(fusion, lum, main)
        assert out.shape == (2, lum_len, E)  # the output length is the query's
        torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)


def test_fusion_changes_with_both_inputs_but_only_the_query_sets_the_length() -> None:
    fusion = CrossAttentionFusion(E, HEADS).eval()
    lum, main = torch.randn(1, 3, E), torch.randn(1, 4, E)
    with torch.no_grad():
        base = fusion(lum, main)
        other_main = fusion(lum, torch.randn(1, 7, E))
        other_lum = fusion(torch.randn(1, 3, E), main)
    assert other_main.shape == base.shape
    assert not torch.allclose(other_main, base)
    assert not torch.allclose(other_lum, base)


def test_foe_with_an_identity_spectral_update_returns_its_input() -> None:
    foe = FourierEnhancement(E)
    with torch.no_grad():  # MLP outputs zeros: Z + LN(MLP(Z)) == Z
        foe.mlp.fc2.weight.zero_()
        foe.mlp.fc2.bias.zero_()
    x = torch.randn(2, 5, E)
    torch.testing.assert_close(foe(x), x, rtol=1e-5, atol=1e-5)


def test_foe_mlp_sees_the_2d_spectrum_and_changes_the_features() -> None:
    foe = FourierEnhancement(E)
    seen = {}
    foe.mlp.register_forward_hook(lambda m, inputs, out: seen.setdefault("z", inputs[0]))
    x = torch.randn(2, 5, E)
    out = foe(x)
    spectrum = torch.fft.fft2(x, dim=(-2, -1), norm="ortho")
    torch.testing.assert_close(seen["z"], torch.cat([spectrum.real, spectrum.imag], dim=-1))
    assert out.shape == x.shape and out.dtype == x.dtype
    assert not torch.allclose(out, x)


def test_lift_block_keeps_both_sequences() -> None:
    block = LiftBlock(E, HEADS)
    main, lum = torch.randn(2, 4, E), torch.randn(2, 4, E)
    fused, lum_out = block(main, lum)
    assert fused.shape == (2, 4, E) and lum_out.shape == (2, 4, E)


def test_heads_must_divide_the_width() -> None:
    with pytest.raises(ValueError, match="multiple of num_heads"):
        LiftModule(10, 3)
