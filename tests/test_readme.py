"""README.md's commands work as written, from the repository root of a fresh clone.

The rule that picks the commands this test runs (issue 12, item 4):

* A *command* is a line of a fenced ```` ```bash ```` block of README.md (``\\``
  continuations joined, ``# comments`` dropped).
* ``source ...``, ``set -a; source ...; set +a`` and ``export ...`` lines set the
  shell up; every other command is SHORT or LONG by the patterns below, and one
  that is neither fails :func:`test_every_readme_command_is_short_or_long`, so a
  new README command has to be classified here.
* SHORT: read-only and seconds long (help, listings, status). They run, each in
  ``bash`` from the repository root after the set-up lines above it in its block,
  with the PATH of a shell that has not activated the environment: a block that
  calls ``har`` or ``dvc`` without ``source .venv/bin/activate`` fails, as it would
  for a reader who pastes it.
* LONG: training, the demo, servers, experiments, clusters, and whatever writes
  into the checkout (``dvc plots show``): documented, not run here.

Cheaper checks beside them: every ``har <sub-command>`` the README names exists,
and every repository path it names in backticks exists.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"

SHORT = tuple(re.compile(p) for p in (
    r"^har (--help|--version)$",
    r"^har models\b",
    r"^dvc (dag|status)\b",
    r"^dvc (exp show|metrics show|params diff)\b",
    r"^python -m flows\.pipeline .*--dry-run\b",
))
LONG = tuple(re.compile(p) for p in (
    r"^make\b",                                           # the demo, tests, set-up
    r"^har (synth|ingest|represent|show|train|tune|evaluate|predict|ablate|claims|export"
    r"|stream|explain|with-ray|plots)\b",
    r"^dvc (repro|exp run|exp apply|plots show|push|pull)\b",
    r"^(\.venv/bin/)?python -m (flows\.|pytest\b|bench\.)",
    r"^(\.venv/bin/)?(mlflow|prefect) ",                  # servers, deployments
    r"^[A-Z_]+=\S+ +\\?",                                 # VAR=value server commands
    r"^(kubectl|curl) ",                                  # a cluster; a server's client
))
SETUP = re.compile(r"^(source |export |set -a\b)")
ACTIVATE = "source .venv/bin/activate"
#: Commands that exist only in the project's environment.
VENV_TOOLS = {"har", "dvc", "mlflow", "prefect", "python", "pytest", "ray", "uvicorn"}
#: Where committed files live; other paths (data/, models/, metrics/, ...) are outputs.
REPO_ROOTS = ("components/", "flows/", "conf/", "tests/", "bench/", "docs/", "scripts/",
              "sweeps/")
REPO_FILES = {"params.yaml", "dvc.yaml", "dvc.lock", "prefect.yaml", "pyproject.toml",
              "requirements.lock", "Makefile", "README.md"}


@dataclass(frozen=True)
class Command:
    """One README command: its text and the set-up lines above it in its block."""

    text: str
    setup: tuple[str, ...]
    line: int  # README line where it starts (1-based)


def bash_blocks(text: str) -> list[list[tuple[int, str]]]:
    """The ```bash blocks of ``text``: (line number, line) of each line inside one."""
    blocks: list[list[tuple[int, str]]] = []
    current: list[tuple[int, str]] | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if current is None and line.strip() == "```bash":
            current = []
        elif current is not None and line.strip() == "```":
            blocks.append(current)
            current = None
        elif current is not None:
            current.append((number, line))
    return blocks


def _strip_comment(line: str) -> str:
    """``line`` without a trailing ``# comment`` outside quotes."""
    quote = ""
    for i, char in enumerate(line):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line.rstrip()


def commands(text: str) -> list[Command]:
    """Every command of every ```bash block, with its block's earlier set-up lines."""
    found: list[Command] = []
    for block in bash_blocks(text):
        setup: list[str] = []
        pending, start = "", 0
        for number, raw in block:
            line = _strip_comment(raw)
            if not pending:
                start = number
            if line.endswith("\\"):
                pending += line[:-1].strip() + " "
                continue
            command = (pending + line.strip()).strip()
            pending = ""
            if not command:
                continue
            if SETUP.match(command):
                setup.append(command)
            else:
                found.append(Command(command, tuple(setup), start))
    return found


def kind(command: str) -> str:
    """"short", "long" or "" (neither: classify it)."""
    if any(p.search(command) for p in SHORT):
        return "short"
    if any(p.search(command) for p in LONG):
        return "long"
    return ""


