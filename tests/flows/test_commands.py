"""``har ablate`` and ``har claims``: what they refuse before any experiment starts."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from components.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def uncommitted_repo(tmp_path: Path) -> Path:
    """A folder with the shipped configs and no git commit."""
    shutil.copytree(ROOT / "conf", tmp_path / "conf")
    return tmp_path


@pytest.mark.parametrize("command", ["ablate", "claims"])
def test_a_folder_without_a_git_commit_is_refused(command: str, uncommitted_repo: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main([command, "--repo", str(uncommitted_repo)]) == 2
    error = capsys.readouterr().err
    assert f"har {command}: error:" in error and "needs a git commit" in error
    assert str(uncommitted_repo) in error


@pytest.mark.parametrize(("command", "option", "config"), [
    ("ablate", "--cells", "ablations.yaml"), ("claims", "--claims", "claims.yaml")])
def test_an_unknown_name_is_refused_naming_the_config(
        command: str, option: str, config: str, uncommitted_repo: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main([command, "--repo", str(uncommitted_repo), option, "no-such-name"]) == 2
    error = capsys.readouterr().err
    assert "no-such-name" in error and config in error
