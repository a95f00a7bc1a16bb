"""Representation throughput: MEI + gamma against decode-only, each flow method, Ray vs one process.

    python -m bench.represent [--groups G] [--size 224] [--repeats R]

1. Frames per second of decode + MEI + gamma against decode alone, same videos,
   same frame size (target: MEI and gamma add at most 25% to decode-only time).
2. Frames per second of each optical-flow method on decoded frames (RAFT only with
   ``--raft-weights`` and a GPU; on the CPU it is listed for completeness).
3. The `har represent --kind mei` stage with 2 Ray workers against 1 process
   (target on 2 cores: at least 1.6 times faster).
4. Projected hours of section 1's decode + MEI + gamma over UCF101 and ARID, on
   1 to 8 workers whose added efficiency is section 3's (:mod:`bench.scale`).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from bench._common import best_of, report
from bench.scale import efficiency_from, print_projection
from components.cli import main as har
from components.data.synthetic import SynthConfig, write_dataset
from components.data.video import decode_frames, write_video
from components.representations import gamma_correct, motion_embedded_images, optical_flow


def _dataset(root: Path, groups: int) -> list[Path]:
    cfg = SynthConfig(groups=groups, test_groups=1, clips_per_group=3, lighting="daylight",
                      height=240, width=320, num_frames=60)
    specs = write_dataset(cfg, root, lambda p, f, fps, crf: write_video(p, f, fps=fps, crf=crf))
    return [root / s.relpath for s in specs]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=6, help="groups per class (x3 clips)")
    parser.add_argument("--size", type=int, default=224, help="representation frame size")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--flow-videos", type=int, default=4)
    parser.add_argument("--raft-weights", type=Path)
    parser.add_argument("--ray-groups", type=int, default=24,
                        help="groups per class of the Ray comparison's dataset")
    args = parser.parse_args()
    size = (args.size, args.size)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "dataset"
        root.mkdir()
        paths = _dataset(root, args.groups)
        frames_total = sum(len(decode_frames(p, size=size).frames) for p in paths)
        print(f"{len(paths)} videos, {frames_total} frames, 320x240 H.264 -> {size[1]}x{size[0]}")

        def decode_only() -> None:
            for p in paths:
                decode_frames(p, size=size)

        def decode_mei_gamma() -> None:
            for p in paths:
                frames = decode_frames(p, size=size).frames
                motion_embedded_images(frames, 10, 5, "gradient")
                gamma_correct(frames, 3.0)

        t_decode = best_of(decode_only, args.repeats)[0]
        t_both = best_of(decode_mei_gamma, args.repeats)[0]
        report("MEI (n=10, interval=5) + gamma vs decode only", [
            ("decode only", frames_total / t_decode, "frames/s"),
            ("decode + MEI + gamma", frames_total / t_both, "frames/s"),
        ], baseline="decode only")
        print(f"MEI + gamma add {100 * (t_both / t_decode - 1):.1f}% to decode time "
              "(target: at most 25%)")

        clips = [decode_frames(p, size=size).frames for p in paths[: args.flow_videos]]
        n_pairs = sum(len(c) - 1 for c in clips)
        rows = []
        methods = ["dis", "farneback", "tvl1"] + (["raft"] if args.raft_weights else [])
        for method in methods:
            kwargs = {"raft_weights": args.raft_weights,
                      "device": "cuda" if method == "raft" else "cpu"}
            start = time.perf_counter()
            for clip in clips:
                optical_flow(clip, method, 20.0, **kwargs)
            rows.append((f"flow {method}", n_pairs / (time.perf_counter() - start), "pairs/s"))
        report(f"optical flow at {size[1]}x{size[0]}", rows, baseline="flow dis")

        # Ray vs one process needs more work than the sections above: Ray's fixed
        # start-up (about 5-10 s here) must be small against the job.
        big = Path(tmp) / "big"
        big.mkdir()
        big_paths = _dataset(big, args.ray_groups)
        big_frames = len(big_paths) * 60
        manifest_dir = Path(tmp) / "ingest"
        none = Path(tmp) / "none.yaml"
        none.write_text("")  # built-in defaults: the flags say the rest
        assert har(["ingest", "--params", str(none), "--root", str(big), "--format", "ucf101",
                    "--out", str(manifest_dir)]) == 0

        def stage(workers: int):
            def _run() -> None:
                code = har(["represent", "--params", str(none), "--kind", "mei",
                            "--manifest", str(manifest_dir / "manifest.csv"),
                            "--height", str(args.size), "--width", str(args.size),
                            "--workers", str(workers), "--out", str(Path(tmp) / "mei")])
                assert code == 0
            return _run

        import ray

        os.environ.pop("RAY_ADDRESS", None)
        t_one = best_of(stage(1), 1)[0]
        t_cold = best_of(stage(2), 1)[0]  # starts Ray itself
        ray.shutdown()
        start = time.perf_counter()
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        t_init = time.perf_counter() - start
        t_warm = best_of(stage(2), 1)[0]  # Ray already up, as in a cluster or a long pipeline
        ray.shutdown()
        report(f"har represent --kind mei, {len(big_paths)} videos, {os.cpu_count()} cores", [
            ("1 process", big_frames / t_one, "frames/s"),
            ("2 Ray workers, incl. ray.init", big_frames / t_cold, "frames/s"),
            ("2 Ray workers, Ray running", big_frames / t_warm, "frames/s"),
        ], baseline="1 process")
        print(f"ray.init alone: {t_init:.1f} s; target: 2 Ray workers at least 1.6x one process")
        print_projection(
            "decode + MEI + gamma of a whole dataset", "frames", frames_total / t_both,
            (240, 320), lambda ds: ds.frames,
            efficiency=efficiency_from(big_frames / t_one, big_frames / t_warm),
            efficiency_source="measured above: 2 Ray workers, Ray running, vs 1 process")


if __name__ == "__main__":
    main()
