"""The representation kinds a ``har represent`` stage can write, as pure functions.

Each kind maps one decoded clip, uint8 ``(T, H, W, 3)``, to the array stored for
that video, uint8 ``(K, H, W, C)``, plus per-item metadata. Item positions refer
to the decoded frame sequence, which is the same for every kind of a dataset
(same decoder settings), so positions agree across kinds:

* ``frames``: the clip itself; item p is frame p.
* ``gamma``: gamma-corrected frames; item p is frame p.
* ``flow``: optical flow, C = :data:`~components.representations.flow.FLOW_CHANNELS`
  (x, y); item p is the flow from frame p to p + 1.
* ``mei``: motion embedded images; item k covers frames
  ``[k*interval, k*interval + n)`` and ``base_positions[k]`` is its last frame.
* ``rank``: rank-pooled dynamic images over windows; ``base_positions`` as for MEI.

A kind's parameters are frozen dataclasses (:class:`MEIParams`, :class:`GammaParams`,
:class:`FlowParams`, :class:`RankParams`; all four in :class:`KindParams`), built from
params.yaml ``represent:`` by the stage. :meth:`KindParams.to_json` is what the
shards' ``meta.json`` (and from there a model's ``model.json``) records under
``kind_params``; :meth:`KindParams.from_json` reads it back at prediction. The
defaults are params.yaml's values (``tests/test_params_defaults.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Literal, TypeVar

import numpy as np

from components.representations.flow import DEFAULT_BOUND, FLOW_CHANNELS, optical_flow
from components.representations.gamma import gamma_correct
from components.representations.mei import motion_embedded_images
from components.representations.rank_pool import rank_pooled_images

Kind = Literal["frames", "gamma", "flow", "mei", "rank"]
KINDS: tuple[str, ...] = ("frames", "gamma", "flow", "mei", "rank")


#: Frames a motion image is made from: the decoded frames, or the gamma-corrected ones.
Source = Literal["frames", "gamma"]
SOURCES: tuple[str, ...] = ("frames", "gamma")


def check_at_least(key: str, value: object, minimum: int) -> None:
    """Refuse ``value`` unless it is an integer >= ``minimum``, naming ``key``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{key} must be an integer >= {minimum}, got {value!r}")


_P = TypeVar("_P", bound="_StoredParams")


