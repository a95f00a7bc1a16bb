"""Artifacts: files, folders, figures, config."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import pytest

from components.errors import InputError
from components.tracking import log_artifact, log_config, log_figure, training_run
from components.tracking.artifacts import to_plain

from ._support import Tracking


class _Light(Enum):
    DARK = "dark"


@dataclass(frozen=True)
class _Cfg:
    light: _Light = _Light.DARK
    size: tuple[int, int] = (64, 64)
    root: Path = Path("data/x")


def test_to_plain_makes_yaml_safe_values() -> None:
    assert to_plain({"cfg": _Cfg(), "ids": {3, 1}}) == {
        "cfg": {"light": "dark", "size": [64, 64], "root": "data/x"},
        "ids": [1, 3],
    }


def test_files_folders_figures_and_config(tracking: Tracking, tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    report = tmp_path / "report.json"
    report.write_text("{}", encoding="utf-8")
    folder = tmp_path / "plots"
    folder.mkdir()
    (folder / "a.txt").write_text("a", encoding="utf-8")
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [1, 0])

    with training_run("artifacts", experiment=tracking.experiment) as run:
        assert log_artifact(report) == "report.json"
        assert log_artifact(report, "eval") == "eval/report.json"
        log_artifact(folder, "extra")
        assert log_figure(fig, "figures/curve") == "figures/curve.png"
        text = log_config(_Cfg(), artifact_file="conf/resolved.yaml")
        with pytest.raises(InputError, match="no such file"):
            log_artifact(tmp_path / "missing.bin")
    plt.close(fig)

    def listed(path: str | None = None) -> set[str]:
        return {item.path for item in tracking.client.list_artifacts(run.run_id, path)}

    assert {"report.json", "eval", "extra", "figures", "conf"} <= listed()
    assert listed("eval") == {"eval/report.json"}
    assert listed("extra") == {"extra/a.txt"}
    assert listed("figures") == {"figures/curve.png"}
    assert "light: dark" in text
