"""Cold `har predict` of one short video: a model folder and the registry, against `import torch`.

    python -m bench.predict [--model models/student] [--video V.mp4] [--repeats 3]
                            [--no-registry]

1. Wall time and peak memory of fresh processes, best and median of ``--repeats``:
   the baseline ``python -c "import torch"`` (what any PyTorch command pays), then
   ``har predict VIDEO --model FOLDER`` (target <= 4 s) and ``har predict VIDEO
   --model models:/har-bench@champion`` from an MLflow store made here in a temporary
   folder by logging the same model (target <= 6 s).
2. Where a cold local predict's time goes, in a fresh process with perf_counter around
   each phase of the code ``har predict`` runs (:mod:`components.inference`): imports
   (torch; the har inference modules and the model zoo: timm, torchvision), model
   load (build + weights), decode
   (:func:`~components.inference.records.decode_video`), represent
   (:func:`~components.inference.records.represent_frames`), forward
   (:func:`~components.inference.scoring.score_records` of each part: clips, model,
   softmax), then the predictor's whole ``score`` of the same video again (what a
   warm server pays per video).

Without ``--model`` a tiny LIFT-Net is built here (untrained: its weights do not
change the time; 32x32 gamma clips, made from synthetic videos: nothing is
downloaded); without ``--video`` a synthetic one is written.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._common import report

#: Synthetic videos of the tiny model and the default video (the demo's kind: dark).
DATASET = {"groups": 2, "clips_per_group": 1, "test_groups": 1, "num_frames": 24,
           "height": 48, "width": 64, "lighting": "dark", "seed": 3}
PARAMS = "represent:\n  height: 32\n  width: 32\n  workers: 1\n  gamma: {gamma: 2.0}\n"
#: A LIFT-Net small enough to build in a second (as in the inference tests).
TINY_LIFT = {"vit_name": "vit_tiny_patch16_224", "vit_blocks": 2, "trainable_vit_blocks": 1,
             "depth": 1, "embed_dim": 32, "num_heads": 2,
             "vit_kwargs": {"embed_dim": 32, "num_heads": 2}}
REGISTERED = "har-bench"


def tiny_model(root: Path) -> tuple[Path, Path]:
    """(an untrained tiny LIFT-Net folder as ``har train`` writes it, a video)."""
    import torch

    from components.cli import main as har
    from components.data.synthetic import SynthConfig, write_dataset
    from components.data.video import write_video
    from components.jobs.config import StudentConfig
    from components.models.folder import write_model
    from components.training import DataPaths, TrainRequest, TrainSettings
    from components.training.driver import prepare_training
    from components.training.finish import _model_info
    from components.training.session import build_model

    videos = root / "videos"
    videos.mkdir(parents=True)
    write_dataset(SynthConfig(**DATASET), videos,
                  lambda p, f, fps, crf: write_video(p, f, fps=fps, crf=crf))
    params = root / "params.yaml"
    params.write_text(PARAMS)
    ingest, represent = root / "data" / "ingest", root / "data" / "represent"
    assert har(["ingest", "--params", str(params), "--root", str(videos), "--format", "ucf101",
                "--out", str(ingest)]) == 0
    for kind in ("frames", "gamma"):  # LIFT-Net's two inputs
        assert har(["represent", "--params", str(params), "--kind", kind, "--manifest",
                    str(ingest / "manifest.csv"), "--out", str(represent / kind),
                    "--workers", "1"]) == 0
    cfg = StudentConfig(clip_len=4, eval_clips=2, input="gamma", kd=False, height=32, width=32,
                        batch_size=2, epochs=1, model_kwargs=dict(TINY_LIFT))
    settings = TrainSettings(num_workers=1, cpus_per_worker=1, models_file=None,
                             storage_path=str(root / "ray"), experiment="bench",
                             val_fraction=0.0)
    prepared = prepare_training(TrainRequest(job="student", config=cfg, settings=settings,
                                             data=DataPaths(ingest, represent), repo_root=root,
                                             outputs=None), total_cpus=1)
    torch.manual_seed(0)
    folder = root / "models" / "student"
    write_model(folder, build_model(prepared.plan.model).state_dict(), _model_info(prepared))
    return folder, next(videos.glob("*/*.mp4"))


def register(folder: Path, root: Path) -> str:
    """Log ``folder`` as a video model into a new store ``root/mlflow.db``; its URI."""
    import mlflow

    from components.tracking import promote_if_better, setup_tracking, training_run
    from components.tracking.video_model import log_video_model

    setup_tracking(root, "bench")
    with training_run("bench-predict", experiment="bench"):
        version = log_video_model({"model": folder}, registered_model_name=REGISTERED)
        promote_if_better(REGISTERED, version.version, metric_name="test/top1",
                          metric_value=1.0, dataset_key="bench")
    mlflow.set_tracking_uri(None)
    return f"models:/{REGISTERED}@champion"


#: Times one command in a process of its own (a fork of this big process would report
#: this process's peak memory as the child's): prints {"seconds", "peak_mb", "code"}.
_LAUNCHER = """
import json, os, subprocess, sys, time
started = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(proc.pid, 0)
print(json.dumps({"seconds": time.perf_counter() - started, "peak_mb": usage.ru_maxrss / 1024,
                  "code": os.waitstatus_to_exitcode(status)}))
"""


def cold(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, peak resident MB) of ``cmd`` in one fresh process."""
    done = subprocess.run([sys.executable, "-c", _LAUNCHER, *cmd], cwd=cwd, env=env,
                          capture_output=True, text=True, check=False)
    result = json.loads(done.stdout.strip().splitlines()[-1]) if done.stdout.strip() else {}
    if result.get("code") != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-3000:]}")
    return result["seconds"], result["peak_mb"]


