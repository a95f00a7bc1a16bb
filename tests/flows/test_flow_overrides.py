"""A flow run with overrides runs its stages on the overridden values, then gives
the user's params.yaml back byte for byte, also when a stage fails."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.pipeline_repo import copy_project


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_project(tmp_path_factory.mktemp("repo"))  # the tiny synth section


def _locked_synth(repo: Path) -> dict:
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    return lock["stages"]["synth"]["params"]["params.yaml"]["synth"]


@pytest.mark.integration
@pytest.mark.slow
def test_an_override_run_uses_the_value_and_leaves_params_yaml_as_it_was(
        repo: Path, prefect_harness: None) -> None:
    from flows.pipeline import har_pipeline

    before = (repo / "params.yaml").read_bytes()
    assert yaml.safe_load(before)["synth"]["num_frames"] == 12
    outcomes = har_pipeline(repo=str(repo), stages=["synth"],
                            overrides={"synth.num_frames": 10})
    assert [(o.name, o.ran) for o in outcomes] == [("synth", True)]
    assert _locked_synth(repo)["num_frames"] == 10  # DVC ran synth on the override
    assert (repo / "params.yaml").read_bytes() == before


@pytest.mark.integration
@pytest.mark.slow
def test_a_failed_override_run_gives_params_yaml_back_too(repo: Path,
                                                          prefect_harness: None) -> None:
    from flows.pipeline import har_pipeline

    before = (repo / "params.yaml").read_bytes()
    with pytest.raises(RuntimeError, match=r"(?s)stage .synth. failed.*num_frames"):
        har_pipeline(repo=str(repo), stages=["synth"], overrides={"synth.num_frames": 1})
    assert (repo / "params.yaml").read_bytes() == before
