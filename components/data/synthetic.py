"""A synthetic action dataset whose classes differ by motion alone.

Every video shows the same kind of actor (a stick figure with swinging limbs) on
the same kind of textured background. A class fixes only *how* one pose
parameter changes over time: position (rise / fall / move left / right), scale
(approach / recede) or orientation (clockwise / anticlockwise). Classes come in
time-reversed pairs, and the parameters a class does not move are drawn from
the same ranges the moving classes sweep through, so the distribution of
single frames is the same for every class: a still frame cannot tell the
classes apart, an ordered motion representation (gradient MEI, rank pooling,
optical flow, a 3D CNN) can.

Rendering is pure numpy (``render_clip``); ``write_dataset`` writes real H.264
files in the UCF101 layout through ``components.data.video``. Output is
byte-for-byte deterministic for a seed.

NOTE: horizontal flips turn MoveLeft into MoveRight and clockwise into
anticlockwise. The default classes (Rise, Fall, Approach, Recede) are
flip-invariant, so flip augmentation stays valid; ``FLIP_INVARIANT`` says which
classes are.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np

Lighting = Literal["daylight", "dark", "infrared"]
LIGHTINGS: tuple[str, ...] = ("daylight", "dark", "infrared")

# class name -> (pose parameter it sweeps, direction of the sweep)
CLASS_MOTIONS: dict[str, tuple[str, int]] = {
    "Rise": ("y", -1),  # image y grows downwards
    "Fall": ("y", +1),
    "Approach": ("scale", +1),
    "Recede": ("scale", -1),
    "MoveLeft": ("x", -1),
    "MoveRight": ("x", +1),
    "RotateClockwise": ("angle", +1),  # positive angle turns clockwise on screen
    "RotateAnticlockwise": ("angle", -1),
}
FLIP_INVARIANT = frozenset({"Rise", "Fall", "Approach", "Recede"})
DEFAULT_CLASSES: tuple[str, ...] = ("Rise", "Fall", "Approach", "Recede")


@dataclass(frozen=True)
class SynthConfig:
    """Size and look of the synthetic dataset.

    Attributes:
        classes: class names from ``CLASS_MOTIONS``.
        groups: UCF-style groups ``gNN``; a group fixes background and actor
            colours, like an actor/scene group in UCF101. The first
            ``test_groups`` groups form the test list (as UCF101 holds groups
            1-7 of 25 out for testing).
        clips_per_group: clips ``cNN`` per group and class.
        test_groups: how many groups go to the test list.
        num_frames: frames per video.
        fps: frames per second of the written files.
        height, width: frame size in pixels (even).
        lighting: ``daylight``, ``dark`` (ARID-like: a few percent of full scale
            plus sensor noise) or ``infrared`` (single-channel thermal look).
        seed: the only source of randomness.
        crf: H.264 constant rate factor (lower is closer to lossless).
    """

    classes: tuple[str, ...] = DEFAULT_CLASSES
    groups: int = 7
    clips_per_group: int = 3
    test_groups: int = 2
    num_frames: int = 40
    fps: int = 20
    height: int = 96
    width: int = 128
    lighting: Lighting = "dark"
    seed: int = 0
    crf: int = 17

    def __post_init__(self) -> None:
        unknown = [c for c in self.classes if c not in CLASS_MOTIONS]
        if unknown:
            raise ValueError(f"unknown classes {unknown}; known: {sorted(CLASS_MOTIONS)}")
        if len(set(self.classes)) != len(self.classes) or len(self.classes) < 2:
            raise ValueError("classes must be at least two distinct names")
        if self.lighting not in LIGHTINGS:
            raise ValueError(f"lighting must be one of {LIGHTINGS}, got {self.lighting!r}")
        if not 0 < self.test_groups < self.groups:
            raise ValueError("need 0 < test_groups < groups")
        if self.height % 2 or self.width % 2 or min(self.height, self.width) < 32:
            raise ValueError("height and width must be even and at least 32")
        if self.num_frames < 2:
            raise ValueError("num_frames must be at least 2")


@dataclass(frozen=True)
class Pose:
    """Actor pose trajectory, one value per frame (arrays of length T)."""

    x: np.ndarray  # centre, pixels
    y: np.ndarray  # centre, pixels
    scale: np.ndarray  # actor height, pixels
    angle: np.ndarray  # radians, clockwise on screen
    gait: np.ndarray  # limb swing phase, radians


@dataclass(frozen=True)
class VideoSpec:
    """One video of the dataset."""

    label: str
    group: int
    clip: int

    @property
    def relpath(self) -> str:
        return f"{self.label}/v_{self.label}_g{self.group:02d}_c{self.clip:02d}.mp4"


# ---------------------------------------------------------------- trajectories


def _ranges(cfg: SynthConfig) -> dict[str, tuple[float, float]]:
    h, w = cfg.height, cfg.width
    s_lo, s_hi = 0.38 * h, 0.6 * h
    half = 0.5 * s_hi  # keep the largest actor inside the frame
    return {
        "scale": (s_lo, s_hi),
        "x": (half, w - half),
        "y": (half, h - half),
        "angle": (-0.6, 0.6),
    }


def sample_pose(
    motion: tuple[str, int], num_frames: int, ranges: dict[str, tuple[float, float]],
    rng: np.random.Generator,
) -> Pose:
    """Draw one trajectory: the class's parameter sweeps, the others hold still.

    The sweep covers 55-100% of its range at constant speed from a random start;
    held parameters are uniform over the same range, so per-frame marginals
    match across classes. A sweep in direction -1 is the time reverse of +1.
    """
    moving, direction = motion
    t = np.linspace(0.0, 1.0, num_frames)
    values: dict[str, np.ndarray] = {}
    for name in ("x", "y", "scale", "angle"):
        lo, hi = ranges[name]
        if name == moving:
            length = (hi - lo) * rng.uniform(0.55, 1.0)
            start = rng.uniform(lo, hi - length)
            sweep = start + length * t
            values[name] = sweep if direction > 0 else sweep[::-1].copy()
        else:
            values[name] = np.full(num_frames, rng.uniform(lo, hi))
    steps = rng.uniform(0.35, 0.6)  # limb swing, radians per frame
    phase0 = rng.uniform(0, 2 * math.pi)
    gait = phase0 + steps * np.arange(num_frames) * (1 if direction > 0 else -1)
    return Pose(values["x"], values["y"], values["scale"], values["angle"], gait)


# ---------------------------------------------------------------- rendering


def _capsule(px: np.ndarray, py: np.ndarray, a: tuple[float, float], b: tuple[float, float],
             radius: float) -> np.ndarray:
    ax, ay = a
    bx, by = b
    dx, dy = bx - ax, by - ay
    h = np.clip(((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy + 1e-12), 0.0, 1.0)
    return np.hypot(px - ax - h * dx, py - ay - h * dy) - radius


def actor_sdf(px: np.ndarray, py: np.ndarray, gait: float) -> np.ndarray:
    """Signed distance (actor-height units) to a stick figure centred at the origin.

    ``px, py`` are coordinates in actor units (height about 1, y down).
    """
    swing = 0.09 * math.sin(gait)
    body = (np.hypot(px / 0.11, (py + 0.02) / 0.2) - 1.0) * 0.11
    head = np.hypot(px, py + 0.33) - 0.09
    legs = np.minimum(
        _capsule(px, py, (0.0, 0.15), (swing, 0.47), 0.04),
        _capsule(px, py, (0.0, 0.15), (-swing, 0.47), 0.04),
    )
    arms = np.minimum(
        _capsule(px, py, (0.0, -0.14), (0.2, 0.02 + swing), 0.035),
        _capsule(px, py, (0.0, -0.14), (-0.2, 0.02 - swing), 0.035),
    )
    return np.minimum(np.minimum(body, head), np.minimum(legs, arms))


def background(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """A smooth random texture, float32 ``(H, W, 3)`` in 0..1."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = rng.uniform(0.3, 0.6, size=3).astype(np.float32)
    img = np.broadcast_to(base, (height, width, 3)).copy()
    for _ in range(5):
        freq = rng.uniform(0.02, 0.12)
        theta = rng.uniform(0, math.pi)
        phase = rng.uniform(0, 2 * math.pi)
        amp = rng.uniform(0.04, 0.1, size=3).astype(np.float32)
        wave = np.sin(freq * (xx * math.cos(theta) + yy * math.sin(theta)) + phase)
        img += wave[..., None] * amp
    return np.clip(img, 0.0, 1.0)


