"""A video file is represented and scored exactly as training evaluated its shards."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from components.data.manifest import read_manifest
from components.data.shards import ShardReader
from components.errors import InputError
from components.inference import (
    VideoPredictor,
    VideoScores,
    fuse_probabilities,
    load_trained,
    represent_video_file,
    score_records,
    score_shards,
    top_k,
)
from inference._support import Shards, probs_close


def _test_videos(shards: Shards) -> list[tuple[str, Path, int]]:
    rows = [r for r in read_manifest(shards.ingest / "manifest.csv") if r.split == "test"]
    return [(r.path, shards.videos / r.path, r.label_index) for r in rows]


@pytest.mark.parametrize("kind", ["frames", "gamma", "mei"])
def test_a_file_is_represented_as_its_shard_record(shards: Shards, kind: str) -> None:
    with ShardReader(shards.represent / kind) as reader:
        params = reader.params
        for key, path, _ in _test_videos(shards):
            records, frames = represent_video_file(path, {kind: params}, key=key)
            np.testing.assert_array_equal(records[kind].read(key), reader.read(key))
            meta = reader.record_meta(key)
            assert records[kind].record_meta(key)["positions"] == meta["positions"]
            assert frames == 12


@pytest.mark.slow
@pytest.mark.parametrize("job", ["teacher", "student", "normal", "motion"])
def test_file_scores_equal_shard_scores(shards: Shards, trained: dict[str, Path],
                                        job: str) -> None:
    model = load_trained(trained[job])
    assert model.job == job and model.model.training is False
    from_shards = score_shards(model, shards.ingest, shards.represent, split="test")
    videos = _test_videos(shards)
    assert from_shards.keys == tuple(key for key, _, _ in videos)
    np.testing.assert_allclose(from_shards.probs.sum(1), 1.0, rtol=1e-5)
    for row, (key, path, label) in enumerate(videos):
        records, _ = represent_video_file(path, model.representations)
        assert set(records) == set(model.kinds.values())
        scores = score_records(model, records, str(path), path)
        assert scores.keys == (str(path),) and scores.labels.tolist() == [-1]
        assert scores.items[0] == from_shards.items[row]
        assert probs_close(scores.probs[0], from_shards.probs[row]), (job, key)
        assert from_shards.labels[row] == label


@pytest.mark.slow
def test_two_streams_fuse_to_the_mean_of_their_shard_scores(shards: Shards,
                                                              trained: dict[str, Path]) -> None:
    normal, motion = load_trained(trained["normal"]), load_trained(trained["motion"])
    fused = fuse_probabilities([score_shards(m, shards.ingest, shards.represent)
                                for m in (normal, motion)], [1.0, 3.0])
    predictor = VideoPredictor({"normal": normal, "motion": motion}, weights=[1.0, 3.0])
    assert predictor.classes == normal.classes
    for row, (_, path, _) in enumerate(_test_videos(shards)):
        probs = predictor.probabilities(path)
        assert probs_close(probs, fused.probs[row])
        assert probs.sum() == pytest.approx(1.0, rel=1e-6)
        assert predictor.top(path, 2) == top_k(probs, predictor.classes, 2)


def _scores(keys: tuple[str, ...], probs: list[list[float]],
            classes: tuple[str, ...] = ("a", "b", "c")) -> VideoScores:
    return VideoScores(keys, np.asarray(probs, dtype=np.float64), np.arange(len(keys)),
                       classes, np.ones(len(keys), np.int64))


def test_fusion_is_a_weighted_mean_over_common_videos() -> None:
    first = _scores(("v1", "v2", "v3"), [[1, 0, 0], [0, 1, 0], [0, 0, 1]])
    second = _scores(("v3", "v1"), [[1, 0, 0], [0, 0, 1]])
    fused = fuse_probabilities([first, second])
    assert fused.keys == ("v1", "v3")
    np.testing.assert_allclose(fused.probs, [[0.5, 0, 0.5], [0.5, 0, 0.5]])
    assert fused.items.tolist() == [2, 2]
    weighted = fuse_probabilities([first, second], [3, 1])
    np.testing.assert_allclose(weighted.probs[0], [0.75, 0, 0.25])


@pytest.mark.parametrize("weights", [[1.0], [1.0, -1.0], [0.0, 0.0]])
def test_fusion_rejects_weights_that_do_not_fit(weights: list[float]) -> None:
    parts = [_scores(("v",), [[1, 0, 0]]), _scores(("v",), [[0, 1, 0]])]
    with pytest.raises(ValueError, match="weights"):
        fuse_probabilities(parts, weights)


def test_fusion_rejects_other_classes_and_nothing() -> None:
    with pytest.raises(ValueError, match="different classes"):
        fuse_probabilities([_scores(("v",), [[1, 0, 0]]),
                            _scores(("v",), [[1, 0, 0]], ("a", "b", "x"))])
    with pytest.raises(ValueError, match="nothing"):
        fuse_probabilities([])


def test_top_k_is_best_first_and_stable() -> None:
    classes = ("a", "b", "c", "d")
    assert top_k(np.array([0.1, 0.4, 0.1, 0.4]), classes, 3) == [("b", 0.4), ("d", 0.4),
                                                                  ("a", 0.1)]
    assert [c for c, _ in top_k(np.array([0.1, 0.2, 0.3, 0.4]), classes, 10)] == \
        ["d", "c", "b", "a"]
    assert all(isinstance(p, float) for _, p in top_k(np.array([0.5, 0.5]), ("x", "y")))


# --------------------------------------------------------------------------- errors


def _copy(folder: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(folder, tmp_path / folder.name))


def test_load_names_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="model.json: trained model info not found"):
        load_trained(tmp_path / "nothing")


def test_load_names_missing_weights(trained: dict[str, Path], tmp_path: Path) -> None:
    folder = _copy(trained["motion"], tmp_path)
    (folder / "model.pt").unlink()
    with pytest.raises(InputError, match=r"model\.pt: trained weights not found"):
        load_trained(folder)


def test_load_names_an_old_model_json(trained: dict[str, Path], tmp_path: Path) -> None:
    folder = _copy(trained["motion"], tmp_path)
    info = json.loads((folder / "model.json").read_text())
    del info["representations"], info["kinds"]
    (folder / "model.json").write_text(json.dumps(info))
    with pytest.raises(InputError, match="lacks kinds, representations: retrain"):
        load_trained(folder)


def test_load_names_weights_that_do_not_fit(trained: dict[str, Path], tmp_path: Path) -> None:
    folder = _copy(trained["motion"], tmp_path)
    info = json.loads((folder / "model.json").read_text())
    info["model_kwargs"]["num_classes"] = 7
    (folder / "model.json").write_text(json.dumps(info))
    with pytest.raises(InputError, match="weights do not fit mobilenetv2_100"):
        load_trained(folder)


def test_shards_made_otherwise_are_refused(shards: Shards, trained: dict[str, Path],
                                           tmp_path: Path) -> None:
    folder = _copy(trained["motion"], tmp_path)
    info = json.loads((folder / "model.json").read_text())
    info["representations"]["mei"]["kind_params"]["n"] = 5
    (folder / "model.json").write_text(json.dumps(info))
    with pytest.raises(InputError, match="'mei' shards were made with"):
        score_shards(load_trained(folder), shards.ingest, shards.represent)


def test_a_missing_video_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="nope.mp4: video file not found"):
        represent_video_file(tmp_path / "nope.mp4", {"frames": {"height": 32, "width": 32}})


def test_an_undecodable_video_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"this is not a video" * 100)
    with pytest.raises(InputError, match="bad.mp4: cannot decode"):
        represent_video_file(bad, {"frames": {"height": 32, "width": 32}})


def test_a_too_short_video_is_named(write_test_video) -> None:
    path = write_test_video("short.mp4", num_frames=1)
    size = {"height": 32, "width": 32}
    records, frames = represent_video_file(path, {"gamma": {**size, "kind_params": {}}})
    assert frames == 1 and records["gamma"].read(str(path)).shape == (1, 32, 32, 3)
    with pytest.raises(InputError, match=r"short\.mp4: flow"):
        represent_video_file(path, {"flow": {**size, "kind_params": {"method": "dis"}}})


def test_a_predictor_refuses_parts_over_other_classes(trained: dict[str, Path],
                                                      tmp_path: Path) -> None:
    folder = _copy(trained["motion"], tmp_path)
    info = json.loads((folder / "model.json").read_text())
    info["classes"] = ["w", "x", "y", "z"]
    (folder / "model.json").write_text(json.dumps(info))
    with pytest.raises(ValueError, match="cannot fuse"):
        VideoPredictor.from_folders({"normal": trained["normal"], "motion": folder})
    with pytest.raises(ValueError, match="fusion weights"):
        VideoPredictor.from_folders({"normal": trained["normal"]}, weights=[1.0, 1.0])
