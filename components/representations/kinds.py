"""The representation kinds a ``har represent`` stage can write, as pure functions.

Each kind maps one decoded clip, uint8 ``(T, H, W, 3)``, to the array stored for
that video, uint8 ``(K, H, W, C)``, plus per-item metadata. Item positions refer
to the decoded frame sequence, which is the same for every kind of a dataset
(same decoder settings), so positions agree across kinds:

* ``frames``: the clip itself; item p is frame p.
* ``gamma``: gamma-corrected frames; item p is frame p.
* ``flow``: optical flow, C = 2; item p is the flow from frame p to p + 1.
* ``mei``: motion embedded images; item k covers frames
  ``[k*interval, k*interval + n)`` and ``base_positions[k]`` is its last frame.
* ``rank``: rank-pooled dynamic images over windows; ``base_positions`` as for MEI.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from components.representations.flow import optical_flow
from components.representations.gamma import gamma_correct
from components.representations.mei import motion_embedded_images
from components.representations.rank_pool import rank_pooled_images

Kind = Literal["frames", "gamma", "flow", "mei", "rank"]
KINDS: tuple[str, ...] = ("frames", "gamma", "flow", "mei", "rank")


@dataclass(frozen=True)
class MEIParams:
    """MEI batches: ``n`` frames a batch, a new batch every ``interval`` frames.
    Paper: n = 10; interval 5 (SEAGS_V1) or 10 (UCF-101)."""

    n: int = 10
    interval: int = 10
    method: Literal["gradient", "equal"] = "gradient"


@dataclass(frozen=True)
class GammaParams:
    """Gamma intensity correction; ``gamma: auto`` picks gamma per clip so that the
    mean luminance reaches ``target_mean`` (0..1)."""

    gamma: float | Literal["auto"] = 3.0
    target_mean: float = 0.4


@dataclass(frozen=True)
class FlowParams:
    """Optical flow: ``tvl1`` (TSN-era fidelity, slow on CPU), ``farneback``, ``dis``
    (fast CPU default) or ``raft`` (GPU; weights from ``raft_weights``). Flow is
    clipped to +-``bound`` pixels and mapped linearly onto 0..255."""

    method: Literal["tvl1", "farneback", "dis", "raft"] = "dis"
    bound: float = 20.0
    raft_weights: str | None = None
    device: str = "cpu"


@dataclass(frozen=True)
class RankParams:
    """Approximate rank pooling over windows of ``window`` frames, ``stride`` apart."""

    window: int = 10
    stride: int = 10


@dataclass(frozen=True)
class KindParams:
    """Parameters of every kind (each stage uses its own)."""

    mei: MEIParams = field(default_factory=MEIParams)
    gamma: GammaParams = field(default_factory=GammaParams)
    flow: FlowParams = field(default_factory=FlowParams)
    rank: RankParams = field(default_factory=RankParams)


def channels_of(kind: str) -> int:
    return 2 if kind == "flow" else 3


def compute(kind: str, frames_thwc_uint8: np.ndarray, params: KindParams
            ) -> tuple[np.ndarray, dict[str, Any]]:
    """The stored array of ``kind`` for one clip, and its per-record metadata.

    Metadata always holds ``positions``: the decoded-frame position of each item
    (for flow, the first frame of the pair; for mei and rank, the base frame).
    """
    t = len(frames_thwc_uint8)
    if kind == "frames":
        return frames_thwc_uint8, {"positions": list(range(t))}
    if kind == "gamma":
        out = gamma_correct(frames_thwc_uint8, params.gamma.gamma,
                            target_mean=params.gamma.target_mean)
        return out, {"positions": list(range(t))}
    if kind == "flow":
        f = params.flow
        out = optical_flow(frames_thwc_uint8, f.method, f.bound, raft_weights=f.raft_weights,
                           device=f.device)
        return out, {"positions": list(range(t - 1))}
    if kind == "mei":
        m = params.mei
        meis, base = motion_embedded_images(frames_thwc_uint8, m.n, m.interval, m.method)
        return meis, {"positions": base.tolist(), "base_positions": base.tolist()}
    if kind == "rank":
        r = params.rank
        images = rank_pooled_images(frames_thwc_uint8, r.window, r.stride)
        size = min(r.window, t)
        base = [k * r.stride + size - 1 for k in range(len(images))]
        return images, {"positions": base, "base_positions": base}
    raise ValueError(f"unknown representation kind {kind!r}; known: {KINDS}")


def kind_params_dict(kind: str, params: KindParams) -> dict[str, Any]:
    """The parameters that determine ``kind``'s output (stored in shard metadata)."""
    from dataclasses import asdict

    return asdict(getattr(params, kind)) if kind in ("mei", "gamma", "flow", "rank") else {}
