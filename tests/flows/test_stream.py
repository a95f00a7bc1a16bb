"""flows.pipeline.stream_command: a stage's lines reach the log while it runs, plain."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from flows.pipeline import _env, stream_command

# Prints a coloured line, DVC's closing hint, then waits for the test's go-ahead: the
# first line must have been passed on while the command still runs.
SCRIPT = """\
import pathlib, sys, time
print("\\x1b[1;32mepoch 1/2\\x1b[0m  train loss 0.5")
print("To track the changes with git, run:\\n\\n\\tgit add dvc.lock")
print("on stderr", file=sys.stderr)
go = pathlib.Path(sys.argv[1])
deadline = time.monotonic() + 60
while not go.exists() and time.monotonic() < deadline:
    time.sleep(0.05)
print("epoch 2/2" if go.exists() else "never told to go")
sys.exit(4)
"""


def test_lines_stream_as_printed_without_ansi_or_dvc_hints(tmp_path: Path) -> None:
    go = tmp_path / "go"
    seen: list[tuple[str, bool]] = []

    def on_line(line: str) -> None:
        seen.append((line, go.exists()))
        if len(seen) == 2:  # both early lines are in: let the command finish
            go.touch()

    started = time.monotonic()
    code, tail = stream_command([sys.executable, "-c", SCRIPT, str(go)], str(tmp_path),
                                _env(), on_line)
    assert code == 4
    # The first two lines arrived before the command was let go, i.e. while it ran
    # (PYTHONUNBUFFERED from _env: a pipe would otherwise hold them to the end).
    assert seen[:2] == [("epoch 1/2  train loss 0.5", False), ("on stderr", False)], seen
    assert seen[2] == ("epoch 2/2", True)
    assert tail == [line for line, _ in seen] and len(seen) == 3
    assert time.monotonic() - started < 60


def test_stage_environment_asks_for_plain_output() -> None:
    env = _env()
    assert env["NO_COLOR"] == "1" and env["TERM"] == "dumb" and env["PYTHONUNBUFFERED"] == "1"
    assert env["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent)
