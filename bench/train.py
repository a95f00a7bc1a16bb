"""One training epoch through Ray Train (one worker) against the same epoch in a plain loop.

    python -m bench.train [--seconds 30] [--size 64] [--model mobilenetv2_100]
    python -m bench.train --learning [--jobs ...] [--no-paper]   # see bench/learning.py
    python -m bench.train --fixed-cost [--stages 2]   # a stage's own Ray vs a shared head

Both sides run :func:`components.training.epoch.train_one_epoch` on the same
synthetic MEI shards (the motion-stream job) with the same model, batch and
thread count. The plain loop builds the session in this process; the Ray side
runs the production ``TorchTrainer`` (``components.training.driver.fit``: one
worker holding every CPU, the real ``train_loop_per_worker``) for two epochs. The
best epoch of each side is compared: load from other processes only slows an
epoch down, so the best is the fairest estimate on a shared machine.

Printed, as samples per second and as ratios to the plain loop:

* ``ray worker, in-epoch``: the epoch as timed inside the Ray worker: what Ray
  costs while an epoch runs (DDP wrapper, loader wrapper, worker process).
  Target: within 10 % of the plain loop for an epoch of 30 s or more.
* ``ray fit, end to end``: the epochs' samples over the wall time of
  ``TorchTrainer.fit`` (worker start-up, evaluation of a few videos, checkpoint
  upload and the controller's bookkeeping included): the fixed cost, amortised
  over two epochs.

The epoch is sized from a short calibration so that the plain loop takes about
``--seconds``. Then the hours of one epoch over UCF101 and ARID (every video,
``ITEMS_PER_VIDEO`` MEIs each) at the Ray worker's rate, scaled by pixel count to
the papers' 224x224 input, on 1 to 8 workers (:mod:`bench.scale`).

``--fixed-cost``: what a training stage pays besides its epochs, as a pipeline
run pays it per stage. Each stage is a fresh process (imports, Ray, one two-epoch
``fit`` on tiny shards) timed from its start to its exit; minus the epochs' own
seconds that is its fixed cost. Measured first with the stage's own local Ray,
then ``--stages`` times attached to one head started for them
(:mod:`components.ray_head`, ``RAY_ADDRESS``: what ``make demo`` and the Prefect
flow do), whose start-up is printed apart (paid once per run). Target: <= 8 s
per attached stage.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench._common import report
from bench.scale import print_projection
from components.data.manifest import ManifestRow, write_classes, write_manifest
from components.data.shards import ShardWriter

ITEMS_PER_VIDEO = 8
CLASSES = 4
#: The papers' input size, that the epoch projections scale to.
PAPER_SIZE = 224


def write_shards(root: Path, videos: int, size: int, test_videos: int = 4) -> None:
    """Random MEI shards (and the manifest) for ``videos`` training videos."""
    rng = np.random.default_rng(0)
    ingest, mei = root / "ingest", root / "represent" / "mei"
    ingest.mkdir(parents=True, exist_ok=True)
    rows, records = [], []
    for i in range(videos + test_videos):
        label = i % CLASSES
        split = "train" if i < videos else "test"
        key = f"C{label}/v_C{label}_g{i:04d}_c01.mp4"
        rows.append(ManifestRow(key, f"C{label}", label, split, 40, 20.0, size, size, 2.0,
                                "h264", "yuv420p"))
        records.append((key, label, split))
    write_manifest(ingest / "manifest.csv", rows)
    write_classes(ingest / "classes.txt", [f"C{c}" for c in range(CLASSES)])
    (ingest / "dataset.json").write_text(json.dumps({"root": "bench", "format": "folder",
                                                     "split": 1, "list_files": []}))
    base = list(range(4, 4 + 5 * ITEMS_PER_VIDEO, 5))
    with ShardWriter(mei, kind="mei", params={"height": size, "width": size}) as writer:
        for key, label, split in records:
            array = rng.integers(0, 256, (ITEMS_PER_VIDEO, size, size, 3), dtype=np.uint8)
            writer.add(key, array, meta={"label_index": label, "split": split,
                                         "positions": base, "base_positions": base})


def make_request(root: Path, args: argparse.Namespace, cpus: int):  # noqa: ANN201
    from components.jobs.config import StreamConfig
    from components.training import DataPaths, TrainRequest, TrainSettings

    cfg = StreamConfig(model=args.model, input="mei", height=args.size, width=args.size,
                       epochs=2, batch_size=args.batch_size)
    settings = TrainSettings(num_workers=1, cpus_per_worker=cpus, models_file=None,
                             storage_path=str(root / "ray"), max_failures=0, log_model=False)
    return TrainRequest(job="motion", config=cfg, settings=settings,
                        data=DataPaths(root / "ingest", root / "represent"), outputs=None,
                        repo_root=root, register=False)


def plain_epoch(prepared, max_steps: int | None = None) -> tuple[int, float]:  # noqa: ANN001
    """(samples, seconds) of one epoch in this process, as the worker would run it."""
    import torch
    from torch.utils.data import DataLoader, DistributedSampler

    from components.training.epoch import train_one_epoch
    from components.training.session import build_session, seed_everything

    plan = prepared.plan
    torch.set_num_threads(plan.threads)
    seed_everything(plan.settings.seed)
    session = build_session(plan, torch.device("cpu"))
    sampler = DistributedSampler(session.train_set, num_replicas=1, rank=0, shuffle=True,
                                 seed=plan.settings.seed)
    loader = DataLoader(session.train_set, batch_size=plan.config.batch_size, sampler=sampler,
                        drop_last=True)
    session.train_set.set_epoch(1)
    sampler.set_epoch(1)
    stats = train_one_epoch(session.model, loader, session.optimizer, session.task, epoch=1,
                            device=torch.device("cpu"), augment=plan.config.augment,
                            max_steps=max_steps)
    return stats.samples, stats.seconds


def stage_child(root: Path, args: argparse.Namespace) -> None:
    """One training stage in this process (``--child ROOT``): print its epochs' seconds."""
    from components.training.checkpoint import read_checkpoint_meta
    from components.training.driver import cluster_cpus, ensure_ray, fit, prepare_training

    imported = time.time()
    ensure_ray(int(os.environ.get("BENCH_CPUS", "0")) or None)
    joined = time.time()
    cpus = cluster_cpus()
    result = fit(prepare_training(make_request(root, args, cpus), total_cpus=cpus))
    history = read_checkpoint_meta(Path(result.checkpoint.path))["history"]
    print(json.dumps({"epoch_seconds": sum(float(h["epoch_seconds"]) for h in history),
                      "imported": imported, "joined": joined,
                      "first_step": float(history[0]["time"]) - float(history[0]["epoch_seconds"]),
                      "last_epoch_end": float(history[-1]["time"])}))


