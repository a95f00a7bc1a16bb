"""Optical flow: quantisation, direction of a known translation, RAFT guards."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from components.errors import InputError
from components.representations import (
    RepresentationError,
    dequantize_flow,
    flow_to_rgb,
    optical_flow,
    quantize_flow,
    to_gray,
)

PACKAGE = Path(__file__).resolve().parents[2] / "components" / "representations"
SHIFT = 3


def _texture(size: int, seed: int = 0) -> np.ndarray:
    """A smooth random grey texture of (size + 16, size + 16), full contrast."""
    rng = np.random.default_rng(seed)
    noise = rng.integers(0, 256, (size + 16, size + 16)).astype(np.float32)
    smooth = cv2.GaussianBlur(noise, (0, 0), 2.0)
    smooth = (smooth - smooth.min()) / (smooth.max() - smooth.min()) * 255.0
    return smooth.astype(np.uint8)


def _shifted_pair(size: int, dx: int) -> np.ndarray:
    """(2, size, size, 3) RGB clip whose content moves by dx pixels in x."""
    tex = _texture(size)
    first = tex[8 : 8 + size, 8 : 8 + size]
    second = tex[8 : 8 + size, 8 - dx : 8 - dx + size]  # second[x] = first[x - dx]
    return np.repeat(np.stack([first, second])[..., None], 3, axis=-1)


# --------------------------------------------------------------------------- quantisation


def test_quantize_hand_computed():
    f = np.array([-20.0, -25.0, 0.0, 20.0, 30.0, 10.0], np.float32)
    # (f + 20) * 255 / 40: 0, 0 (clipped), 127.5 -> 128 (ties to even), 255, 255, 191.25
    assert quantize_flow(f, 20.0).tolist() == [0, 0, 128, 255, 255, 191]
    assert quantize_flow(np.array([1.0]), 1.0).tolist() == [255]


def test_dequantize_inverts_within_half_a_step():
    f = np.linspace(-20, 20, 1001, dtype=np.float32)
    back = dequantize_flow(quantize_flow(f, 20.0), 20.0)
    assert back.dtype == np.float32
    assert np.abs(back - f).max() <= 20.0 / 255 + 1e-5
    assert dequantize_flow(np.array([0, 255], np.uint8), 20.0).tolist() == [-20.0, 20.0]


# --------------------------------------------------------------------------- CPU methods


@pytest.mark.parametrize(("method", "size"), [("tvl1", 32), ("farneback", 48), ("dis", 48)])
def test_known_translation_points_the_right_way(method, size):
    for dx in (SHIFT, -SHIFT):
        clip = _shifted_pair(size, dx)
        q = optical_flow(clip, method, bound=20.0)
        assert q.shape == (1, size, size, 2) and q.dtype == np.uint8
        inner = dequantize_flow(q, 20.0)[0, 6:-6, 6:-6]
        mean_x, mean_y = float(inner[..., 0].mean()), float(inner[..., 1].mean())
        assert np.sign(mean_x) == np.sign(dx), (method, dx, mean_x)
        assert abs(mean_x - dx) < 1.0, (method, dx, mean_x)
        assert abs(mean_y) < 0.5, (method, dx, mean_y)


def test_static_clip_has_zero_flow_and_shape():
    tex = _texture(40)[:40, :40]
    clip = np.repeat(np.repeat(tex[None, ..., None], 3, axis=0), 3, axis=-1)
    q = optical_flow(clip, "farneback")
    assert q.shape == (2, 40, 40, 2)
    assert np.abs(dequantize_flow(q)).max() <= 20.0 / 255 + 1e-5  # 128 everywhere


def test_grey_input_and_clipping_to_bound():
    clip = _shifted_pair(48, SHIFT)[..., :1]  # single channel
    q = optical_flow(clip, "dis", bound=1.0)  # 3 px shift is beyond the bound
    inner = q[0, 6:-6, 6:-6, 0]
    assert np.median(inner) == 255


def test_options_are_passed_and_checked():
    clip = _shifted_pair(32, SHIFT)
    q = optical_flow(clip, "farneback", options={"levels": 2, "winsize": 9})
    assert q.shape == (1, 32, 32, 2)
    with pytest.raises(RepresentationError, match="unknown farneback"):
        optical_flow(clip, "farneback", options={"bogus": 1})
    with pytest.raises(RepresentationError, match="unknown dis option"):
        optical_flow(clip, "dis", options={"Bogus": 1})
    with pytest.raises(RepresentationError, match="dis_preset"):
        optical_flow(clip, "dis", dis_preset="slowest")


def test_to_gray_is_bt601():
    frames = np.zeros((1, 1, 1, 3), np.uint8)
    frames[..., 1] = 200
    assert to_gray(frames)[0, 0, 0] == round(0.587 * 200)


@pytest.mark.parametrize("t", [0, 1])
def test_fewer_than_two_frames_is_an_error(t):
    with pytest.raises(RepresentationError, match="at least 2"):
        optical_flow(np.zeros((t, 8, 8, 3), np.uint8), "farneback")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"method": "lucas"}, "method"), ({"bound": 0}, "bound"), ({"bound": -3.0}, "bound")],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(RepresentationError, match=match):
        optical_flow(np.zeros((2, 8, 8, 3), np.uint8), **kwargs)


# --------------------------------------------------------------------------- picture


def test_flow_to_rgb_direction_and_magnitude():
    f = np.zeros((2, 3, 2), np.float32)
    f[0, 0] = (20.0, 0.0)  # right, full magnitude: red
    f[0, 1] = (0.0, 10.0)  # down, half magnitude
    rgb = flow_to_rgb(f, bound=20.0)
    assert rgb.shape == (2, 3, 3) and rgb.dtype == np.uint8
    assert rgb[0, 0].tolist() == [255, 0, 0]
    assert rgb[1, 2].tolist() == [0, 0, 0]  # zero flow is black
    assert max(rgb[0, 1]) in (127, 128)
    q = quantize_flow(f, 20.0)[None]  # uint8 input is decoded with the bound
    assert flow_to_rgb(q, 20.0).shape == (1, 2, 3, 3)
    assert flow_to_rgb(q, 20.0)[0, 0, 0].tolist() == [255, 0, 0]


# --------------------------------------------------------------------------- RAFT


def test_raft_without_weights_is_a_clear_error():
    with pytest.raises(RepresentationError, match="raft_weights"):
        optical_flow(np.zeros((2, 8, 8, 3), np.uint8), "raft")


def test_raft_missing_weights_file_names_it(tmp_path):
    missing = tmp_path / "raft_small.pth"
    with pytest.raises(InputError) as err:
        optical_flow(np.zeros((2, 8, 8, 3), np.uint8), "raft", raft_weights=missing)
    assert err.value.path == missing
    assert "never downloaded" in str(err.value)


@pytest.mark.slow
def test_raft_runs_with_local_weights(tmp_path):
    torch = pytest.importorskip("torch")
    from torchvision.models.optical_flow import raft_small

    torch.manual_seed(0)
    weights = tmp_path / "raft_small.pth"
    torch.save(raft_small(weights=None).state_dict(), weights)
    clip = _shifted_pair(32, SHIFT)
    clip = np.concatenate([clip, clip[:1]])
    q = optical_flow(clip, "raft", raft_weights=weights, batch_size=1, num_flow_updates=2)
    assert q.shape == (2, 32, 32, 2) and q.dtype == np.uint8

    wrong = tmp_path / "not_raft.pth"
    torch.save({"conv.weight": torch.zeros(1)}, wrong)
    with pytest.raises(InputError) as err:
        optical_flow(clip, "raft", raft_weights=wrong)
    assert err.value.path == wrong and "raft_small" in str(err.value)


# --------------------------------------------------------------------------- import hygiene

FORBIDDEN = {"ray", "mlflow", "prefect", "dvc", "av"}


def test_package_never_imports_orchestration_or_av():
    for path in sorted(PACKAGE.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name.split(".")[0] not in FORBIDDEN, f"{path.name} imports {name}"


def test_torch_is_imported_only_by_raft():
    code = (
        "import sys, numpy as np\n"
        "import components.representations as r\n"
        "c = np.random.default_rng(0).integers(0, 256, (3, 16, 16, 3), dtype=np.uint8)\n"
        "r.optical_flow(c, 'dis'); r.optical_flow(c, 'farneback')\n"
        "r.motion_embedded_images(c, 2, 1); r.gamma_correct(c, 'auto')\n"
        "r.rank_pooled_images(c, 2, 1)\n"
        "bad = {'torch', 'torchvision', 'ray', 'mlflow', 'prefect', 'dvc', 'av'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in bad))\n"
    )
    root = PACKAGE.parents[1]
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]", done.stdout + done.stderr
