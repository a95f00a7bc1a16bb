"""Compute one frame representation for every video in the manifest and write shards.

``har represent --kind {frames,gamma,flow,mei,rank}`` decodes each usable video once
at the configured frame size, computes the representation
(``components.representations.kinds``) and writes all videos into a few large
shard files with an index (``components.data.shards``). Videos run in parallel as
Ray tasks (one per core by default; on a cluster when ``RAY_ADDRESS`` is set);
results are written in manifest order, so the shards are byte-identical whatever
the number of workers. A video that fails to decode, or fails part way, is listed
with its reason in ``<out>.failures.csv`` and skipped; the run goes on.
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from components.data.decoding import DecodeSpec
from components.ray_head import connect_ray
from components.representations.kinds import (
    KINDS,
    FlowParams,
    GammaParams,
    KindParams,
    MEIParams,
    RankParams,
    check_at_least,
)
from components.stages._common import add_params_flag, progress, stage_config

if TYPE_CHECKING:
    from components.data.manifest import ManifestRow, QuarantineRow
    from components.data.shards import ShardRecord

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RepresentConfig:
    """params.yaml ``represent:`` (shared by the kinds) and one sub-section per kind.

    Defaults are params.yaml's (``tests/test_params_defaults.py``).

    Attributes:
        height, width: frame size the videos are decoded to (pixels). LIFT-Net
            paper: 224 (the MEI paper is silent); the CPU demo uses 32.
        frame_stride: keep every k-th decoded frame (1 keeps all).
        max_frames: keep at most this many frames per video (0: no limit).
        workers: parallel Ray tasks; 1 runs in this process without Ray.
        thread_type: FFmpeg decoder threading (SLICE measured best on 2 cores).
        shard_size_mb: a new shard file starts past this size.
    """

    height: int = 32
    width: int = 32
    frame_stride: int = 1
    max_frames: int = 0
    workers: int = 2
    thread_type: Literal["SLICE", "FRAME", "AUTO", "NONE"] = "SLICE"
    shard_size_mb: int = 1024
    mei: MEIParams = field(default_factory=MEIParams)
    gamma: GammaParams = field(default_factory=GammaParams)
    flow: FlowParams = field(default_factory=FlowParams)
    rank: RankParams = field(default_factory=RankParams)

    def __post_init__(self) -> None:
        for key, minimum in (("height", 1), ("width", 1), ("frame_stride", 1),
                             ("max_frames", 0), ("workers", 1), ("shard_size_mb", 1)):
            check_at_least(key, getattr(self, key), minimum)
        if self.thread_type not in ("SLICE", "FRAME", "AUTO", "NONE"):
            raise ValueError(f"thread_type must be SLICE, FRAME, AUTO or NONE, "
                             f"got {self.thread_type!r}")

    @property
    def decode(self) -> DecodeSpec:
        """How the stage decodes each video (recorded in the shards for prediction)."""
        return DecodeSpec(self.height, self.width, self.frame_stride, self.max_frames)

    def kind_params(self) -> KindParams:
        """The kinds' parameters (``mei``, ``gamma``, ``flow``, ``rank``) as one value."""
        return KindParams(mei=self.mei, gamma=self.gamma, flow=self.flow, rank=self.rank)


@dataclass(frozen=True)
class VideoJob:
    """One manifest video to represent, in manifest order (``position``)."""

    position: int
    key: str
    path: str
    num_frames: int
    label_index: int
    split: str


@dataclass
class VideoOutcome:
    """A represented video (``array``, ``meta``), or why it failed (``error``)."""

    position: int
    key: str
    array: np.ndarray | None
    meta: dict[str, Any]
    error: str | None
    frames_decoded: int


def represent_video(job: VideoJob, kind: str, cfg: RepresentConfig) -> VideoOutcome:
    """Decode one video and compute ``kind``; errors come back as data, never raised."""
    from components.data.decoding import decode_for_representation
    from components.representations import RepresentationError
    from components.representations.kinds import compute

    decoded = decode_for_representation(job.path, cfg.decode, thread_type=cfg.thread_type,
                                        num_frames_hint=job.num_frames)
    if not decoded.ok:
        return VideoOutcome(job.position, job.key, None, {}, decoded.error, len(decoded.frames))
    try:
        array, meta = compute(kind, decoded.frames, cfg.kind_params())
    except RepresentationError as exc:
        return VideoOutcome(job.position, job.key, None, {}, str(exc), len(decoded.frames))
    meta = {
        "label_index": job.label_index,
        "split": job.split,
        "indices": [int(decoded.indices[p]) for p in meta["positions"]],
        **meta,
    }
    return VideoOutcome(job.position, job.key, array, meta, None, len(decoded.frames))


def _run_local(jobs: list[VideoJob], kind: str, cfg: RepresentConfig) -> Iterator[VideoOutcome]:
    for job in jobs:
        yield represent_video(job, kind, cfg)


def _run_ray(jobs: list[VideoJob], kind: str, cfg: RepresentConfig) -> Iterator[VideoOutcome]:
    """Ray tasks, one per video, at most ``2 * workers`` in flight (bounded memory)."""
    import ray

    connect_ray(cfg.workers, log_to_driver=False, include_dashboard=False)

    @ray.remote(num_cpus=1)
    def task(job: VideoJob) -> VideoOutcome:
        import cv2

        cv2.setNumThreads(1)  # one core per task; OpenCV would oversubscribe
        return represent_video(job, kind, cfg)

    slots = node_slots(ray.nodes())
    pending = list(reversed(jobs))
    in_flight: list[Any] = []
    limit = max(2 * cfg.workers, 2)
    while pending or in_flight:
        while pending and len(in_flight) < limit:
            job = pending.pop()
            in_flight.append(task.options(**_placement(slots, job.position)).remote(job))
        done, in_flight = ray.wait(in_flight, num_returns=1)
        yield ray.get(done[0])


