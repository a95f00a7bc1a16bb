"""Motion Embedded Images: weights, batching, rounding, edge cases."""

from __future__ import annotations

import numpy as np
import pytest

from components.representations import RepresentationError, mei_weights, motion_embedded_images


def _clip(values, h: int = 1, w: int = 1, c: int = 1) -> np.ndarray:
    """(T, h, w, c) uint8 clip whose frame t is filled with values[t]."""
    v = np.asarray(values, dtype=np.uint8)
    return np.broadcast_to(v[:, None, None, None], (len(v), h, w, c)).copy()


def _exact_reference(frames: np.ndarray, n: int, interval: int, method: str) -> np.ndarray:
    """Integer-exact MEIs, rounded to nearest with ties to even (independent of the code)."""
    t = len(frames)
    size = min(n, t)
    starts = [0] if t < n else list(range(0, t - n + 1, interval))
    num = np.ones(size, np.int64) if method == "equal" else np.arange(1, size + 1)
    den = int(num.sum())
    out = []
    for s in starts:
        total = np.tensordot(num, frames[s : s + size].astype(np.int64), axes=1)
        q, r = np.divmod(total, den)
        up = (2 * r > den) | ((2 * r == den) & (q % 2 == 1))
        out.append((q + up).astype(np.uint8))
    return np.stack(out)


@pytest.fixture
def moving_clip() -> np.ndarray:
    """A bright 2x2 square moving right by 2 px a frame over 8 frames (16x16 RGB)."""
    frames = np.zeros((8, 16, 16, 3), np.uint8)
    for t in range(8):
        frames[t, 6:8, t * 2 : t * 2 + 2] = 200
    return frames


def test_weights_hand_computed():
    np.testing.assert_allclose(mei_weights(4, "equal"), [0.25] * 4)
    np.testing.assert_allclose(mei_weights(4, "gradient"), [0.1, 0.2, 0.3, 0.4])
    w = mei_weights(10, "gradient")
    assert w.sum() == pytest.approx(1.0) and np.all(np.diff(w) > 0)
    assert w[-1] == pytest.approx(10 / 55)


def test_equal_and_gradient_hand_computed():
    frames = _clip([0, 3, 6])
    eq, base = motion_embedded_images(frames, n=3, interval=3, method="equal")
    assert eq.shape == (1, 1, 1, 1) and eq.dtype == np.uint8
    assert eq[0, 0, 0, 0] == 3  # (0 + 3 + 6) / 3
    gr, _ = motion_embedded_images(frames, n=3, interval=3, method="gradient")
    assert gr[0, 0, 0, 0] == 4  # (1*0 + 2*3 + 3*6) / 6 = 24 / 6
    assert base.tolist() == [2]


def test_gradient_rounds_to_nearest():
    # (1*10 + 2*20 + 3*31) / 6 = 143 / 6 = 23.83 -> 24 ; equal: 61 / 3 = 20.33 -> 20
    frames = _clip([10, 20, 31])
    assert motion_embedded_images(frames, 3, 3, "gradient")[0][0, 0, 0, 0] == 24
    assert motion_embedded_images(frames, 3, 3, "equal")[0][0, 0, 0, 0] == 20


@pytest.mark.parametrize(("a", "b", "expected"), [(0, 1, 0), (1, 2, 2), (2, 3, 2), (254, 255, 254)])
def test_ties_round_to_even(a, b, expected):
    out, _ = motion_embedded_images(_clip([a, b]), n=2, interval=2, method="equal")
    assert out[0, 0, 0, 0] == expected


def test_full_range_stays_in_range():
    frames = _clip([255] * 10)
    for method in ("equal", "gradient"):
        out, _ = motion_embedded_images(frames, 10, 10, method)
        assert out.max() == 255


@pytest.mark.parametrize("method", ["equal", "gradient"])
@pytest.mark.parametrize(("t", "n", "interval"), [(20, 10, 5), (23, 4, 3), (9, 3, 7), (5, 5, 1)])
def test_matches_exact_reference(method, t, n, interval):
    frames = np.random.default_rng(t * 100 + n).integers(0, 256, (t, 5, 6, 3), dtype=np.uint8)
    out, _ = motion_embedded_images(frames, n, interval, method)
    np.testing.assert_array_equal(out, _exact_reference(frames, n, interval, method))
    # and agrees with a plain float64 weighted sum to within rounding
    w = mei_weights(n, method)
    first = np.tensordot(w, frames[:n].astype(np.float64), axes=1)
    assert np.abs(out[0].astype(np.float64) - first).max() <= 0.5 + 1e-9


def test_batch_count_and_base_frames():
    frames = np.zeros((10, 2, 2, 3), np.uint8)
    out, base = motion_embedded_images(frames, n=3, interval=2)
    assert out.shape == (4, 2, 2, 3)  # (10 - 3) // 2 + 1
    assert base.tolist() == [2, 4, 6, 8]
    assert base.dtype == np.int64


