"""Builders shared by the inference, video-model and ``har predict`` tests.

* :func:`synthetic_shards`: a synthetic dataset of real H.264 files, ingested and
  represented (``har ingest`` / ``har represent``) at 32x32.
* :func:`write_untrained`: a randomly initialised model of a job, saved the way
  ``har train`` saves it (``model.pt`` + the driver's ``model.json``).
* :func:`train_motion_stream`: a motion stream (the demo's small CNN on dynamic images)
  trained for real with the plain epoch loop (no Ray), for tests that need a model
  that knows its classes.

Nothing is written into the repository.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

#: represent at 32x32; MEIs of 4 frames every 2; gamma fixed (auto would still be exact).
PARAMS = """
represent:
  height: 32
  width: 32
  workers: 1
  mei: {n: 4, interval: 2, method: gradient}
  gamma: {gamma: 2.0}
"""

#: A LIFT-Net small enough for CPU tests at 32x32 frames.
TINY_LIFT_KWARGS: dict[str, Any] = {
    "vit_name": "vit_tiny_patch16_224", "vit_blocks": 2, "trainable_vit_blocks": 1,
    "depth": 1, "embed_dim": 32, "num_heads": 2, "vit_kwargs": {"embed_dim": 32, "num_heads": 2},
}


@dataclass(frozen=True)
class Shards:
    """A represented synthetic dataset."""

    root: Path  # the repo-like root (params.yaml, data/)
    videos: Path  # the dataset root (UCF101 layout)
    ingest: Path
    represent: Path
    params: Path


def write_synthetic(root: Path, **config: Any) -> Path:
    """Write a synthetic dataset (``SynthConfig(**config)``) under ``root``."""
    from components.data.synthetic import SynthConfig, write_dataset
    from components.data.video import write_video

    root.mkdir(parents=True, exist_ok=True)
    write_dataset(SynthConfig(**config), root,
                  lambda p, f, fps, crf: write_video(p, f, fps=fps, crf=crf))
    return root


def write_one_video(path: Path, label: str, **config: Any) -> Path:
    """One synthetic video of class ``label`` (the first group's first clip)."""
    from components.data.synthetic import SynthConfig, VideoSpec, render_video
    from components.data.video import write_video

    cfg = SynthConfig(**config)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_video(path, render_video(cfg, VideoSpec(label, 1, 1)), fps=cfg.fps, crf=cfg.crf)
    return path


def synthetic_shards(root: Path, kinds: tuple[str, ...] = ("frames", "gamma", "mei"),
                     params: str = PARAMS, **config: Any) -> Shards:
    """Synthetic videos, ``har ingest`` and ``har represent --kind K`` for each kind
    (``params``: the params.yaml text)."""
    from components.cli import main

    root = root.resolve()
    videos = write_synthetic(root / "synthetic", **config)
    params_file = root / "params.yaml"
    params_file.write_text(params)
    ingest, represent = root / "data" / "ingest", root / "data" / "represent"
    assert main(["ingest", "--params", str(params_file), "--root", str(videos),
                 "--format", "ucf101", "--out", str(ingest)]) == 0
    for kind in kinds:
        assert main(["represent", "--params", str(params_file), "--kind", kind, "--manifest",
                     str(ingest / "manifest.csv"), "--out", str(represent / kind),
                     "--workers", "1"]) == 0
    return Shards(root, videos, ingest, represent, params_file)


def job_config(job: str, **overrides: Any) -> Any:
    """A config of ``job`` for 32x32 inputs."""
    from components.jobs.config import StreamConfig, StudentConfig, TeacherConfig

    common: dict[str, Any] = {"height": 32, "width": 32, "batch_size": 2, "epochs": 1}
    if job == "teacher":
        cfg: Any = TeacherConfig(clip_len=4, eval_clips=2, input="gamma", **common)
    elif job == "student":
        cfg = StudentConfig(clip_len=4, eval_clips=2, input="gamma", kd=False,
                            model_kwargs=dict(TINY_LIFT_KWARGS), **common)
    elif job == "normal":
        cfg = StreamConfig(input="frames", base_of="mei", **common)
    else:
        cfg = StreamConfig(input="mei", **common)
    return dataclasses.replace(cfg, **overrides)


def prepare(job: str, shards: Shards, cfg: Any, outputs: Any = None) -> Any:
    """``prepare_training`` of ``job`` over ``shards`` (no Ray, no MLflow)."""
    from components.training import DataPaths, TrainRequest, TrainSettings
    from components.training.driver import prepare_training

    settings = TrainSettings(num_workers=1, cpus_per_worker=1, models_file=None,
                             storage_path=str(shards.root / "ray"), experiment="har-tests",
                             val_fraction=0.0)
    request = TrainRequest(job=job, config=cfg, settings=settings,
                           data=DataPaths(shards.ingest, shards.represent),
                           repo_root=shards.root, outputs=outputs)
    return prepare_training(request, total_cpus=1)


def write_trained(folder: Path, prepared: Any, state_dict: Any) -> Path:
    """Save a model the way ``har train`` does: ``model.pt`` + the driver's model.json."""
    from components.models.folder import write_model
    from components.training.finish import _model_info

    write_model(folder, state_dict, _model_info(prepared))
    return folder


def write_untrained(folder: Path, job: str, shards: Shards, seed: int = 0,
                    **overrides: Any) -> Path:
    """A randomly initialised model of ``job`` saved as a trained model folder."""
    import torch

    from components.training.session import build_model

    prepared = prepare(job, shards, job_config(job, **overrides))
    torch.manual_seed(seed)
    model = build_model(prepared.plan.model)
    return write_trained(folder, prepared, model.state_dict())


#: Dynamic images (rank pooling) of 6 frames every 2 for the motion stream.
MOTION_PARAMS = """
represent:
  height: 32
  width: 32
  workers: 1
  rank: {window: 6, stride: 2}
"""

#: Infrared videos whose classes differ by the direction of horizontal motion only.
MOTION_DATASET: dict[str, Any] = {
    "classes": ("MoveLeft", "MoveRight"), "groups": 8, "clips_per_group": 2,
    "test_groups": 1, "num_frames": 10, "height": 48, "width": 64, "lighting": "infrared",
    "seed": 11,
}


def train_motion_stream(root: Path, folder: Path, epochs: int = 8, seed: int = 0,
                        kind: str = "rank", lr: float = 1e-3, model: str = "small_cnn"
                        ) -> tuple[Path, dict[str, float]]:
    """Train a motion stream for real, as a Ray worker would but in this process
    (:func:`components.training.local.fit_locally`: precise BatchNorm, the warm-up
    cosine schedule): the demo's small CNN on the dynamic images of infrared
    MoveLeft vs MoveRight (28 training videos, 3 images each), with label-aware
    flips (a flipped MoveLeft is a MoveRight). About 10 s on one CPU thread;
    measured: 16 of 16 fresh videos (8 new seeds) right.

    Returns:
        (the trained model folder, {"train_top1", "test_top1"} of the last epoch).
    """
    from components.jobs.config import AugmentConfig
    from components.training.local import fit_locally

    shards = synthetic_shards(root, kinds=(kind,), params=MOTION_PARAMS, **MOTION_DATASET)
    flips = AugmentConfig(flip=0.5, flip_pairs=(("MoveLeft", "MoveRight"),))
    cfg = job_config("motion", model=model, input=kind, epochs=epochs, batch_size=16, lr=lr,
                     augment=flips)
    prepared = prepare("motion", shards, cfg)
    session = fit_locally(dataclasses.replace(
        prepared.plan, settings=dataclasses.replace(prepared.plan.settings, seed=seed)))
    write_trained(folder, prepared, session.model.state_dict())
    assert session.final is not None
    return folder, {"train_top1": float(session.history[-1]["train/top1"]),
                    "test_top1": float(session.final["metrics"]["test/top1"])}


def probs_close(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.allclose(a, b, rtol=1e-5, atol=1e-6))
