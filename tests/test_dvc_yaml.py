"""Stage hygiene of dvc.yaml and sweeps/dvc.yaml, read statically: each stage runs a
``har`` sub-command, reads params.yaml sections that exist, and lists as deps every
library module its command imports, so that DVC re-runs it when that code changes."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest
import yaml

from components.cli import STAGES

REPO_ROOT = Path(__file__).resolve().parents[1]
PIPELINE_FILES = ("dvc.yaml", "sweeps/dvc.yaml")
#: The code that computes outputs. Orchestration and infrastructure (the CLI, console,
#: errors, atomic writes, Ray start-up, MLflow tracking, export) are not followed: a
#: change there does not change what a stage writes.
LIBRARY = tuple(f"components/{p}/" for p in (
    "data", "representations", "models", "jobs", "training", "evaluation", "inference",
    "tuning")
    ) + ("components/metrics.py",)
SUB_COMMANDS = {name: module for name, module, _ in STAGES}


def _stages() -> list[tuple[str, dict]]:
    return [(f"{file}:{name}", spec) for file in PIPELINE_FILES
            for name, spec in yaml.safe_load((REPO_ROOT / file).read_text())["stages"].items()]


def _module_file(module: str) -> str | None:
    """The repository-relative file of a ``components`` module or package, if any."""
    for candidate in (Path(*module.split(".")).with_suffix(".py"),
                      Path(*module.split("."), "__init__.py")):
        if (REPO_ROOT / candidate).is_file():
            return candidate.as_posix()
    return None


@cache
def _imports(file: str) -> frozenset[str]:
    """Files of the ``components`` modules ``file`` imports, at any depth of its code
    (a function's own imports count: they run when it does)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse((REPO_ROOT / file).read_text())):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        found |= {f for n in names if n.startswith("components.")
                  if (f := _module_file(n)) is not None}
    return frozenset(found)


def _library_closure(file: str) -> set[str]:
    """The library modules ``file`` imports, and theirs, transitively."""
    seen: set[str] = set()
    todo = [f for f in _imports(file) if f.startswith(LIBRARY)]
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo += [f for f in _imports(current) if f.startswith(LIBRARY)]
    return seen


def _only_a_docstring(file: str) -> bool:
    body = ast.parse((REPO_ROOT / file).read_text()).body
    return all(isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant) for n in body)


def _param_exists(params: dict, dotted: str) -> bool:
    node = params
    for key in dotted.split("."):
        if not isinstance(node, dict) or key not in node:
            return False
        node = node[key]
    return True


@pytest.mark.parametrize(("stage", "spec"), _stages(), ids=[s for s, _ in _stages()])
def test_a_stage_runs_har_and_reads_existing_params(stage: str, spec: dict) -> None:
    words = spec["cmd"].split()
    assert words[0] == "har" and words[1] in SUB_COMMANDS, (stage, spec["cmd"])
    params = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
    for entry in spec.get("params", []):
        keys = [k for keys in entry.values() for k in keys] if isinstance(entry, dict) \
            else [entry]
        missing = [k for k in keys if not _param_exists(params, k)]
        assert not missing, f"{stage}: params.yaml has no {missing}"
    for dep in map(str, spec.get("deps", [])):
        if dep.startswith(("components/", "conf/")):
            assert (REPO_ROOT / dep).exists(), f"{stage}: dep {dep} does not exist"


@pytest.mark.parametrize(("stage", "spec"), _stages(), ids=[s for s, _ in _stages()])
def test_a_stage_depends_on_the_library_code_its_command_imports(stage: str,
                                                                  spec: dict) -> None:
    command = _module_file(SUB_COMMANDS[spec["cmd"].split()[1]])
    assert command is not None
    deps = [str(d).rstrip("/") for d in spec.get("deps", [])]
    needed = {command} | {f for f in _library_closure(command) if not _only_a_docstring(f)}
    uncovered = sorted(f for f in needed
                       if not any(f == d or f.startswith(d + "/") for d in deps))
    assert not uncovered, f"{stage}: add to its deps (its command imports them): {uncovered}"