def timed_stage(root: Path, args: argparse.Namespace, env: dict[str, str]) -> dict[str, float]:
    """One stage's seconds: ``wall`` (process start to exit), ``epochs`` (inside them),
    ``imports`` (start to Ray), ``ray`` (ray.init / joining), ``to_first_step`` (start
    to the first training step), ``after`` (end of the last epoch to exit)."""
    import shutil

    shutil.rmtree(root / "ray", ignore_errors=True)  # a fresh run, not a resumed one
    cmd = [sys.executable, "-m", "bench.train", "--child", str(root), "--size", str(args.size),
           "--model", args.model, "--batch-size", str(args.batch_size)]
    started = time.time()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    ended = time.time()
    if done.returncode != 0:
        raise SystemExit(f"stage failed ({done.returncode}):\n{done.stderr[-3000:]}")
    child = json.loads(done.stdout.strip().splitlines()[-1])
    return {"wall": ended - started, "epochs": child["epoch_seconds"],
            "imports": child["imported"] - started, "ray": child["joined"] - child["imported"],
            "to_first_step": child["first_step"] - started,
            "after": ended - child["last_epoch_end"]}


def fixed_cost(args: argparse.Namespace) -> None:
    """A training stage's fixed cost: its own Ray vs attached to one shared head."""
    from components.ray_head import local_ray_head

    cpus = os.cpu_count() or 1
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env.update(OMP_NUM_THREADS=env.get("OMP_NUM_THREADS", "1"), RAY_USAGE_STATS_ENABLED="0",
               BENCH_CPUS=str(cpus))
    with tempfile.TemporaryDirectory(prefix="bench-fixed-") as tmp:
        root = Path(tmp)
        write_shards(root, videos=8, size=args.size, test_videos=2)
        own = timed_stage(root, args, env)
        started = time.perf_counter()
        with local_ray_head(cpus) as head:
            head_s = time.perf_counter() - started
            attached = [timed_stage(root, args, {**env, **head.env})
                        for _ in range(args.stages)]
    stages = [("own Ray", own)] + [(f"attached, stage {i + 1}", t) for i, t in enumerate(attached)]
    report("fixed cost of one training stage (wall minus epochs)",
           [(name, t["wall"] - t["epochs"], "s") for name, t in stages], "own Ray")
    report("start of the stage's process to its first training step",
           [(name, t["to_first_step"], "s") for name, t in stages], "own Ray")
    for name, t in stages:
        print(f"{name}: {t['wall']:.1f} s wall = imports {t['imports']:.1f} + Ray "
              f"{t['ray']:.1f} + to first step {t['to_first_step'] - t['imports'] - t['ray']:.1f}"
              f" + epochs and between them {t['wall'] - t['to_first_step'] - t['after']:.1f} "
              f"(in epochs {t['epochs']:.1f}) + after the last epoch {t['after']:.1f}")
    print(f"the shared head took {head_s:.1f} s to start (once per pipeline run); "
          f"target <= 8 s fixed cost per attached stage, {cpus} CPU(s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="target plain epoch length")
    parser.add_argument("--size", type=int, default=64, help="image size (the demo's 64)")
    parser.add_argument("--model", default="mobilenetv2_100")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--learning", action="store_true",
                        help="instead: how fast each demo model learns (bench.learning; "
                             "run after make demo)")
    parser.add_argument("--fixed-cost", action="store_true",
                        help="instead: a training stage's fixed cost, own Ray vs a shared head")
    parser.add_argument("--stages", type=int, default=2,
                        help="--fixed-cost: stages run attached to the one head")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    from bench import learning

    learning.add_arguments(parser)
    args = parser.parse_args()
    if args.learning:
        learning.run(args)
        return
    if args.child is not None:
        stage_child(args.child, args)
        return
    if args.fixed_cost:
        fixed_cost(args)
        return

    from components.training.driver import ensure_ray, fit, prepare_training

    cpus = os.cpu_count() or 1
    os.environ.setdefault("OMP_NUM_THREADS", str(cpus))
    with tempfile.TemporaryDirectory(prefix="bench-train-") as tmp:
        root = Path(tmp)
        # Calibrate: time a few steps to size an epoch of about --seconds.
        write_shards(root / "calib", videos=16, size=args.size)
        calib = prepare_training(make_request(root / "calib", args, cpus), total_cpus=cpus)
        plain_epoch(calib, max_steps=2)  # warm-up
        samples, seconds = plain_epoch(calib, max_steps=6)
        # A busy moment during calibration would make the epoch far too short: floor it.
        videos = max(64, math.ceil(args.seconds * samples / seconds / ITEMS_PER_VIDEO))
        write_shards(root / "run", videos=videos, size=args.size)
        prepared = prepare_training(make_request(root / "run", args, cpus), total_cpus=cpus)
        print(f"{videos * ITEMS_PER_VIDEO} samples per epoch ({args.model}, {args.size}x"
              f"{args.size}, batch {args.batch_size}), {cpus} CPU thread(s)")

        # Best of two epochs on each side (plain before and after Ray; two epochs in one
        # fit): other load on the machine only ever slows an epoch down.
        from components.training.checkpoint import read_checkpoint_meta

        plain = [plain_epoch(prepared)]
        ensure_ray(cpus)
        started = time.perf_counter()
        result = fit(prepared)
        fit_seconds = time.perf_counter() - started
        plain.append(plain_epoch(prepared))
        history = read_checkpoint_meta(Path(result.checkpoint.path))["history"]
        plain_rates = [samples / seconds for samples, seconds in plain]
        ray_rates = [float(h["train/samples_per_s"]) for h in history]
        ray_samples = sum(float(h["train/samples"]) for h in history)
        rows = [
            ("plain loop", max(plain_rates), "samples/s"),
            ("ray worker, in-epoch", max(ray_rates), "samples/s"),
            ("ray fit, end to end", ray_samples / fit_seconds, "samples/s"),
        ]
        report("one training epoch: Ray Train (1 worker) vs plain loop", rows, "plain loop")
        overhead = 1.0 - max(ray_rates) / max(plain_rates)
        outside = fit_seconds - sum(float(h["epoch_seconds"]) for h in history)
        print(f"epochs of {plain[0][0]} samples; plain "
              f"{', '.join(f'{r:.1f}' for r in plain_rates)} samples/s, Ray worker "
              f"{', '.join(f'{r:.1f}' for r in ray_rates)} samples/s (best of each compared)")
        print(f"Ray in-epoch overhead {overhead:+.1%} (target <= 10% for epochs of 30 s or more); "
              f"TorchTrainer.fit {fit_seconds:.1f} s for {len(history)} epochs, of which "
              f"{outside:.1f} s outside the epochs (start-up, checkpoints, shutdown)")
        print_projection(
            f"one epoch of {args.model} on {ITEMS_PER_VIDEO} MEIs per video", "samples",
            max(ray_rates), (args.size, args.size),
            lambda ds: ds.videos * ITEMS_PER_VIDEO, input_hw=(PAPER_SIZE, PAPER_SIZE),
            efficiency_source="assumed linear: Ray Train data-parallel, one worker per core "
            "or machine")


if __name__ == "__main__":
    main()
