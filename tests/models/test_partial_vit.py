"""The Partial ViT: CLS tokens, trainable blocks, and loading a full ViT checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest
import timm
import torch

from components.models import PartialViT, load_pretrained

VIT = "vit_tiny_patch16_224"
NARROW = {"embed_dim": 64, "num_heads": 2}


def _trainable_names(model: PartialViT) -> set[str]:
    return {n for n, p in model.named_parameters() if p.requires_grad}


def test_returns_one_cls_token_per_image() -> None:
    vit = PartialViT(VIT, img_size=32, vit_blocks=2, **NARROW).eval()
    with torch.no_grad():
        out = vit(torch.randn(6, 3, 32, 32))
    assert out.shape == (6, 64)
    assert len(vit.vit.blocks) == 2 and vit.full_depth == 12


@pytest.mark.parametrize(
    ("trainable", "expected_prefixes"),
    [
        (0, set()),
        (1, {"vit.blocks.0."}),
        (2, {"vit.blocks.0.", "vit.blocks.1."}),
    ],
)
def test_only_the_first_blocks_train(trainable: int, expected_prefixes: set[str]) -> None:
    vit = PartialViT(VIT, img_size=32, vit_blocks=3, trainable_blocks=trainable, **NARROW)
    names = _trainable_names(vit)
    assert {n for n in names if not n.startswith(tuple(expected_prefixes))} == set()
    for prefix in expected_prefixes:
        assert any(n.startswith(prefix) for n in names)
    assert "vit.pos_embed" not in names and "vit.cls_token" not in names


def test_all_trains_everything() -> None:
    vit = PartialViT(VIT, img_size=32, vit_blocks=2, trainable_blocks="all", **NARROW)
    assert _trainable_names(vit) == {n for n, _ in vit.named_parameters()}


@pytest.mark.parametrize("bad", [-1, 3, "some", True])
def test_bad_trainable_blocks_are_refused(bad) -> None:
    with pytest.raises(ValueError, match="trainable_vit_blocks"):
        PartialViT(VIT, img_size=32, vit_blocks=2, trainable_blocks=bad, **NARROW)


def test_vit_blocks_cannot_exceed_the_vit_depth() -> None:
    with pytest.raises(ValueError, match=r"vit_blocks must be in \[1, 12\]"):
        PartialViT(VIT, img_size=32, vit_blocks=13, **NARROW)


def test_loads_a_full_vit_checkpoint_at_another_image_size(tmp_path: Path) -> None:
    # A "pretrained" full ViT at 48x48 (3x3 grid, 4 blocks, with head and final norm).
    full = timm.create_model(VIT, pretrained=False, num_classes=7, img_size=48, depth=4, **NARROW)
    path = tmp_path / "vit_in21k.pth"
    torch.save(full.state_dict(), path)

    partial = PartialViT(VIT, img_size=32, vit_blocks=2, **NARROW)  # 2x2 grid, 2 blocks
    report = load_pretrained(partial, path)

    assert report.ok and not report.missing
    assert "vit.pos_embed" in report.loaded and partial.vit.pos_embed.shape == (1, 5, 64)
    assert {
        "blocks.2.attn.qkv.weight",
        "blocks.3.mlp.fc2.bias",
        "norm.weight",
        "head.weight",
    } <= set(report.ignored)
    assert any("pos_embed resampled" in n for n in report.notes)
    torch.testing.assert_close(
        partial.vit.blocks[1].attn.qkv.weight, full.blocks[1].attn.qkv.weight
    )
    torch.testing.assert_close(partial.vit.cls_token, full.cls_token)
    # Loading keeps the trainable / frozen split.
    assert _trainable_names(partial) == {
        n for n, _ in partial.named_parameters() if n.startswith("vit.blocks.0.")
    }
