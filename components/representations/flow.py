"""Dense optical flow between consecutive frames, stored as uint8 images (TSN style).

Methods: ``"tvl1"`` (OpenCV contrib Dual TV-L1, the TSN-era reference; slow, about
0.5 s per 320x240 pair on one core), ``"farneback"`` (about 15 ms a pair), ``"dis"``
(OpenCV DIS, about 1 ms a pair: the recommended CPU method) and ``"raft"``
(torchvision RAFT small or large, weights from a local file, meant for a GPU; it runs
on the CPU, slowly). The OpenCV methods work on grayscale frames, converted inside
(C = 3 is taken as RGB, the decoder's order); RAFT works on the RGB frames.

Storage convention (TSN): each component is clipped to ``[-bound, +bound]`` pixels
and mapped linearly to 0..255, ``q = rint((f + bound) * 255 / (2 * bound))``, so
0 stands for ``-bound``, 255 for ``+bound`` and zero flow for 127.5, stored as 128
(``np.rint`` rounds ties to even). :func:`dequantize_flow` inverts it,
``f = q * 2 * bound / 255 - bound``, within half a step (``bound / 255`` pixels).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import cv2
import numpy as np

from components.errors import InputError
from components.representations._checks import RepresentationError, as_clip, positive_int

if TYPE_CHECKING:
    from torch import nn

FlowMethod = Literal["tvl1", "farneback", "dis", "raft"]
METHODS: tuple[str, ...] = ("tvl1", "farneback", "dis", "raft")
DEFAULT_BOUND = 20.0
#: Channels of a flow image: the x (rightward) and y (downward) displacement. Every
#: count of flow channels (shards, normalisation, model inputs) derives from this one.
FLOW_CHANNELS = 2

#: cv2.calcOpticalFlowFarneback arguments (OpenCV's documented example values).
FARNEBACK_DEFAULTS: dict[str, Any] = {
    "pyr_scale": 0.5,
    "levels": 3,
    "winsize": 15,
    "iterations": 3,
    "poly_n": 5,
    "poly_sigma": 1.2,
    "flags": 0,
}
DIS_PRESETS: dict[str, int] = {
    "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}


def optical_flow(
    frames_thwc_uint8: np.ndarray,
    method: FlowMethod = "dis",
    bound: float = DEFAULT_BOUND,
    *,
    options: Mapping[str, Any] | None = None,
    dis_preset: str = "fast",
    raft_weights: str | Path | None = None,
    raft_model: Literal["small", "large"] = "small",
    device: str = "cpu",
    batch_size: int = 8,
    num_flow_updates: int = 12,
) -> np.ndarray:
    """Optical flow of every consecutive frame pair, quantised to uint8.

    Args:
        frames_thwc_uint8: (T, H, W, C) uint8 clip, T >= 2; C = 3 (RGB) or 1.
        method: ``"tvl1"``, ``"farneback"``, ``"dis"`` or ``"raft"``.
        bound: Flow is clipped to ``[-bound, +bound]`` pixels before quantising
            (20 in TSN).
        options: Method-specific settings: keyword arguments of
            ``cv2.optflow.DualTVL1OpticalFlow_create`` (tvl1) or of
            ``cv2.calcOpticalFlowFarneback`` (farneback, over
            :data:`FARNEBACK_DEFAULTS`); for dis, ``{"FinestScale": 1}`` calls
            ``setFinestScale(1)`` and so on. Not used by raft.
        dis_preset: ``"ultrafast"``, ``"fast"`` or ``"medium"`` (dis only).
        raft_weights: Path of a local RAFT state dict (for example torchvision's
            ``raft_small_C_T_V2`` file); required for raft, never downloaded.
        raft_model: ``"small"`` or ``"large"``: must match the weights.
        device: torch device for raft (``"cuda"``, ``"cuda:1"``, ``"cpu"``).
        batch_size: Frame pairs per RAFT forward pass.
        num_flow_updates: RAFT refinement iterations (12, torchvision's default).

    Returns:
        (T - 1, H, W, 2) uint8: channel 0 is the x (rightward) and channel 1 the y
        (downward) displacement from frame t to frame t + 1, quantised as described in
        the module docstring.

    Raises:
        RepresentationError: fewer than 2 frames, a bad shape, method or bound; raft
            without ``raft_weights``.
        InputError: the RAFT weights file is missing or does not fit the model.
    """
    clip = as_clip(frames_thwc_uint8, min_frames=2, name="frames")
    bound = _check_bound(bound)
    if method not in METHODS:
        raise RepresentationError(f"method must be one of {METHODS}, got {method!r}")
    if clip.shape[-1] not in (1, 3):
        raise RepresentationError(
            f"frames must have 1 (grey) or 3 (RGB) channels, got {clip.shape[-1]}"
        )
    t, h, w, _ = clip.shape
    out = np.empty((t - 1, h, w, FLOW_CHANNELS), dtype=np.uint8)
    if method == "raft":
        _raft_into(
            out,
            clip,
            bound,
            weights=raft_weights,
            model=raft_model,
            device=device,
            batch_size=positive_int(batch_size, "batch_size"),
            num_flow_updates=positive_int(num_flow_updates, "num_flow_updates"),
        )
        return out
    gray = to_gray(clip)
    pair_flow = _cpu_method(method, dict(options or {}), dis_preset)
    for i in range(t - 1):
        quantize_flow(pair_flow(gray[i], gray[i + 1]), bound, out=out[i])
    return out


def to_gray(frames_thwc_uint8: np.ndarray) -> np.ndarray:
    """(T, H, W) uint8 grey frames (BT.601 luma of RGB; a single channel as is)."""
    clip = as_clip(frames_thwc_uint8, name="frames")
    t, h, w, c = clip.shape
    if c == 1:
        return np.ascontiguousarray(clip[..., 0])
    if c != 3:
        raise RepresentationError(f"frames must have 1 or 3 channels, got {c}")
    gray = cv2.cvtColor(np.ascontiguousarray(clip).reshape(t * h, w, 3), cv2.COLOR_RGB2GRAY)
    return gray.reshape(t, h, w)


def quantize_flow(
    flow_hw2: np.ndarray, bound: float = DEFAULT_BOUND, *, out: np.ndarray | None = None
) -> np.ndarray:
    """Float flow (..., 2) in pixels -> uint8: ``rint((clip(f, -b, b) + b) * 255 / (2 b))``."""
    b = _check_bound(bound)
    f = np.asarray(flow_hw2, dtype=np.float32)
    scaled = np.clip(f, -b, b)
    scaled += np.float32(b)
    scaled *= np.float32(255.0 / (2.0 * b))
    np.rint(scaled, out=scaled)
    if out is None:
        return scaled.astype(np.uint8)
    np.copyto(out, scaled, casting="unsafe")
    return out


def dequantize_flow(flow_uint8: np.ndarray, bound: float = DEFAULT_BOUND) -> np.ndarray:
    """uint8 flow -> float32 pixels: ``q * 2 b / 255 - b`` (the inverse of quantize_flow)."""
    b = _check_bound(bound)
    q = np.asarray(flow_uint8)
    if q.dtype != np.uint8:
        raise RepresentationError(f"quantised flow must be uint8, got {q.dtype}")
    return q.astype(np.float32) * np.float32(2.0 * b / 255.0) - np.float32(b)


def flow_to_rgb(
    flow: np.ndarray,
    bound: float = DEFAULT_BOUND,
    *,
    max_magnitude: float | None = None,
) -> np.ndarray:
    """Colour picture of a flow field: direction as hue, magnitude as value.

    Args:
        flow: (..., H, W, 2) flow: uint8 as returned by :func:`optical_flow` (decoded
            with ``bound``), or float pixels.
        bound: Quantisation bound of uint8 input.
        max_magnitude: Magnitude shown at full brightness (default ``bound``); larger
            magnitudes saturate.

    Returns:
        (..., H, W, 3) uint8 RGB. Hue follows the angle of (x, y) in image coordinates
        (0 degrees = rightward = red, 90 = downward), saturation is full, value is
        ``255 * min(|f| / max_magnitude, 1)``. Zero flow is black.
    """
    arr = np.asarray(flow)
    if arr.ndim < 3 or arr.shape[-1] != FLOW_CHANNELS:
        raise RepresentationError(f"flow must be (..., H, W, {FLOW_CHANNELS}), "
                                  f"got shape {arr.shape}")
    f = dequantize_flow(arr, bound) if arr.dtype == np.uint8 else arr.astype(np.float32)
    top = float(bound if max_magnitude is None else max_magnitude)
    if not (math.isfinite(top) and top > 0):
        raise RepresentationError(f"max_magnitude must be positive, got {max_magnitude!r}")
    mag, ang = cv2.cartToPolar(
        np.ascontiguousarray(f[..., 0]).reshape(-1, 1),
        np.ascontiguousarray(f[..., 1]).reshape(-1, 1),
        angleInDegrees=True,
    )
    hsv = np.empty((mag.shape[0], 1, 3), dtype=np.uint8)
    hsv[..., 0] = np.rint(ang * 0.5).astype(np.int32) % 180  # OpenCV hue: 0..179 = 0..358 deg
    hsv[..., 1] = 255
    hsv[..., 2] = np.rint(np.clip(mag / top, 0.0, 1.0) * 255.0).astype(np.uint8)
    rgb = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
    return rgb.reshape(*arr.shape[:-1], 3)


# --------------------------------------------------------------------------- CPU methods


def _cpu_method(method: str, options: dict[str, Any], dis_preset: str
                ) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """A function (grey_prev, grey_next) -> (H, W, 2) float32 flow in pixels."""
    if method == "tvl1":
        try:
            # cv2's stubs lack the contrib module's factory functions
            tvl1 = cv2.optflow.DualTVL1OpticalFlow_create(**options)  # type: ignore[attr-defined]
        except (cv2.error, TypeError) as exc:
            raise RepresentationError(f"bad tvl1 options {options!r}: {exc}") from exc
        return lambda a, b: tvl1.calc(a, b, None)
    if method == "farneback":
        unknown = set(options) - set(FARNEBACK_DEFAULTS)
        if unknown:
            raise RepresentationError(f"unknown farneback options: {sorted(unknown)}")
        kw = {**FARNEBACK_DEFAULTS, **options}
        # the stubs want an output array; None (allocate one) is what OpenCV documents
        return lambda a, b: cv2.calcOpticalFlowFarneback(a, b, None, **kw)  # type: ignore[call-overload]
    if method == "dis":
        if dis_preset not in DIS_PRESETS:
            raise RepresentationError(
                f"dis_preset must be one of {tuple(DIS_PRESETS)}, got {dis_preset!r}"
            )
        dis = cv2.DISOpticalFlow_create(DIS_PRESETS[dis_preset])  # type: ignore[attr-defined]
        for name, value in options.items():
            setter = getattr(dis, f"set{name}", None)
            if setter is None:
                raise RepresentationError(f"unknown dis option {name!r}")
            setter(value)
        return lambda a, b: dis.calc(a, b, None)
    raise RepresentationError(f"method must be one of {METHODS}, got {method!r}")


def _check_bound(bound: object) -> float:
    if isinstance(bound, bool) or not isinstance(bound, int | float | np.number):
        raise RepresentationError(f"bound must be a positive number, got {bound!r}")
    b = float(bound)
    if not (math.isfinite(b) and b > 0):
        raise RepresentationError(f"bound must be positive and finite, got {bound!r}")
    return b


# --------------------------------------------------------------------------- RAFT


_RAFT_MIN_SIDE = 128


def _raft_into(
    out: np.ndarray,
    clip: np.ndarray,
    bound: float,
    *,
    weights: str | Path | None,
    model: str,
    device: str,
    batch_size: int,
    num_flow_updates: int,
) -> None:
    """Fill ``out`` (T-1, H, W, 2) uint8 with RAFT flow of ``clip`` (torch imported here)."""
    if weights is None:
        raise RepresentationError(
            "RAFT needs raft_weights, the path of a local RAFT state dict "
            "(weights are never downloaded); or use method 'dis' or 'farneback' on a CPU"
        )
    if model not in ("small", "large"):
        raise RepresentationError(f"raft_model must be 'small' or 'large', got {model!r}")
    path = Path(weights).expanduser()
    if not path.is_file():
        raise InputError(path, "RAFT weights file not found (weights are never downloaded)")
    stat = path.stat()
    net = _load_raft(str(path.resolve()), stat.st_mtime_ns, stat.st_size, model, str(device))

    import torch
    import torch.nn.functional as F

    t, h, w, c = clip.shape
    # RAFT needs sides divisible by 8, and at least 128 for its correlation pyramid.
    pad_h, pad_w = max(_RAFT_MIN_SIDE, h + (-h) % 8) - h, max(_RAFT_MIN_SIDE, w + (-w) % 8) - w
    dev = torch.device(device)
    with torch.inference_mode():
        for start in range(0, t - 1, batch_size):
            stop = min(start + batch_size, t - 1)
            x = torch.from_numpy(np.ascontiguousarray(clip[start : stop + 1])).to(dev)
            x = x.permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)  # [-1, 1], as trained
            if c == 1:
                x = x.expand(-1, 3, -1, -1)
            if pad_h or pad_w:
                x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
            flows = net(x[:-1], x[1:], num_flow_updates=num_flow_updates)[-1]
            flow = flows[:, :, :h, :w].permute(0, 2, 3, 1).float().cpu().numpy()
            quantize_flow(flow, bound, out=out[start:stop])


@functools.lru_cache(maxsize=2)
def _load_raft(path: str, mtime_ns: int, size: int, model: str, device: str) -> nn.Module:
    """A RAFT model in eval mode on ``device`` with the state dict at ``path`` (cached)."""
    del mtime_ns, size  # part of the cache key only: a rewritten file is reloaded
    import torch
    from torchvision.models.optical_flow import raft_large, raft_small

    build = raft_small if model == "small" else raft_large
    net = build(weights=None, progress=False)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle, zip and torch errors all mean "not readable"
        raise InputError(path, f"cannot read RAFT weights: {exc}") from exc
    if isinstance(state, Mapping):
        for wrapper in ("state_dict", "model"):
            if wrapper in state and isinstance(state[wrapper], Mapping):
                state = state[wrapper]
                break
    if not isinstance(state, Mapping):
        raise InputError(path, f"RAFT weights must be a state dict, got {type(state).__name__}")
    try:
        net.load_state_dict(state)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise InputError(
            path, f"not a raft_{model} state dict (raft_model={model!r}?): {first}"
        ) from exc
    return net.eval().to(torch.device(device))