def phases(model: str, video: Path) -> dict[str, float]:
    """Seconds of each phase of a cold local predict, in this (fresh) process: the
    predictor's own steps (decode, represent, score each part) called one by one."""
    clock = time.perf_counter
    seconds: dict[str, float] = {}
    start = clock()
    import torch  # noqa: F401

    seconds["import torch"] = clock() - start
    mark = clock()
    from components.data.decoding import DecodeSpec
    from components.inference.loading import load_model_folder
    from components.inference.records import decode_video, represent_frames
    from components.inference.scoring import score_records
    from components.models._registry import import_builders

    import_builders()  # every model module: timm, torchvision
    seconds["import har + model zoo"] = clock() - mark
    mark = clock()
    predictor = load_model_folder(model)
    seconds["model load"] = clock() - mark
    key = str(video)
    wanted = [(kind, params) for part in predictor.parts.values()
              for kind, params in part.representations.items()]
    mark = clock()
    frames = {}
    for _, params in wanted:
        setting = DecodeSpec.from_json(params)
        if setting not in frames:
            frames[setting] = decode_video(video, params)[0]
    seconds["decode"] = clock() - mark
    mark = clock()
    records = {}
    for kind, params in wanted:
        name = (kind, json.dumps(params, sort_keys=True))
        if name not in records:
            setting = DecodeSpec.from_json(params)
            records[name] = represent_frames(video, kind, frames[setting], params, key)
    seconds["represent"] = clock() - mark
    mark = clock()
    for part in predictor.parts.values():
        mine = {kind: records[(kind, json.dumps(p, sort_keys=True))]
                for kind, p in part.representations.items()}
        score_records(part, mine, key, video)
    seconds["forward"] = clock() - mark
    seconds["total"] = sum(seconds.values())
    mark = clock()
    predictor.score(video)  # all of it again, warm: what a server pays per video
    seconds["warm score, same process"] = clock() - mark
    return seconds


def _summary(times: list[float]) -> str:
    return f"best {min(times):.2f} s, median {statistics.median(times):.2f} s"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="a trained model folder (default: a tiny "
                        "LIFT-Net made here)")
    parser.add_argument("--video", type=Path, help="the video (default: a synthetic one)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-registry", action="store_true",
                        help="skip the models:/ URI (logging the model takes a while)")
    parser.add_argument("--phases", nargs=2, metavar=("MODEL", "VIDEO"),
                        help=argparse.SUPPRESS)  # the child of part 2
    args = parser.parse_args(argv)
    if args.phases:
        print(json.dumps(phases(args.phases[0], Path(args.phases[1]))))
        return
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env.setdefault("OMP_NUM_THREADS", "1")
    har = shutil.which("har") or ""
    har_cmd = [har] if har else [sys.executable, "-m", "components.cli"]
    with tempfile.TemporaryDirectory(prefix="bench-predict-") as tmp:
        root = Path(tmp)
        model, video = args.model, args.video
        if model is None:
            model, made_video = tiny_model(root / "tiny")
            video = video or made_video
        elif video is None:
            from components.data.synthetic import SynthConfig, VideoSpec, render_video
            from components.data.video import write_video

            cfg = SynthConfig(**DATASET)
            video = root / "v.mp4"
            write_video(video, render_video(cfg, VideoSpec("Fall", 1, 1)), fps=cfg.fps,
                        crf=cfg.crf)
        model, video = model.resolve(), video.resolve()
        commands: list[tuple[str, list[str], Path]] = [
            ("python -c 'import torch'", [sys.executable, "-c", "import torch"], root),
            ("har predict --model FOLDER", [*har_cmd, "predict", str(video), "--model",
                                            str(model)], root),
        ]
        if not args.no_registry:
            store = root / "store"
            store.mkdir()
            uri = register(model, store)
            commands.append(("har predict --model models:/", [*har_cmd, "predict", str(video),
                                                              "--model", uri], store))
        print(f"model {model}, video {video.name}; {os.cpu_count()} CPU(s), OMP_NUM_THREADS="
              f"{env['OMP_NUM_THREADS']}; load average {os.getloadavg()[0]:.2f}")
        results: dict[str, list[tuple[float, float]]] = {name: [] for name, _, _ in commands}
        for _ in range(args.repeats):  # interleaved: load drifts hit every command alike
            for name, cmd, cwd in commands:
                results[name].append(cold(cmd, cwd, env))
        rows = [(name, min(t for t, _ in runs), "s") for name, runs in results.items()]
        report(f"cold process, best of {args.repeats}", rows, "python -c 'import torch'")
        for name, runs in results.items():
            print(f"{name}: {_summary([t for t, _ in runs])}, peak "
                  f"{max(m for _, m in runs):.0f} MB resident")
        print("targets: model folder <= 4 s, registry <= 6 s (absolute, on an idle machine)")

        split = [json.loads(subprocess.run(
            [sys.executable, "-m", "bench.predict", "--phases", str(model), str(video)],
            env=env, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])
            for _ in range(args.repeats)]
        best = min(split, key=lambda s: s["total"])
        names = [n for n in best if n != "total"]
        report("cold local predict in one process, by phase (the fastest run)",
               [(n, best[n], "s") for n in names], "import torch")
        totals = ", ".join(f"{s['total']:.2f}" for s in split)
        print(f"phases total {best['total']:.2f} s (runs: {totals} s); load average "
              f"{os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
