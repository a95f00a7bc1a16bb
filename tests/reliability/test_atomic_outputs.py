"""Outputs of a killed stage: the next run removes the temporaries its dead writer left
(and only those), and finished outputs get the permissions the umask gives."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from components._atomic import atomic_dir, atomic_path


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_stale_temporaries_of_a_dead_writer_are_removed(tmp_path: Path) -> None:
    final = tmp_path / "mei"
    dead = tmp_path / f".tmp-mei.{_dead_pid()}.abc123"
    (dead / "shard-00000.bin").parent.mkdir()
    (dead / "shard-00000.bin").write_bytes(b"\0" * 1024)
    live = tmp_path / f".tmp-mei.{os.getppid()}.def456"  # a writer that still runs
    live.mkdir()
    other = tmp_path / f".tmp-gamma.{_dead_pid()}.ghi789"  # another output's: not ours
    other.mkdir()
    with atomic_dir(final) as tmp:
        (tmp / "meta.json").write_text("{}")
    assert (final / "meta.json").is_file()
    assert not dead.exists() and live.is_dir() and other.is_dir()


def test_outputs_follow_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        with atomic_dir(tmp_path / "folder") as tmp:
            (tmp / "file").write_text("x")
        with atomic_path(tmp_path / "file.json") as tmp:
            tmp.write_text("{}")
    finally:
        os.umask(old)
    assert (tmp_path / "folder").stat().st_mode & 0o777 == 0o755
    assert (tmp_path / "file.json").stat().st_mode & 0o777 == 0o644

