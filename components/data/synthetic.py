"""A synthetic action dataset whose classes differ by motion alone.

Every video shows the same kind of actor (a stick figure with swinging limbs) on
the same kind of textured background. A class fixes only *how* one pose
parameter changes over time: position (rise / fall / move left / right), scale
(approach / recede) or orientation (clockwise / anticlockwise). Classes come in
time-reversed pairs, and the parameters a class does not move are drawn from
the same distributions the moving classes sweep through.

The default classes move the actor's position, and the world is a torus: an
actor leaving at the top is, at the same time, entering at the bottom (it is
drawn at both edges), so motion stays continuous. The moving coordinate starts
at a uniformly random phase and wraps, so its value at *every* frame index is
uniform over the frame, as a held coordinate is: a single frame carries no
class information even when its time in the video is known (the MEI normal
stream reads late frames only). Scale and orientation cannot wrap: their
classes sweep most of a bounded range, so a frame at a known time says which
end of the range the actor is near.

Rendering is pure numpy (``render_clip``); ``write_dataset`` writes real H.264
files in the UCF101 layout through ``components.data.video``. Output is
byte-for-byte deterministic for a seed.

NOTE: horizontal flips turn MoveLeft into MoveRight and clockwise into
anticlockwise; ``FLIP_INVARIANT`` says which classes survive a flip. The demo's
default classes (Rise, Fall, MoveLeft, MoveRight) need label-aware flips
(``augment.flip_pairs: [[MoveLeft, MoveRight]]``) or flips off.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Sequence
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
#: The head's centre in actor units (height about 1, y down, origin at the body's centre).
HEAD_Y = -0.34
FLIP_INVARIANT = frozenset({"Rise", "Fall", "Approach", "Recede"})
DEFAULT_CLASSES: tuple[str, ...] = ("Rise", "Fall", "MoveLeft", "MoveRight")
#: Pose parameters that live on a circle (the frame is a torus): they wrap.
PERIODIC_PARAMETERS = frozenset({"x", "y"})


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
    groups: int = 24
    clips_per_group: int = 6
    test_groups: int = 4
    num_frames: int = 16
    fps: int = 8
    height: int = 96
    width: int = 96
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

    x: np.ndarray  # centre, pixels (modulo the frame width)
    y: np.ndarray  # centre, pixels (modulo the frame height)
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


#: Share of its range a periodic parameter travels over a video (uniform in this range).
PERIODIC_TRAVEL = (0.35, 0.5)
#: Share of its range a bounded parameter (scale, angle) sweeps over a video.
BOUNDED_TRAVEL = (0.8, 1.0)


def _ranges(cfg: SynthConfig) -> dict[str, tuple[float, float]]:
    h, w = cfg.height, cfg.width
    return {
        "scale": (0.4 * h, 0.65 * h),  # actor height
        "x": (0.0, float(w)),          # periodic: the whole width
        "y": (0.0, float(h)),          # periodic: the whole height
        "angle": (-0.6, 0.6),
    }


def sample_pose(
    motion: tuple[str, int], num_frames: int, ranges: dict[str, tuple[float, float]],
    rng: np.random.Generator,
) -> Pose:
    """Draw one trajectory: the class's parameter moves, the others hold still.

    A periodic parameter (x, y) advances ``PERIODIC_TRAVEL`` of its range over the
    video at constant speed from a uniformly random phase, wrapping around; a
    bounded one (scale, angle) sweeps ``BOUNDED_TRAVEL`` of its range from a random
    start. Held parameters are uniform over the same ranges. A sweep in direction
    -1 is the time reverse of +1.
    """
    moving, direction = motion
    frames = np.arange(num_frames, dtype=np.float64)
    span = max(num_frames - 1, 1)
    values: dict[str, np.ndarray] = {}
    for name in ("x", "y", "scale", "angle"):
        lo, hi = ranges[name]
        if name != moving:
            values[name] = np.full(num_frames, rng.uniform(lo, hi))
            continue
        ticks = frames if direction > 0 else frames[::-1]
        if name in PERIODIC_PARAMETERS:
            phase0 = rng.uniform(0.0, 1.0)
            unit = (phase0 + rng.uniform(*PERIODIC_TRAVEL) * ticks / span) % 1.0
        else:
            length = rng.uniform(*BOUNDED_TRAVEL)
            unit = rng.uniform(0.0, 1.0 - length) + length * ticks / span
        values[name] = lo + (hi - lo) * unit
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
    swing = 0.06 * math.sin(gait)
    body = (np.hypot(px / 0.17, (py + 0.02) / 0.22) - 1.0) * 0.17
    head = np.hypot(px, py - HEAD_Y) - 0.11
    legs = np.minimum(
        _capsule(px, py, (0.0, 0.15), (swing, 0.47), 0.09),
        _capsule(px, py, (0.0, 0.15), (-swing, 0.47), 0.09),
    )
    arms = np.minimum(
        _capsule(px, py, (0.0, -0.14), (0.25, 0.02 + swing), 0.06),
        _capsule(px, py, (0.0, -0.14), (-0.25, 0.02 - swing), 0.06),
    )
    return np.minimum(np.minimum(body, head), np.minimum(legs, arms))


def background(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """A smooth random texture, float32 ``(H, W, 3)`` in 0..1."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = rng.uniform(0.1, 0.25, size=3).astype(np.float32)
    img = np.broadcast_to(base, (height, width, 3)).copy()
    for _ in range(5):
        freq = rng.uniform(0.02, 0.12)
        theta = rng.uniform(0, math.pi)
        phase = rng.uniform(0, 2 * math.pi)
        amp = rng.uniform(0.02, 0.04, size=3).astype(np.float32)
        wave = np.sin(freq * (xx * math.cos(theta) + yy * math.sin(theta)) + phase)
        img += wave[..., None] * amp
    return np.clip(img, 0.0, 1.0)


