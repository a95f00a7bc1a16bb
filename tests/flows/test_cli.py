"""The flow modules have a command line: --help prints usage and runs nothing; bad
arguments, unknown override keys included, are refused before any stage or server
starts."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from flows import ablate, pipeline
from tests.pipeline_repo import REPO_ROOT


def _flow_cli(module: str, *args: str, prefect_home: Path) -> subprocess.CompletedProcess[str]:
    """``python -m <module> ARGS`` as a user runs it: no Prefect API configured, so a
    flow run would start a temporary server, which writes PREFECT_HOME/prefect.db."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PREFECT_API_URL", "PREFECT_PROFILES_PATH")}
    env["PREFECT_HOME"] = str(prefect_home)
    return subprocess.run([sys.executable, "-m", module, *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


@pytest.mark.parametrize("module", ["flows.pipeline", "flows.ablate"])
def test_help_as_a_command_exits_at_once_and_starts_no_server(module: str,
                                                              tmp_path: Path) -> None:
    home = tmp_path / "prefect-home"
    done = _flow_cli(module, "--help", prefect_home=home)
    assert done.returncode == 0, done.stderr
    assert f"usage: python -m {module}" in done.stdout
    assert "temporary server" not in done.stdout + done.stderr
    assert not _files(home), "a Prefect server started"


def test_a_typo_key_is_refused_with_the_closest_key_and_params_stay(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copy2(REPO_ROOT / "params.yaml", repo / "params.yaml")
    before = (repo / "params.yaml").read_bytes()
    home = tmp_path / "prefect-home"
    done = _flow_cli("flows.pipeline", "--repo", str(repo), "--stages", "represent_mei",
                     "-S", "represent.mei.intervall=3", prefect_home=home)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "'represent.mei.intervall'" in done.stderr
    assert "did you mean 'represent.mei.interval'?" in done.stderr
    assert (repo / "params.yaml").read_bytes() == before
    assert not _files(home), "a Prefect server started"


@pytest.mark.parametrize("module", [pipeline, ablate])
def test_help_prints_usage_and_runs_nothing(module, capsys: pytest.CaptureFixture[str],  # noqa: ANN001
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    ran = []
    monkeypatch.setattr(module, "har_pipeline" if module is pipeline else "har_ablate",
                        lambda **kwargs: ran.append(kwargs))
    with pytest.raises(SystemExit) as exited:
        module.main(["--help"])
    assert exited.value.code == 0 and not ran
    assert "usage: python -m flows." in capsys.readouterr().out


def test_pipeline_arguments_reach_the_flow(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    monkeypatch.setattr(pipeline, "har_pipeline", lambda **kwargs: calls.append(kwargs))
    pipeline.main(["--stages", "synth", "ingest", "--set", "train_student.epochs=3",
                   "-S", "represent.mei.method=equal", "--force"])
    (call,) = calls
    assert call["stages"] == ["synth", "ingest"] and call["force"] is True
    assert call["sweep"] is False
    assert call["overrides"] == {"train_student.epochs": 3, "represent.mei.method": "equal"}


def test_dry_run_checks_and_prints_the_plan_without_running(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(pipeline, "har_pipeline", lambda **kwargs: pytest.fail("ran"))
    pipeline.main(["--stages", "evaluate", "-S", "evaluate.split=val", "--dry-run"])
    out = capsys.readouterr().out
    assert "stages: evaluate" in out and "override: evaluate.split = 'val'" in out
    pipeline.main(["--stages", "evaluate", "--sweep", "--dry-run"])
    assert "stages: evaluate tune (sweeps/dvc.yaml:tune)" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["--stages", "nope"], ["--set", "no-equals-sign"],
                                  ["-S", "train_student.epochz=3"], ["-S", "nope=1"],
                                  ["--dataset-config", "conf/datasets/nope.yaml"]])
def test_bad_arguments_are_refused(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "har_pipeline", lambda **kwargs: pytest.fail("ran"))
    with pytest.raises(SystemExit) as exited:
        pipeline.main(argv)
    assert exited.value.code == 2
