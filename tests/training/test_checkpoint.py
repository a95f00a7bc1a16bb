"""Checkpoints: contents, fingerprint refusal, the unwrapped model's state, the latest one."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from components.training.checkpoint import (
    CheckpointMismatchError,
    capture_rng_state,
    checkpoint_dir_name,
    latest_checkpoint,
    load_checkpoint,
    make_fingerprint,
    read_checkpoint_meta,
    restore_rng_state,
    save_checkpoint,
)

CONFIG = {"job": "teacher", "train_teacher": {"lr": 0.001, "epochs": 3}}


def _fingerprint(**changes):  # noqa: ANN202
    config = json.loads(json.dumps(CONFIG))
    config["train_teacher"].update(changes)
    return make_fingerprint(config, manifest_sha256="m" * 64, model="r2plus1d_18",
                            inputs={"shards.gamma": "g" * 64})


def _save(directory: Path, fingerprint, epoch: int = 1) -> nn.Module:  # noqa: ANN001
    directory.mkdir(parents=True, exist_ok=True)
    model = nn.Linear(3, 2)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model(torch.randn(4, 3)).sum().backward()
    opt.step()
    save_checkpoint(directory, fingerprint=fingerprint, job="teacher", model_name="r2plus1d_18",
                    epoch=epoch, state={
                        "model": model.state_dict(), "optimizer": opt.state_dict(),
                        "epoch": epoch, "rng": [capture_rng_state()],
                        "history": [{"epoch": 1.0, "train/loss": 0.5}],
                    })
    return model


def test_round_trip_with_weights_only_load(tmp_path: Path) -> None:
    fp = _fingerprint()
    model = _save(tmp_path / "ckpt", fp)
    state = load_checkpoint(tmp_path / "ckpt", fp)
    torch.testing.assert_close(state["model"]["weight"], model.state_dict()["weight"])
    assert state["epoch"] == 1 and "state" in state["optimizer"]
    meta = read_checkpoint_meta(tmp_path / "ckpt")
    assert meta["epoch"] == 1 and meta["history"][0]["train/loss"] == 0.5


def test_a_checkpoint_of_another_config_is_refused_naming_the_difference(tmp_path: Path) -> None:
    _save(tmp_path / "ckpt", _fingerprint())
    with pytest.raises(CheckpointMismatchError, match=r"train_teacher\.lr.*0\.001.*0\.0005"):
        load_checkpoint(tmp_path / "ckpt", _fingerprint(lr=0.0005))


def test_a_checkpoint_of_other_data_is_refused(tmp_path: Path) -> None:
    _save(tmp_path / "ckpt", _fingerprint())
    other = make_fingerprint(CONFIG, manifest_sha256="x" * 64, model="r2plus1d_18",
                             inputs={"shards.gamma": "g" * 64})
    with pytest.raises(CheckpointMismatchError, match="manifest differs"):
        load_checkpoint(tmp_path / "ckpt", other)


def test_ddp_prefixed_state_is_refused(tmp_path: Path) -> None:
    wrapped = {"module.weight": torch.zeros(2, 3)}
    with pytest.raises(ValueError, match="module."):
        save_checkpoint(tmp_path, fingerprint=_fingerprint(), job="teacher", model_name="m",
                        epoch=1, state={"model": wrapped})


def test_latest_checkpoint_follows_rays_snapshot(tmp_path: Path) -> None:
    fp = _fingerprint()
    for epoch in (1, 2):
        _save(tmp_path / checkpoint_dir_name(epoch), fp, epoch)
    assert latest_checkpoint(tmp_path) is None  # nothing registered yet
    snapshot = {"latest_checkpoint_result": {"checkpoint_dir_name": "epoch-0001"}}
    (tmp_path / "checkpoint_manager_snapshot.json").write_text(json.dumps(snapshot))
    assert latest_checkpoint(tmp_path) == tmp_path / "epoch-0001"


def test_rng_state_round_trip() -> None:
    state = capture_rng_state()
    expected = (random.random(), float(np.random.rand()), float(torch.rand(())))
    restore_rng_state(state)
    assert (random.random(), float(np.random.rand()), float(torch.rand(()))) == expected