class _StoredParams:
    """``to_json``/``from_json`` of one kind's frozen parameter dataclass.

    The JSON form holds every field under its name (scalars only), as the shards'
    ``meta.json`` records it.
    """

    #: Keys a stored spec may lack, with the value that makes what it made: a key added
    #: after specs were first written (older specs predate it). A key missing
    #: otherwise (a hand-written spec) takes the dataclass default.
    ABSENT_MEANS: ClassVar[Mapping[str, Any]] = {}
    #: Set by @dataclass on each subclass (declared for the type checker's ``fields``).
    __dataclass_fields__: ClassVar[dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        """Every field by name (what ``kind_params`` records)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_json(cls: type[_P], data: Mapping[str, Any]) -> _P:
        """The parameters a stored spec records (inverse of :meth:`to_json`).

        Raises:
            TypeError: an unknown key.
            ValueError: a value out of range.
        """
        return cls(**{**cls.ABSENT_MEANS, **data})


@dataclass(frozen=True)
class MEIParams(_StoredParams):
    """MEI batches: ``n`` frames a batch, a new batch every ``interval`` frames.
    Paper: n = 10; interval 5 (SEAGS_V1) or 10 (UCF-101); the defaults are
    params.yaml's (the demo's 16-frame videos: a batch every 2 frames).

    ``source``: ``frames`` (the paper, daylight video) or ``gamma``: the frames are
    gamma-corrected first (``represent.gamma``), so that a dark video's MEI shows
    the motion instead of sensor noise a few levels above black."""

    #: MEIs were made from the decoded frames before ``source`` existed.
    ABSENT_MEANS: ClassVar[Mapping[str, Any]] = {"source": "frames"}

    n: int = 10
    interval: int = 2
    method: Literal["gradient", "equal"] = "gradient"
    source: Source = "gamma"

    def __post_init__(self) -> None:
        check_at_least("mei.n", self.n, 1)
        check_at_least("mei.interval", self.interval, 1)
        if self.method not in ("gradient", "equal"):
            raise ValueError(f"mei.method must be gradient or equal, got {self.method!r}")
        if self.source not in SOURCES:
            raise ValueError(f"mei.source must be one of {SOURCES}, got {self.source!r}")


@dataclass(frozen=True)
class GammaParams(_StoredParams):
    """Gamma intensity correction; ``gamma: auto`` picks gamma per clip so that the
    mean luminance reaches ``target_mean`` (0..1)."""

    gamma: float | Literal["auto"] = 3.0
    target_mean: float = 0.4

    def __post_init__(self) -> None:
        if self.gamma != "auto" and not (isinstance(self.gamma, int | float)
                                         and float(self.gamma) > 0):
            raise ValueError(f"gamma.gamma must be a number > 0 or 'auto', got {self.gamma!r}")
        if not 0 < self.target_mean < 1:
            raise ValueError(f"gamma.target_mean must be in (0, 1), got {self.target_mean!r}")


@dataclass(frozen=True)
class FlowParams(_StoredParams):
    """Optical flow: ``tvl1`` (TSN-era fidelity, slow on CPU), ``farneback``, ``dis``
    (fast CPU default) or ``raft`` (GPU; weights from ``raft_weights``). Flow is
    clipped to +-``bound`` pixels and mapped linearly onto 0..255."""

    method: Literal["tvl1", "farneback", "dis", "raft"] = "dis"
    bound: float = DEFAULT_BOUND
    raft_weights: str | None = None
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.method not in ("tvl1", "farneback", "dis", "raft"):
            raise ValueError(f"flow.method must be tvl1, farneback, dis or raft, "
                             f"got {self.method!r}")
        if not self.bound > 0:
            raise ValueError(f"flow.bound must be > 0 pixels, got {self.bound!r}")


@dataclass(frozen=True)
class RankParams(_StoredParams):
    """Approximate rank pooling over windows of ``window`` frames, ``stride`` apart;
    ``source`` as for :class:`MEIParams`."""

    #: Dynamic images were made from the decoded frames before ``source`` existed.
    ABSENT_MEANS: ClassVar[Mapping[str, Any]] = {"source": "frames"}

    window: int = 10
    stride: int = 2
    source: Source = "gamma"

    def __post_init__(self) -> None:
        check_at_least("rank.window", self.window, 2)  # a ranking needs two frames
        check_at_least("rank.stride", self.stride, 1)
        if self.source not in SOURCES:
            raise ValueError(f"rank.source must be one of {SOURCES}, got {self.source!r}")


#: The kinds with parameters, and their classes.
_PARAMS_OF: dict[str, type[_StoredParams]] = {
    "mei": MEIParams, "gamma": GammaParams, "flow": FlowParams, "rank": RankParams}
#: The kinds made from a choice of frames (``source``): with ``gamma``, the gamma
#: parameters are recorded with them.
_SOURCED = ("mei", "rank")


@dataclass(frozen=True)
class KindParams:
    """Parameters of every kind (each stage uses its own)."""

    mei: MEIParams = field(default_factory=MEIParams)
    gamma: GammaParams = field(default_factory=GammaParams)
    flow: FlowParams = field(default_factory=FlowParams)
    rank: RankParams = field(default_factory=RankParams)

    def to_json(self, kind: str) -> dict[str, Any]:
        """The parameters that determine ``kind``'s output (the shards' ``kind_params``).

        A motion image made from gamma-corrected frames also records the gamma
        parameters, under ``gamma``; a kind without parameters records ``{}``.
        """
        if kind not in _PARAMS_OF:
            return {}
        own: _StoredParams = getattr(self, kind)
        data = own.to_json()
        if kind in _SOURCED and data["source"] == "gamma":
            data["gamma"] = self.gamma.to_json()
        return data

    @classmethod
    def from_json(cls, kind: str, data: Mapping[str, Any]) -> KindParams:
        """Inverse of :meth:`to_json`: the parameters that make ``kind`` (the other
        kinds' are the defaults).

        Raises:
            TypeError: an unknown key.
            ValueError: a value out of range.
        """
        if kind not in _PARAMS_OF:
            return cls()
        own = dict(data)
        gamma = own.pop("gamma", None) if kind in _SOURCED else None
        parts: dict[str, Any] = {kind: _PARAMS_OF[kind].from_json(own)}
        if gamma is not None:
            parts["gamma"] = GammaParams.from_json(gamma)
        return cls(**parts)


#: Channels of one frame of each kind: optical flow is (dx, dy); the rest are RGB.
KIND_CHANNELS: dict[str, int] = {"frames": 3, "gamma": 3, "flow": FLOW_CHANNELS, "mei": 3,
                                 "rank": 3}


def channels_of(kind: str) -> int:
    """Channels of one frame of ``kind`` (a job's ``auto`` input counts as RGB)."""
    return KIND_CHANNELS.get(kind, 3)


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
        source = _source_frames(frames_thwc_uint8, m.source, params.gamma)
        meis, base = motion_embedded_images(source, m.n, m.interval, m.method)
        return meis, {"positions": base.tolist(), "base_positions": base.tolist()}
    if kind == "rank":
        r = params.rank
        images = rank_pooled_images(_source_frames(frames_thwc_uint8, r.source, params.gamma),
                                    r.window, r.stride)
        size = min(r.window, t)
        positions = [k * r.stride + size - 1 for k in range(len(images))]
        return images, {"positions": positions, "base_positions": positions}
    raise ValueError(f"unknown representation kind {kind!r}; known: {KINDS}")


def _source_frames(frames_thwc_uint8: np.ndarray, source: str,
                   gamma: GammaParams) -> np.ndarray:
    """The frames a motion image is made from (see :class:`MEIParams`)."""
    if source == "gamma":
        return gamma_correct(frames_thwc_uint8, gamma.gamma, target_mean=gamma.target_mean)
    return frames_thwc_uint8