def render_clip(
    pose: Pose, bg: np.ndarray, actor_rgb: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Render the actor over ``bg`` for every pose.

    Returns:
        frames: float32 ``(T, H, W, 3)`` in 0..1 (linear "scene radiance").
        alpha: float32 ``(T, H, W)`` actor coverage, for the infrared look.
    """
    height, width = bg.shape[:2]
    num_frames = len(pose.x)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    frames = np.empty((num_frames, height, width, 3), np.float32)
    alphas = np.empty((num_frames, height, width), np.float32)
    limb_rgb = actor_rgb * 0.7
    for t in range(num_frames):
        s = float(pose.scale[t])
        c, si = math.cos(pose.angle[t]), math.sin(pose.angle[t])
        dx = (xx - pose.x[t]) / s
        dy = (yy - pose.y[t]) / s
        # rotate into the actor's frame (inverse of a clockwise screen rotation)
        ux = c * dx + si * dy
        uy = -si * dx + c * dy
        d = actor_sdf(ux, uy, float(pose.gait[t]))
        alpha = np.clip(0.5 - d * s, 0.0, 1.0)  # one-pixel anti-aliased edge
        torso = np.clip(0.5 - (np.hypot(ux / 0.11, (uy + 0.02) / 0.2) - 1.0) * 0.11 * s, 0, 1)
        colour = limb_rgb + (actor_rgb - limb_rgb) * torso[..., None]
        frames[t] = bg * (1 - alpha[..., None]) + colour * alpha[..., None]
        alphas[t] = alpha
    return frames, alphas


def apply_lighting(
    frames: np.ndarray, alpha: np.ndarray, bg: np.ndarray, lighting: Lighting,
    camera_rng: np.random.Generator, noise_rng: np.random.Generator,
) -> np.ndarray:
    """Turn linear frames into uint8 ``(T, H, W, 3)`` as a camera would record them.

    * ``daylight``: the scene as is.
    * ``dark``: exposure at 4-8% of full scale, Poisson-like shot noise and read
      noise, then 8-bit quantisation (ARID-like: the action is hard to see until
      gamma-corrected).
    * ``infrared``: a thermal look, one channel repeated three times: the actor
      is warm (bright), the background cool with a smooth gradient, slight noise.

    ``camera_rng`` draws the recording settings (exposure, actor temperature),
    shared by every class filmed in the same group and clip; ``noise_rng`` the
    sensor noise.
    """
    if lighting == "daylight":
        return np.clip(np.rint(frames * 255.0), 0, 255).astype(np.uint8)
    if lighting == "dark":
        exposure = camera_rng.uniform(0.04, 0.08)
        signal = frames * (255.0 * exposure)
        gain = 0.4  # DN per photo-electron: shot noise variance = gain * signal
        noisy = signal + noise_rng.standard_normal(signal.shape).astype(np.float32) * np.sqrt(
            gain * signal + 0.8**2
        )
        return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)
    if lighting == "infrared":
        cool = 0.15 + 0.25 * bg.mean(axis=2)  # (H, W) in 0.15..0.4
        warm = camera_rng.uniform(0.75, 0.9)
        temp = cool[None] * (1 - alpha) + warm * alpha
        temp += noise_rng.standard_normal(temp.shape).astype(np.float32) * 0.01
        gray = np.clip(np.rint(temp * 255.0), 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=3)
    raise ValueError(f"unknown lighting {lighting!r}")


def video_specs(cfg: SynthConfig) -> list[VideoSpec]:
    """Every video of the dataset, in class, group, clip order."""
    return [
        VideoSpec(label, g, c)
        for label in cfg.classes
        for g in range(1, cfg.groups + 1)
        for c in range(1, cfg.clips_per_group + 1)
    ]


def render_video(cfg: SynthConfig, spec: VideoSpec) -> np.ndarray:
    """The uint8 ``(T, H, W, 3)`` frames of one video, deterministic for ``cfg.seed``.

    Background and actor colour depend on the group only, camera settings on
    group and clip (both shared by every class); the trajectory and sensor noise
    on group, clip and class.
    """
    scene_rng = np.random.default_rng([cfg.seed, 1, spec.group])
    bg = background(cfg.height, cfg.width, scene_rng)
    actor_rgb = scene_rng.uniform(0.55, 1.0, size=3).astype(np.float32)
    actor_rgb[scene_rng.integers(0, 3)] *= 0.35  # a saturated colour, distinct from bg
    class_id = sorted(CLASS_MOTIONS).index(spec.label)
    rng = np.random.default_rng([cfg.seed, 2, spec.group, spec.clip, class_id])
    pose = sample_pose(CLASS_MOTIONS[spec.label], cfg.num_frames, _ranges(cfg), rng)
    frames, alpha = render_clip(pose, bg, actor_rgb)
    camera_rng = np.random.default_rng([cfg.seed, 3, spec.group, spec.clip])
    return apply_lighting(frames, alpha, bg, cfg.lighting, camera_rng, rng)


def split_lists(cfg: SynthConfig) -> tuple[str, str, str]:
    """``classInd.txt``, ``trainlist01.txt`` and ``testlist01.txt`` contents (UCF101 format)."""
    class_ind = "".join(f"{i} {name}\n" for i, name in enumerate(cfg.classes, start=1))
    train, test = [], []
    for spec in video_specs(cfg):
        if spec.group <= cfg.test_groups:
            test.append(f"{spec.relpath}\n")
        else:
            train.append(f"{spec.relpath} {cfg.classes.index(spec.label) + 1}\n")
    return class_ind, "".join(train), "".join(test)


VideoWriter = Callable[[Path, np.ndarray, int, int], None]


def write_dataset(
    cfg: SynthConfig,
    out_dir: Path,
    write_video: VideoWriter,
    progress: Callable[[Sequence[VideoSpec]], Sequence[VideoSpec]] | None = None,
) -> list[VideoSpec]:
    """Render every video and write the dataset into ``out_dir`` (which must exist).

    Args:
        write_video: ``(path, frames_thwc_uint8, fps, crf) -> None``; the stage
            passes the PyAV writer, so this module stays free of codec imports.
        progress: optional wrapper around the iteration (a progress bar).
    """
    specs = video_specs(cfg)
    iterable = progress(specs) if progress is not None else specs
    for spec in iterable:
        path = out_dir / spec.relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        write_video(path, render_video(cfg, spec), cfg.fps, cfg.crf)
    class_ind, train, test = split_lists(cfg)
    (out_dir / "classInd.txt").write_text(class_ind, encoding="utf-8")
    (out_dir / "trainlist01.txt").write_text(train, encoding="utf-8")
    (out_dir / "testlist01.txt").write_text(test, encoding="utf-8")
    meta = asdict(cfg) | {
        "classes": list(cfg.classes),
        "flip_invariant": all(c in FLIP_INVARIANT for c in cfg.classes),
        "format": "ucf101",
    }
    (out_dir / "synth.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return specs