def _tool(command: str) -> str:
    """The program a command runs (after VAR=value assignments)."""
    words = [w for w in command.split() if not re.match(r"^[A-Z_][A-Z0-9_]*=", w)]
    return words[0] if words else ""


README_COMMANDS = commands(README.read_text(encoding="utf-8"))


def test_commands_are_read_from_the_readme() -> None:
    assert len(README_COMMANDS) >= 20
    texts = [c.text for c in README_COMMANDS]
    assert "make demo" in texts
    # a continued line is one command, its comment dropped
    serve = next(c for c in README_COMMANDS if "mlflow models serve" in c.text)
    assert serve.text.startswith("MLFLOW_TRACKING_URI=") and "#" not in serve.text


def test_the_rule_splits_commands_as_documented() -> None:
    assert kind("har --help") == "short" and kind("dvc status") == "short"
    assert kind("python -m flows.pipeline -S a.b=1 --dry-run") == "short"
    assert kind("python -m flows.pipeline") == "long"
    assert kind("make demo") == "long" and kind("dvc plots show") == "long"
    assert kind("rm -rf data") == ""


def test_every_readme_command_is_short_or_long() -> None:
    unclassified = [f"README.md:{c.line}: {c.text}" for c in README_COMMANDS if not kind(c.text)]
    assert not unclassified, "add a SHORT or LONG pattern for:\n" + "\n".join(unclassified)


def test_blocks_that_call_the_environments_tools_activate_it_first() -> None:
    # `.venv/bin/mlflow models serve` alone fails: it starts `uvicorn` by name.
    missing = [f"README.md:{c.line}: {c.text}" for c in README_COMMANDS
               if _tool(c.text) in VENV_TOOLS and ACTIVATE not in c.setup]
    assert not missing, f"put `{ACTIVATE}` first in these blocks:\n" + "\n".join(missing)


def test_every_har_sub_command_the_readme_names_exists() -> None:
    from components.cli import STAGES  # what `har --help` lists

    text = README.read_text(encoding="utf-8")
    code = re.findall(r"`([^`\n]+)`", text) + [line for block in bash_blocks(text)
                                               for _, line in block]
    named = {m.group(1) for span in code
             for m in re.finditer(r"(?:^|[\s(])har ([a-z][\w-]*)", span)}
    assert named, "the README names no har sub-command"
    assert named <= {name for name, _, _ in STAGES}, named - {name for name, _, _ in STAGES}


def test_every_repository_path_in_backticks_exists() -> None:
    spans = set(re.findall(r"`([^`\n]+)`", README.read_text(encoding="utf-8")))
    paths = {span.split(":")[0] for span in spans
             if not re.search(r"[\s<>*{}$|]", span)
             and (span.startswith(REPO_ROOTS) or span in REPO_FILES)}
    assert len(paths) >= 10
    missing = sorted(p for p in paths if not (REPO / p).exists())
    assert not missing, f"README.md names paths that are not in the repository: {missing}"


def _fresh_shell_env() -> dict[str, str]:
    """This environment without the project's venv on PATH, as a new terminal has it."""
    env = dict(os.environ)
    venv_bins = {str(REPO / ".venv" / "bin"), str(Path(sys.executable).parent)}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if p and p not in venv_bins)
    for key in ("VIRTUAL_ENV", "PYTHONHOME", "DVC_EXP_NAME"):
        env.pop(key, None)
    env.update(OMP_NUM_THREADS="1", DVC_NO_ANALYTICS="1", COLUMNS="120")
    return env


SHORT_COMMANDS = [c for c in README_COMMANDS if kind(c.text) == "short"]
WATCHED = ("params.yaml", "dvc.yaml", "dvc.lock")  # what a dvc or flow command could rewrite


def test_the_readme_has_short_commands_to_run() -> None:
    assert len(SHORT_COMMANDS) >= 5, [c.text for c in SHORT_COMMANDS]


@pytest.mark.integration
@pytest.mark.parametrize("command", SHORT_COMMANDS, ids=[c.text for c in SHORT_COMMANDS])
def test_short_readme_command_runs_as_written(command: Command) -> None:
    before = {name: (REPO / name).read_bytes() for name in WATCHED}
    script = "set -e\n" + "\n".join((*command.setup, command.text)) + "\n"
    proc = subprocess.run(["bash", "-c", script], cwd=REPO, env=_fresh_shell_env(),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, (f"README.md:{command.line}: {command.text}\n"
                                  f"{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    assert proc.stdout.strip(), f"{command.text} printed nothing"
    changed = [name for name in WATCHED if (REPO / name).read_bytes() != before[name]]
    assert not changed, f"{command.text} changed {changed}"
