"""Provenance pieces: file hashes, library versions, git state."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from components.errors import InputError
from components.tracking import git_state, library_versions
from components.tracking.provenance import LIBRARIES, UNKNOWN, file_sha256


def test_file_sha256_matches_hashlib(tmp_path: Path) -> None:
    path = tmp_path / "testlist01.txt"
    path.write_bytes(b"a/v_a_01.avi\n" * 100_000)  # several read chunks
    assert file_sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot hash"):
        file_sha256(tmp_path / "nope.txt")


def test_library_versions_cover_the_stack() -> None:
    versions = library_versions()
    assert set(LIBRARIES) | {"python"} <= set(versions)
    assert versions["mlflow"] != UNKNOWN
    assert versions["numpy"] != UNKNOWN
    if versions["av"] != UNKNOWN:  # PyAV reports the FFmpeg it bundles
        assert "av.libavcodec" in versions


def test_git_state_outside_a_repository(tmp_path: Path) -> None:
    state = git_state(tmp_path)
    assert state.commit == UNKNOWN
    assert state.dirty is None


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_git_state_of_a_repository(tmp_path: Path) -> None:
    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
            cwd=tmp_path,
            check=True,
            capture_output=True,
        )

    git("init", "-q")
    (tmp_path / "a.txt").write_text("1", encoding="utf-8")
    git("add", "a.txt")
    git("commit", "-q", "-m", "init")
    clean = git_state(tmp_path)
    assert len(clean.commit) == 40
    assert clean.dirty is False

    (tmp_path / "untracked.txt").write_text("x", encoding="utf-8")
    assert git_state(tmp_path).dirty is False  # untracked files do not count
    (tmp_path / "a.txt").write_text("2", encoding="utf-8")
    assert git_state(tmp_path) == type(clean)(commit=clean.commit, dirty=True)
