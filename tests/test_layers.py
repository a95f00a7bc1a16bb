"""The house's import rules (docs/CONVENTIONS.md), read from the source: every import,
at module level or inside a function, counts."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    """The absolute module names ``path`` imports (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _modules(folder: str) -> dict[str, set[str]]:
    """``components/x/y.py`` -> what it imports, for every file under ``folder``."""
    return {str(p.relative_to(ROOT)): _imports(p) for p in sorted((ROOT / folder).rglob("*.py"))}


COMPONENTS = _modules("components")


def _offenders(prefixes: tuple[str, ...], forbidden: tuple[str, ...],
               allowed: tuple[str, ...] = ()) -> list[str]:
    return sorted(
        f"{path} imports {name}"
        for path, names in COMPONENTS.items()
        if path.startswith(prefixes) and not path.startswith(allowed)
        for name in names
        if any(name == f or name.startswith(f + ".") for f in forbidden))


@pytest.mark.parametrize(("importers", "forbidden"), [
    (("components/",), ("flows",)),
    (("components/inference/", "components/export/", "components/evaluation/",
      "components/tracking/", "components/jobs/"), ("components.training",)),
    (("components/data/", "components/representations/", "components/models/",
      "components/jobs/"), ("ray", "mlflow", "prefect", "dvc", "components.stages",
                            "components.training", "components.tracking")),
], ids=["components-never-flows", "never-training", "library-never-services"])
def test_no_arrow_points_the_wrong_way(importers: tuple[str, ...],
                                       forbidden: tuple[str, ...]) -> None:
    assert _offenders(importers, forbidden) == []


def test_pyav_only_in_the_video_package_and_mlflow_only_in_tracking() -> None:
    assert _offenders(("components/",), ("av",), allowed=("components/data/video/",)) == []
    assert _offenders(("components/",), ("mlflow",), allowed=("components/tracking/",)) == []


def test_the_packages_import_each_other_without_a_cycle() -> None:
    edges: dict[str, set[str]] = defaultdict(set)
    for path, names in COMPONENTS.items():
        parts = Path(path).parts
        if len(parts) < 3:
            continue  # top-level modules (components/cli.py, _atomic.py, ...) are leaves
        source = parts[1]
        for name in names:
            bits = name.split(".")
            if len(bits) > 2 and bits[0] == "components" and \
                    (ROOT / "components" / bits[1]).is_dir() and bits[1] != source:
                edges[source].add(bits[1])

    def cycle_from(start: str, seen: tuple[str, ...]) -> tuple[str, ...] | None:
        for nxt in sorted(edges.get(seen[-1], ())):
            if nxt == start:
                return (*seen, start)
            if nxt not in seen:
                found = cycle_from(start, (*seen, nxt))
                if found:
                    return found
        return None

    cycles = {c for package in sorted(edges) if (c := cycle_from(package, (package,)))}
    assert not cycles, " ; ".join(" -> ".join(c) for c in sorted(cycles))
