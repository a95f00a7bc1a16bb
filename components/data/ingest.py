"""Probe every listed video of a dataset split and sort it into usable or quarantined."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from components.data.formats import VIDEO_EXTENSIONS, DatasetSplit, SplitEntry
from components.data.lighting import video_luma
from components.data.manifest import ManifestRow, QuarantineRow
from components.data.paths import REFUSED_OUTSIDE, resolve_inside
from components.data.video import ProbeDepth, VideoError, VideoInfo, probe

ProgressWrapper = Callable[[Iterator[object], int], Iterable[object]]


@dataclass(frozen=True)
class IngestResult:
    """Outcome of probing one dataset split.

    Attributes:
        rows: usable videos, in list order.
        quarantined: unusable listed videos with their reasons, in list order.
        unlisted: video files under the root that no list mentions (ignored).
    """

    rows: tuple[ManifestRow, ...]
    quarantined: tuple[QuarantineRow, ...]
    unlisted: int




def _probe_entry(root: Path, entry: SplitEntry, depth: ProbeDepth,
                 luminance: bool) -> tuple[VideoInfo, float | None] | str:
    """The video's info and mean luma (None: not measured or nothing decoded), or why
    it is unusable."""
    path = resolve_inside(root, entry.path)
    if path is None:
        return REFUSED_OUTSIDE
    try:
        info = probe(path, depth=depth)
    except VideoError as exc:
        return exc.reason
    return info, video_luma(path, info.num_frames) if luminance else None


def count_unlisted(root: Path, listed: Iterable[str]) -> int:
    """Video files under ``root`` that the split lists do not mention."""
    listed_set = {p.replace("\\", "/") for p in listed}
    count = 0
    for path in root.rglob("*"):
        if path.suffix.lower() in VIDEO_EXTENSIONS and path.is_file():
            rel = path.relative_to(root).as_posix()
            if rel not in listed_set and not any(part.startswith(".") for part in Path(rel).parts):
                count += 1
    return count


def ingest_split(
    split: DatasetSplit,
    root: Path,
    *,
    depth: ProbeDepth = "packets",
    workers: int = 2,
    progress: ProgressWrapper | None = None,
    luminance: bool = True,
) -> IngestResult:
    """Probe every entry of ``split`` (in parallel threads; PyAV releases the GIL
    while demuxing) and keep list order in the results, whatever the worker count.

    With ``luminance``, each usable video's mean luma is measured on a few decoded
    frames (``components.data.lighting.video_luma``) for the manifest.
    """
    entries = split.entries
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results: Iterable[tuple[VideoInfo, float | None] | str] = pool.map(
            lambda e: _probe_entry(root, e, depth, luminance), entries
        )
        if progress is not None:
            results = progress(iter(results), len(entries))  # type: ignore[assignment]
        outcomes = list(results)
    rows: list[ManifestRow] = []
    quarantined: list[QuarantineRow] = []
    for entry, outcome in zip(entries, outcomes, strict=True):
        if isinstance(outcome, str):
            quarantined.append(QuarantineRow(entry.path, outcome))
            continue
        info, luma = outcome
        rows.append(
            ManifestRow(
                path=entry.path,
                label=entry.label,
                label_index=entry.label_index,
                split=entry.split,
                num_frames=info.num_frames,
                fps=info.fps,
                width=info.width,
                height=info.height,
                duration_s=info.duration_s,
                codec=info.codec,
                pix_fmt=info.pix_fmt,
                luminance=None if luma is None else round(luma, 4),
            )
        )
    unlisted = count_unlisted(root, (e.path for e in entries))
    return IngestResult(tuple(rows), tuple(quarantined), unlisted)