def test_t_equals_n_gives_one_image():
    frames = np.random.default_rng(0).integers(0, 256, (5, 3, 3, 1), dtype=np.uint8)
    out, base = motion_embedded_images(frames, n=5, interval=5)
    assert out.shape == (1, 3, 3, 1) and base.tolist() == [4]


def test_t_shorter_than_n_renormalises_over_all_frames():
    frames = _clip([30, 90])
    gr, base = motion_embedded_images(frames, n=10, interval=10, method="gradient")
    assert gr.shape[0] == 1 and base.tolist() == [1]
    assert gr[0, 0, 0, 0] == 70  # (1*30 + 2*90) / 3
    eq, _ = motion_embedded_images(frames, n=10, interval=10, method="equal")
    assert eq[0, 0, 0, 0] == 60
    one, base1 = motion_embedded_images(_clip([77]), n=10, interval=3)
    assert one[0, 0, 0, 0] == 77 and base1.tolist() == [0]


def test_interval_larger_than_n_skips_frames_between_batches():
    values = [10, 20, 255, 255, 40, 50, 255, 255, 70, 80]
    out, base = motion_embedded_images(_clip(values), n=2, interval=4, method="equal")
    assert base.tolist() == [1, 5, 9]
    assert out[:, 0, 0, 0].tolist() == [15, 45, 75]  # the 255 frames are never used


def test_overlapping_batches():
    out, base = motion_embedded_images(_clip([0, 6, 12, 18]), n=3, interval=1, method="equal")
    assert base.tolist() == [2, 3]
    assert out[:, 0, 0, 0].tolist() == [6, 12]


def test_static_clip_equal_and_gradient_agree():
    frame = np.random.default_rng(1).integers(0, 256, (1, 8, 8, 3), dtype=np.uint8)
    frames = np.repeat(frame, 12, axis=0)
    eq, _ = motion_embedded_images(frames, 4, 4, "equal")
    gr, _ = motion_embedded_images(frames, 4, 4, "gradient")
    np.testing.assert_array_equal(eq, gr)
    np.testing.assert_array_equal(eq[0], frame[0])


def test_moving_clip_equal_and_gradient_differ(moving_clip):
    eq, _ = motion_embedded_images(moving_clip, 8, 8, "equal")
    gr, _ = motion_embedded_images(moving_clip, 8, 8, "gradient")
    assert not np.array_equal(eq, gr)
    # the gradient image is brightest where the square ended up (latest frame)
    row = gr[0, 6, :, 0].astype(int)
    assert row[14:16].min() > row[0:2].max()


def test_reversing_time_changes_gradient_but_not_equal(moving_clip):
    rev = moving_clip[::-1]
    eq, _ = motion_embedded_images(moving_clip, 8, 8, "equal")
    eq_r, _ = motion_embedded_images(rev, 8, 8, "equal")
    np.testing.assert_array_equal(eq, eq_r)
    gr, _ = motion_embedded_images(moving_clip, 8, 8, "gradient")
    gr_r, _ = motion_embedded_images(rev, 8, 8, "gradient")
    assert not np.array_equal(gr, gr_r)


def test_non_contiguous_input():
    frames = np.random.default_rng(2).integers(0, 256, (6, 8, 10, 3), dtype=np.uint8)
    view = frames[:, ::2, 1::3]
    out, _ = motion_embedded_images(view, 3, 3)
    ref, _ = motion_embedded_images(np.ascontiguousarray(view), 3, 3)
    np.testing.assert_array_equal(out, ref)


def test_large_n_uses_wider_accumulator():
    frames = np.full((40, 2, 2, 1), 255, np.uint8)  # gradient denominator 820: > uint16
    out, _ = motion_embedded_images(frames, 40, 40, "gradient")
    assert out.max() == 255 and out.min() == 255


def test_empty_clip_is_an_error():
    with pytest.raises(RepresentationError, match="empty clip"):
        motion_embedded_images(np.zeros((0, 4, 4, 3), np.uint8), 10, 10)


@pytest.mark.parametrize(
    ("frames", "kwargs", "match"),
    [
        (np.zeros((4, 4, 4), np.uint8), {}, "T, H, W, C"),
        (np.zeros((4, 4, 4, 3), np.float32), {}, "uint8"),
        (np.zeros((4, 4, 4, 3), np.uint8), {"n": 0}, "n must"),
        (np.zeros((4, 4, 4, 3), np.uint8), {"interval": -1}, "interval must"),
        (np.zeros((4, 4, 4, 3), np.uint8), {"method": "median"}, "method"),
    ],
)
def test_bad_arguments(frames, kwargs, match):
    with pytest.raises(RepresentationError, match=match):
        motion_embedded_images(frames, **kwargs)