def _wrapped(offset: np.ndarray, period: float) -> np.ndarray:
    """``offset`` folded into [-period / 2, period / 2)."""
    return (offset + period / 2) % period - period / 2


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
    limb_rgb = actor_rgb * 0.95
    for t in range(num_frames):
        s = float(pose.scale[t])
        c, si = math.cos(pose.angle[t]), math.sin(pose.angle[t])
        # Offsets on the torus (nearest image of the centre): an actor crossing an
        # edge is drawn in part at both edges.
        dx = _wrapped(xx - float(pose.x[t]), width) / s
        dy = _wrapped(yy - float(pose.y[t]), height) / s
        # rotate into the actor's frame (inverse of a clockwise screen rotation)
        ux = c * dx + si * dy
        uy = -si * dx + c * dy
        d = actor_sdf(ux, uy, float(pose.gait[t]))
        alpha = np.clip(0.5 - d * s, 0.0, 1.0)  # one-pixel anti-aliased edge
        torso = np.clip(0.5 - (np.hypot(ux / 0.17, (uy + 0.02) / 0.22) - 1.0) * 0.17 * s, 0, 1)
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
    * ``dark``: exposure at 7-13% of full scale, Poisson-like shot noise and read
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
        exposure = camera_rng.uniform(0.07, 0.13)
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
    actor_rgb = scene_rng.uniform(0.85, 1.0, size=3).astype(np.float32)
    actor_rgb[scene_rng.integers(0, 3)] *= 0.7  # a saturated colour, distinct from bg
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
    progress: Callable[[Sequence[VideoSpec]], Iterable[VideoSpec]] | None = None,
) -> list[VideoSpec]:
    """Render every video and write the dataset into ``out_dir`` (which must exist).

    Args:
        cfg: the dataset to render (classes, groups, clips, size, lighting, seed).
        out_dir: the dataset root (UCF101 layout is written under it).
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
