"""Probe throughput of `har ingest` against a bare PyAV loop on the same files.

    python -m bench.ingest [--videos-per-class N] [--repeats R]

Baseline: ``av.open`` plus the video stream's metadata (frames, rate, size,
codec) for every file, nothing else. `har ingest` additionally parses the
split lists, demuxes every packet (exact frame count, truncation check),
decodes the first frame, and writes the manifest atomically; the ratio says
what that costs. Also compares probe depths and worker counts.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import av

from bench._common import best_of, report
from components.cli import main as har
from components.data.synthetic import SynthConfig, write_dataset
from components.data.video import write_video


def bare_probe(paths: list[Path]) -> None:
    for path in paths:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            _ = (stream.frames, stream.average_rate, stream.codec_context.width,
                 stream.codec_context.height, stream.codec_context.name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=10, help="groups per class (x3 clips)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "dataset"
        root.mkdir()
        cfg = SynthConfig(groups=args.groups, test_groups=2, clips_per_group=3,
                          lighting="daylight", height=240, width=320, num_frames=60)
        specs = write_dataset(cfg, root, lambda p, f, fps, crf: write_video(p, f, fps=fps,
                                                                           crf=crf))
        paths = [root / s.relpath for s in specs]
        n = len(paths)
        print(f"{n} videos of {cfg.num_frames} frames at {cfg.width}x{cfg.height} (H.264)")
        out = Path(tmp) / "ingest"
        none = Path(tmp) / "no-params.yaml"
        none.write_text("")  # built-in defaults: the flags say the rest

        def ingest(depth: str, workers: int):
            def _run() -> None:
                code = har(["ingest", "--params", str(none), "--root", str(root), "--format",
                            "ucf101", "--probe", depth, "--workers", str(workers),
                            "--out", str(out)])
                assert code == 0
            return _run

        rows = [("bare av.open + metadata", n / best_of(lambda: bare_probe(paths),
                                                       args.repeats)[0], "videos/s")]
        for depth in ("header", "packets", "decode"):
            for workers in (1, 2):
                seconds = best_of(ingest(depth, workers), args.repeats)[0]
                rows.append((f"har ingest --probe {depth} --workers {workers}", n / seconds,
                             "videos/s"))
        report("ingest probe throughput", rows, baseline="bare av.open + metadata")


if __name__ == "__main__":
    main()
