from __future__ import annotations

from pathlib import Path

import pytest

from components.errors import ConfigError
from flows.params import (
    apply_overrides,
    check_override_keys,
    expand_dotted,
    load_dataset_config,
    overridden,
)

PARAMS = """\
# top comment
ingest:
  root: data/synthetic   # dataset root
  split: 1
represent:
  mei:
    n: 10
    interval: 5
train_student:
  model_kwargs: {}        # builder arguments: any key
"""


def test_expand_dotted_nests_keys():
    assert expand_dotted({"a.b": 1, "a.c": 2, "d": {"e.f": 3}}) == {
        "a": {"b": 1, "c": 2}, "d": {"e": {"f": 3}}}


def test_overrides_merge_and_keep_comments(tmp_path: Path):
    path = tmp_path / "params.yaml"
    path.write_text(PARAMS)
    changed = apply_overrides(path, {"represent.mei.interval": 10, "ingest": {"split": 1}})
    assert changed == ["represent.mei.interval"]
    text = path.read_text()
    assert "# top comment" in text and "# dataset root" in text
    assert "interval: 10" in text and "n: 10" in text


def test_no_change_leaves_the_file_alone(tmp_path: Path):
    path = tmp_path / "params.yaml"
    path.write_text(PARAMS)
    before = path.stat().st_mtime_ns
    assert apply_overrides(path, {"ingest.split": 1}) == []
    assert path.stat().st_mtime_ns == before


def test_dataset_configs_shipped_in_conf_are_valid():
    root = Path(__file__).resolve().parents[2] / "conf" / "datasets"
    configs = sorted(root.glob("*.yaml"))
    assert configs
    for config in configs:
        data = load_dataset_config(config)
        assert data["ingest"]["format"] in {"ucf101", "hmdb51", "arid", "seags", "folder"}


def test_the_mei_paper_protocol_builds_valid_stream_configs():
    from components.config import from_mapping, load_params
    from components.jobs.config import StreamConfig
    from components.models.presets import deep_merge

    repo = Path(__file__).resolve().parents[2]
    protocol = load_dataset_config(repo / "conf" / "protocols" / "mei-paper.yaml")
    params = deep_merge(load_params(repo / "params.yaml"), protocol)
    # model: null is the preset's network, filled in by the stage before this check
    sections = {job: {k: v for k, v in params[job].items() if k != "model"}
                for job in ("train_normal", "train_motion")}
    normal = from_mapping(StreamConfig, sections["train_normal"], where="train_normal")
    motion = from_mapping(StreamConfig, sections["train_motion"], where="train_motion")
    assert (normal.epochs, motion.epochs) == (10, 50)
    assert normal.stop_at_top1 == motion.stop_at_top1 == 0.9
    assert params["train"]["preset"] == "paper"


def test_missing_dataset_config_is_named(tmp_path: Path):
    with pytest.raises(ConfigError, match="nope.yaml"):
        load_dataset_config(tmp_path / "nope.yaml")


PARAMS_TREE = {"ingest": {"root": "data", "split": 1},
               "represent": {"mei": {"n": 10, "interval": 5}},
               "train_student": {"model_kwargs": {}}}


@pytest.mark.parametrize("overrides", [
    {"represent.mei.interval": 10},
    {"represent": {"mei": {"n": 4}}, "ingest.split": 2},
    {"represent.mei": {"interval": 3}},
    {"train_student.model_kwargs.depth": 1},               # *kwargs sections are open
    {"train_student": {"model_kwargs": {"vit_kwargs": {"embed_dim": 32}}}},
])
def test_known_keys_pass(overrides: dict) -> None:
    check_override_keys(PARAMS_TREE, overrides)


@pytest.mark.parametrize(("overrides", "unknown", "close"), [
    ({"represent.mei.intervall": 10}, "represent.mei.intervall", "represent.mei.interval"),
    ({"represent": {"mei": {"nn": 4}}}, "represent.mei.nn", "represent.mei.n"),
    ({"ingest.split.fold": 1}, "ingest.split.fold", "ingest.split"),  # below a leaf
    ({"ingset": {"split": 2}}, "ingset", "ingest"),
])
def test_unknown_keys_name_the_closest_existing_key(overrides: dict, unknown: str,
                                                    close: str) -> None:
    with pytest.raises(ConfigError, match=rf"'{unknown}' \(did you mean '{close}'\?\)"):
        check_override_keys(PARAMS_TREE, overrides)


def test_a_run_gets_the_overrides_and_the_file_comes_back_byte_for_byte(tmp_path: Path):
    path = tmp_path / "params.yaml"
    path.write_text(PARAMS)
    path.chmod(0o640)
    before = path.read_bytes()
    with overridden(path, {"ingest": {"root": "/datasets/x"}},
                    {"represent.mei.interval": 7}) as changed:
        assert changed == ["ingest.root", "represent.mei.interval"]
        during = path.read_text()
        assert "root: /datasets/x" in during and "interval: 7" in during
        assert "# dataset root" in during
    assert path.read_bytes() == before
    assert path.stat().st_mode & 0o777 == 0o640


@pytest.mark.parametrize("error", [RuntimeError("stage failed"), KeyboardInterrupt()])
def test_the_file_comes_back_when_the_run_fails_or_is_interrupted(tmp_path: Path,
                                                                  error: BaseException):
    path = tmp_path / "params.yaml"
    path.write_text(PARAMS)
    before = path.read_bytes()
    with pytest.raises(type(error)), overridden(path, None, {"ingest.split": 2}):
        assert "split: 2" in path.read_text()
        raise error
    assert path.read_bytes() == before


def test_an_unknown_key_writes_nothing(tmp_path: Path):
    path = tmp_path / "params.yaml"
    path.write_text(PARAMS)
    before = path.stat().st_mtime_ns
    with pytest.raises(ConfigError, match="did you mean 'represent.mei.interval'"), \
            overridden(path, None, {"represent.mei.intervall": 3, "ingest.split": 2}):
        pytest.fail("the run started")
    assert path.stat().st_mtime_ns == before and path.read_text() == PARAMS


def test_a_key_the_dataset_config_adds_can_be_overridden(tmp_path: Path):
    path = tmp_path / "params.yaml"
    path.write_text(PARAMS)
    with overridden(path, {"ingest": {"format": "folder"}}, {"ingest.format": "arid"}):
        assert "format: arid" in path.read_text()
    assert path.read_text() == PARAMS


def test_an_edit_made_during_the_run_is_kept(tmp_path: Path):
    path = tmp_path / "params.yaml"
    path.write_text(PARAMS)
    with overridden(path, None, {"ingest.split": 2}):
        path.write_text(PARAMS.replace("n: 10", "n: 12"))  # the user, mid-run
    assert "n: 12" in path.read_text()