def node_slots(nodes: list[dict[str, Any]]) -> list[str]:
    """The ids of the alive nodes of ``ray.nodes()``, each once per CPU it offers."""
    return [n["NodeID"] for n in nodes if n.get("Alive")
            for _ in range(int(n.get("Resources", {}).get("CPU", 0)))]


def _placement(slots: list[str], index: int) -> dict[str, Any]:
    """Ray options that deal video ``index`` to a node, in proportion to the nodes'
    CPUs, on a cluster of several nodes; Ray's default elsewhere. The default packs
    the driver's node first, where workers are warm while another node still starts
    its own: on two nodes a short run went 11:1, or all to one node."""
    if len(set(slots)) < 2:
        return {}
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    # soft: a node that is gone (or cannot fit the task) leaves it to the scheduler.
    return {"scheduling_strategy": NodeAffinitySchedulingStrategy(
        node_id=slots[index % len(slots)], soft=True)}


def configure(parser: argparse.ArgumentParser) -> None:
    add_params_flag(parser)
    parser.add_argument("--kind", choices=KINDS, required=True, help="representation to compute")
    parser.add_argument("--manifest", type=Path, default=Path("data/ingest/manifest.csv"))
    parser.add_argument("--root", type=Path,
                        help="dataset root (default: the one recorded by ingest)")
    parser.add_argument("--out", type=Path, help="shard folder (default: data/represent/KIND)")
    parser.add_argument("--workers", type=int, help="parallel tasks (1: no Ray)")
    parser.add_argument("--height", type=int)
    parser.add_argument("--width", type=int)


def run(args: argparse.Namespace) -> int:
    from components._atomic import write_text_atomic
    from components.data.manifest import (
        DATASET_FILE,
        read_dataset_info,
        read_manifest,
        write_quarantine,
    )

    cfg = stage_config(args, "represent", RepresentConfig, {
        "workers": args.workers, "height": args.height, "width": args.width,
    })
    kind: str = args.kind
    rows = read_manifest(args.manifest)
    root = args.root or Path(read_dataset_info(args.manifest.parent / DATASET_FILE)["root"])
    out: Path = args.out or Path("data/represent") / kind
    jobs, refused = _jobs_inside(root, rows)
    shard_params = {"kind_params": cfg.kind_params().to_json(kind), **cfg.decode.to_json()}
    started = time.monotonic()
    records, failures, frames_total = _write_shards(out, kind, cfg, jobs, shard_params)
    failures = refused + failures
    seconds = time.monotonic() - started
    failures.sort(key=lambda f: f.path)
    write_quarantine(out.with_name(f"{out.name}.failures.csv"), failures)
    summary = {
        "kind": kind, "videos": len(records), "failed": len(failures),
        "items": sum(r.items for r in records), "frames_decoded": frames_total,
        "seconds": round(seconds, 2),
        "frames_per_second": round(frames_total / seconds, 1) if seconds else 0.0,
    }
    import json

    write_text_atomic(out.with_name(f"{out.name}.json"),
                      json.dumps(summary, indent=2, sort_keys=True) + "\n")
    for failure in failures:
        log.warning("skipped %s: %s", failure.path, failure.reason)
    log.info("%s: %d videos, %d items in %s (%d failed) in %.1f s", kind, len(records),
             summary["items"], out, len(failures), seconds)
    if failures and not records:
        log.error("%s: every video failed (reasons in %s)", kind,
                  out.with_name(f"{out.name}.failures.csv"))
        return 1
    return 0


def _jobs_inside(root: Path, rows: list[ManifestRow]
                 ) -> tuple[list[VideoJob], list[QuarantineRow]]:
    """A job per manifest row inside the dataset root, and the rows refused.

    Rows are re-checked as ingest checked them: an edited manifest must not reach
    outside the dataset root (../, absolute paths, symlinks out).
    """
    from components.data.manifest import QuarantineRow
    from components.data.paths import REFUSED_OUTSIDE, resolve_inside

    jobs: list[VideoJob] = []
    refused: list[QuarantineRow] = []
    for r in rows:
        inside = resolve_inside(root, r.path)
        if inside is None:
            refused.append(QuarantineRow(r.path, REFUSED_OUTSIDE))
        else:
            jobs.append(VideoJob(len(jobs), r.path, str(inside), r.num_frames, r.label_index,
                                 r.split))
    return jobs, refused


def _write_shards(out: Path, kind: str, cfg: RepresentConfig, jobs: list[VideoJob],
                  shard_params: dict[str, Any]
                  ) -> tuple[list[ShardRecord], list[QuarantineRow], int]:
    """Run the jobs (Ray tasks, or in this process) and write their arrays in job order:
    the shard records, the videos that failed, and the frames decoded."""
    from components.data.manifest import QuarantineRow
    from components.data.shards import ReorderBuffer, ShardWriter

    failures: list[QuarantineRow] = []
    frames_total = 0
    runner = _run_ray if cfg.workers > 1 or os.environ.get("RAY_ADDRESS") else _run_local
    with ShardWriter(out, kind=kind, params=shard_params,
                     shard_size_bytes=cfg.shard_size_mb << 20) as writer:
        ordered = ReorderBuffer(writer)
        for outcome in progress(runner(jobs, kind, cfg), len(jobs), f"represent {kind}"):
            frames_total += outcome.frames_decoded
            if outcome.array is None:
                failures.append(QuarantineRow(outcome.key, outcome.error or "unknown error"))
                ordered.skip(outcome.position)
            else:
                ordered.put(outcome.position, outcome.key, outcome.array, outcome.meta)
        ordered.finish()
        records = writer.records
    return records, failures, frames_total
