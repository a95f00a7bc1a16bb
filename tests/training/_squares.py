"""A tiny direction-of-motion dataset written by tests: a bright square moving left or
right over a static noisy background, as real H.264 files in the UCF101 layout.

Scene ``gNN`` has one video of each class on the same background, so a background
says nothing about the class; only the direction of motion does. ``dark`` records
the scenes at 8 % exposure with sensor noise (ARID-like).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from components.data.video import write_video

CLASSES = ("Left", "Right")


def write_squares(root: Path, lighting: str, *, train_scenes: int = 12, test_scenes: int = 16,
                  frames: int = 32, size: int = 64, seed: int = 0) -> Path:
    """Write ``2 * (train_scenes + test_scenes)`` videos and the split lists; returns root."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    train, test = [], []
    for scene in range(train_scenes + test_scenes):
        blocks = rng.uniform(0.15, 0.45, (size // 8, size // 8, 1))
        background = np.repeat(np.repeat(blocks, 8, 0), 8, 1).repeat(3, 2)
        background = background + rng.normal(0, 0.03, background.shape)
        for label, name in enumerate(CLASSES):
            side = int(rng.integers(10, 14))
            row = int(rng.integers(0, size - side))
            speed = rng.uniform(1.2, 1.5)  # pixels a frame
            travel = speed * (frames - 1)
            start = rng.uniform(0, size - side - travel)
            clip = np.repeat(background[None], frames, axis=0)
            for t in range(frames):
                x = int(start + (travel - speed * t if name == "Left" else speed * t))
                clip[t, row:row + side, x:x + side] = 0.95
            clip = clip * 255.0
            if lighting == "dark":
                clip = clip * 0.08 + rng.normal(0, 1.0, clip.shape)
            rel = f"{name}/v_{name}_g{scene + 1:02d}_c01.mp4"
            (root / name).mkdir(exist_ok=True)
            write_video(root / rel, np.clip(np.rint(clip), 0, 255).astype(np.uint8), fps=8,
                        crf=17)
            if scene < train_scenes:
                train.append(f"{rel} {label + 1}")
            else:
                test.append(rel)
    (root / "classInd.txt").write_text("".join(f"{i + 1} {c}\n" for i, c in enumerate(CLASSES)))
    (root / "trainlist01.txt").write_text("\n".join(train) + "\n")
    (root / "testlist01.txt").write_text("\n".join(test) + "\n")
    return root
