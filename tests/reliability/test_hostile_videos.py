"""Hostile video containers: every PyAV call at every probe depth gives the file a reason,
never raises out, and `har ingest` over a split that lists them writes its manifest.

The containers are made here with PyAV: H.264 streams with no frame in AVI and MP4,
an empty Matroska file, a raw H.264 elementary stream (no index: it cannot seek), and
an MJPEG AVI whose frames declare 40000x40000 pixels.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
import pytest

from components.cli import main
from components.data.manifest import read_manifest
from components.data.sampling import ClipSampling
from components.data.video import VideoError, decode_frames, probe

DEPTHS = ("header", "packets", "decode")


def _no_frames(fmt: str) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        with av.open(str(path), "w", format=fmt) as container:
            stream = container.add_stream("libx264", rate=10)
            stream.width, stream.height, stream.pix_fmt = 16, 16, "yuv420p"
            container.start_encoding()  # the header, then close without a frame
    return write


def _frames(path: Path, fmt: str, codec: str, count: int = 5, size: int = 16) -> None:
    with av.open(str(path), "w", format=fmt) as container:
        stream = container.add_stream(codec, rate=10)
        stream.width = stream.height = size
        stream.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
        for i in range(count):
            frame = av.VideoFrame.from_ndarray(np.full((size, size, 3), 20 * i, np.uint8),
                                               format="rgb24").reformat(format=stream.pix_fmt)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def _raw_h264(path: Path) -> None:
    _frames(path, "h264", "libx264")


def _huge_mjpeg(path: Path) -> None:
    _frames(path, "avi", "mjpeg")
    data = bytearray(path.read_bytes())
    at = data.find(b"\xff\xc0")  # each JPEG's start-of-frame: length, precision, h, w
    while at >= 0:
        struct.pack_into(">HH", data, at + 5, 40000, 40000)
        at = data.find(b"\xff\xc0", at + 2)
    path.write_bytes(bytes(data))


HOSTILE: dict[str, Callable[[Path], None]] = {
    "no_frames.avi": _no_frames("avi"),
    "no_frames.mp4": _no_frames("mp4"),
    "no_frames.mkv": _no_frames("matroska"),
    "huge_frames.avi": _huge_mjpeg,
}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("hostile")
    paths = {}
    for name, write in {**HOSTILE, "raw.h264": _raw_h264}.items():
        write(root / name)
        paths[name] = root / name
    return paths


#: The header depth trusts the container by design: the AVI header of the huge file says
#: 16x16 (its JPEG frames say otherwise), so only reading packets or decoding finds out.
HEADER_PASSES = {"huge_frames.avi"}


@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize("name", list(HOSTILE))
def test_probe_gives_a_reason_at_every_depth(hostile: dict[str, Path], name: str,
                                             depth: str) -> None:
    if depth == "header" and name in HEADER_PASSES:
        assert probe(hostile[name], "header").width == 16
        return
    with pytest.raises(VideoError) as caught:
        probe(hostile[name], depth)  # type: ignore[arg-type]
    assert caught.value.path == hostile[name] and caught.value.reason


@pytest.mark.parametrize("sampling", [None, ClipSampling(strategy="stride", clip_len=4)])
@pytest.mark.parametrize("name", list(HOSTILE))
def test_decode_returns_a_reason_and_no_frames(hostile: dict[str, Path], name: str,
                                               sampling: ClipSampling | None) -> None:
    for size in (None, (8, 8)):
        result = decode_frames(hostile[name], size=size, sampling=sampling)
        assert result.error and len(result.frames) == 0, (name, size, result.error)


def test_no_frames_says_so(hostile: dict[str, Path]) -> None:
    with pytest.raises(VideoError, match="no frames"):
        probe(hostile["no_frames.avi"], "packets")


def test_a_stream_that_cannot_seek_is_read_again_not_refused(hostile: dict[str, Path]) -> None:
    # A raw H.264 stream has no index: seeking back fails, so the file is opened again.
    assert probe(hostile["raw.h264"], "packets").num_frames == 5
    assert probe(hostile["raw.h264"], "decode").num_frames == 5
    with pytest.raises(VideoError, match="header declares no frames"):
        probe(hostile["raw.h264"], "header")
    clip = decode_frames(hostile["raw.h264"], size=(8, 8),
                         sampling=ClipSampling(strategy="stride", clip_len=4))
    assert clip.ok and clip.frames.shape == (4, 8, 8, 3)


@pytest.mark.parametrize("depth", DEPTHS)
def test_ingest_quarantines_hostile_files_and_writes_the_manifest(
        empty_params: Path, tiny_synth_dataset: Path, tmp_path: Path, depth: str) -> None:
    root = tiny_synth_dataset
    listed, refused = [], []
    for name, write in HOSTILE.items():
        relative = f"Rise/v_Rise_g09_{name.replace('.', '_')}{Path(name).suffix}"
        write(root / relative)
        listed.append(relative)
        if not (depth == "header" and name in HEADER_PASSES):
            refused.append(relative)
    with (root / "trainlist01.txt").open("a") as handle:
        handle.writelines(f"{relative} 1\n" for relative in listed)
    out = tmp_path / "ingest"
    assert main(["ingest", "--params", str(empty_params), "--root", str(root),
                 "--format", "ucf101", "--probe", depth, "--out", str(out)]) == 0
    assert read_manifest(out / "manifest.csv")  # the good videos were kept
    quarantine = (out / "quarantine.csv").read_text()
    assert all(relative in quarantine for relative in refused), quarantine
