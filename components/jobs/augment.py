"""Clip augmentations as pure torch functions, consistent across a clip's frames.

Clips are float tensors ``(T, C, H, W)`` in [0, 1] ("TCHW"; an image is T = 1),
before normalisation. Randomness is drawn once per clip (:func:`sample_clip_params`)
from an explicit ``torch.Generator`` and then applied to every frame, and to every
clip of a sample (LIFT-Net's raw and luminous clips get the same geometry):

* horizontal flip (optical flow: the x component is negated, 0.5 <-> no motion);
* colour jitter: brightness, contrast, saturation (RGB only);
* random affine: rotation, translation, scale (flow: translation only, since
  rotating or scaling a flow field would need its vectors rotated or scaled too);
* frame shuffle: a random permutation of the frames;
* optical (radial lens) distortion, elastic distortion and rain (LIFT-Net paper),
  by kornia, seeded from the clip's draw so that the raw and luminous clips warp
  alike (rain: the RGB clip only; none of the three on optical flow).

The training datasets (:mod:`components.jobs.datasets`) apply them; CutMix, which
mixes the samples of a batch, is the training loop's (:mod:`components.training.cutmix`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from components.jobs.config import AugmentConfig

_LUMA = (0.299, 0.587, 0.114)


@dataclass(frozen=True)
class ClipAugParams:
    """The random choices for one clip (None = not applied).

    Attributes:
        flip: flip horizontally.
        jitter: (brightness, contrast, saturation) factors around 1.
        affine: (angle in degrees, tx, ty as fractions of width/height, scale).
        permutation: new frame order.
        optical: radial distortion coefficient k1.
        elastic_seed: seed of the elastic displacement field.
        rain_seed: seed of the rain streaks.
        strengths: (elastic alpha, elastic sigma, rain density) of the config.
    """

    flip: bool = False
    jitter: tuple[float, float, float] | None = None
    affine: tuple[float, float, float, float] | None = None
    permutation: tuple[int, ...] | None = None
    optical: float | None = None
    elastic_seed: int | None = None
    rain_seed: int | None = None
    strengths: tuple[float, float, tuple[float, float]] = (1.0, 0.1, (0.01, 0.03))


def _uniform(gen: torch.Generator, low: float, high: float) -> float:
    return low + (high - low) * float(torch.rand((), generator=gen))


def _chance(gen: torch.Generator, p: float) -> bool:
    return p > 0 and float(torch.rand((), generator=gen)) < p


def sample_clip_params(cfg: AugmentConfig, num_frames: int, gen: torch.Generator) -> ClipAugParams:
    """Draw one clip's augmentation choices.

    Args:
        cfg: which augmentations, how strong.
        num_frames: T of the clip (for the shuffle permutation).
        gen: the source of randomness.

    Returns:
        The choices; the same draws for the same generator state.
    """
    flip = _chance(gen, cfg.flip)
    jitter = None
    if cfg.colour_jitter > 0:
        s = cfg.colour_jitter
        jitter = (_uniform(gen, 1 - s, 1 + s), _uniform(gen, 1 - s, 1 + s),
                  _uniform(gen, 1 - s, 1 + s))
    affine = None
    if _chance(gen, cfg.affine):
        t = cfg.affine_translate
        affine = (_uniform(gen, -cfg.affine_degrees, cfg.affine_degrees),
                  _uniform(gen, -t, t), _uniform(gen, -t, t), _uniform(gen, *cfg.affine_scale))
    permutation = None
    if num_frames > 1 and _chance(gen, cfg.frame_shuffle):
        permutation = tuple(int(i) for i in torch.randperm(num_frames, generator=gen))
    # Each is drawn only when enabled: configs without them keep their random stream.
    optical = _uniform(gen, -cfg.optical_distortion_limit, cfg.optical_distortion_limit) \
        if _chance(gen, cfg.optical_distortion) else None
    elastic_seed = _seed(gen) if _chance(gen, cfg.elastic) else None
    rain_seed = _seed(gen) if _chance(gen, cfg.rain) else None
    return ClipAugParams(flip=flip, jitter=jitter, affine=affine, permutation=permutation,
                         optical=optical, elastic_seed=elastic_seed, rain_seed=rain_seed,
                         strengths=(cfg.elastic_alpha, cfg.elastic_sigma, cfg.rain_density))


def _seed(gen: torch.Generator) -> int:
    return int(torch.randint(0, 2**31 - 1, (), generator=gen))


def optical_distortion(clip_tchw: torch.Tensor, k1: float) -> torch.Tensor:
    """Radial lens distortion of every frame: a pinhole camera (focal length the
    frame's larger side, centred) with distortion coefficient ``k1`` (< 0: barrel,
    > 0: pincushion, whose corners come from outside the frame and are black)."""
    from kornia.geometry.calibration import undistort_image

    t, _, h, w = clip_tchw.shape
    focal = float(max(h, w))
    camera = torch.tensor([[focal, 0.0, w / 2], [0.0, focal, h / 2], [0.0, 0.0, 1.0]],
                          dtype=clip_tchw.dtype).expand(t, 3, 3)
    dist = torch.tensor([k1, 0.0, 0.0, 0.0], dtype=clip_tchw.dtype).expand(t, 4)
    return undistort_image(clip_tchw, camera, dist).clamp(0.0, 1.0)


def elastic_distortion(clip_tchw: torch.Tensor, seed: int, alpha: float,
                       sigma: float) -> torch.Tensor:
    """One smooth random displacement field (``seed``) for every frame: kornia's
    elastic transform, smoothed over ``sigma`` of the frame size, ``alpha`` strong."""
    import kornia.augmentation as K

    _, _, h, w = clip_tchw.shape
    sigma_px = max(1.0, sigma * min(h, w))
    kernel = 2 * int(2 * sigma_px) + 1
    op = K.RandomElasticTransform(kernel_size=(kernel, kernel), sigma=(sigma_px, sigma_px),
                                  alpha=(alpha, alpha), same_on_batch=True, p=1.0,
                                  padding_mode="border")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return op(clip_tchw).clamp(0.0, 1.0)


def rain(clip_tchw: torch.Tensor, seed: int, density: tuple[float, float]) -> torch.Tensor:
    """The same rain streaks (``seed``) on every RGB frame: kornia's ``RandomRain``
    with ``density`` (min, max) drops per pixel, streaks up to 1/8 of the height."""
    import kornia.augmentation as K

    _, _, h, w = clip_tchw.shape
    drops = (max(1, int(density[0] * h * w)), max(1, int(density[1] * h * w)))
    length = max(2, h // 8)
    op = K.RandomRain(number_of_drops=drops, drop_height=(max(1, length // 2), length),
                      drop_width=(-max(1, w // 32), max(1, w // 32)), same_on_batch=True,
                      p=1.0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return op(clip_tchw).clamp(0.0, 1.0)


def hflip(clip_tchw: torch.Tensor, is_flow: bool = False) -> torch.Tensor:
    """Mirror left-right; for flow (C = 2: x, y in [0, 1], 0.5 = still) negate x."""
    out = clip_tchw.flip(-1)
    if is_flow:
        out = out.clone()
        out[:, 0] = 1.0 - out[:, 0]
    return out


def colour_jitter(
    clip_tchw: torch.Tensor, brightness: float, contrast: float, saturation: float
) -> torch.Tensor:
    """Scale brightness, contrast (around the clip's mean grey) and saturation of RGB.

    One set of factors for the whole clip, so frames stay consistent; result in [0, 1].
    """
    if clip_tchw.shape[1] != 3:
        raise ValueError(f"colour_jitter needs RGB clips (T, 3, H, W), "
                         f"got {tuple(clip_tchw.shape)}")
    luma = torch.tensor(_LUMA, dtype=clip_tchw.dtype, device=clip_tchw.device).view(1, 3, 1, 1)
    out = clip_tchw * brightness
    mean_grey = (out * luma).sum(1, keepdim=True).mean()
    out = (out - mean_grey) * contrast + mean_grey
    grey = (out * luma).sum(1, keepdim=True)
    out = grey + (out - grey) * saturation
    return out.clamp(0.0, 1.0)


def affine(
    clip_tchw: torch.Tensor, angle_deg: float, tx: float, ty: float, scale: float
) -> torch.Tensor:
    """Rotate by ``angle_deg``, translate by (tx, ty) fractions of the size, zoom by
    ``scale``: the same transform for every frame; borders replicate the edge."""
    t, c, h, w = clip_tchw.shape
    angle = math.radians(angle_deg)
    cos, sin = math.cos(angle) / scale, math.sin(angle) / scale
    # affine_grid maps output to input coordinates in [-1, 1]: the inverse transform.
    theta = torch.tensor(
        [[cos, -sin * h / w, -2 * tx], [sin * w / h, cos, -2 * ty]],
        dtype=clip_tchw.dtype, device=clip_tchw.device,
    ).expand(t, 2, 3)
    grid = F.affine_grid(theta, [t, c, h, w], align_corners=False)
    return F.grid_sample(clip_tchw, grid, mode="bilinear", padding_mode="border",
                         align_corners=False)


def apply_clip_params(
    clip_tchw: torch.Tensor, params: ClipAugParams, *, is_flow: bool = False,
    colour: bool = True,
) -> torch.Tensor:
    """Apply one clip's choices (flip, jitter, affine, shuffle) to a (T, C, H, W) clip.

    Args:
        clip_tchw: float in [0, 1].
        params: from :func:`sample_clip_params`.
        is_flow: the clip is optical flow (x, y): flips negate x, no colour jitter,
            affine reduced to its translation.
        colour: apply the colour jitter (RGB clips that should look jittered).
    """
    out = clip_tchw
    if params.permutation is not None:
        if len(params.permutation) != out.shape[0]:
            raise ValueError(f"permutation of {len(params.permutation)} frames for a clip of "
                             f"{out.shape[0]}")
        out = out[list(params.permutation)]
    if params.flip:
        out = hflip(out, is_flow=is_flow)
    if params.jitter is not None and colour and not is_flow:
        out = colour_jitter(out, *params.jitter)
    if params.affine is not None:
        angle, tx, ty, scale = params.affine
        out = affine(out, 0.0, tx, ty, 1.0) if is_flow else affine(out, angle, tx, ty, scale)
    if not is_flow:
        alpha, sigma, density = params.strengths
        if params.optical is not None:
            out = optical_distortion(out, params.optical)
        if params.elastic_seed is not None:
            out = elastic_distortion(out, params.elastic_seed, alpha, sigma)
        if params.rain_seed is not None and colour and out.shape[1] == 3:
            out = rain(out, params.rain_seed, density)
    return out
