"""The flow modules have a command line: --help prints usage and runs nothing; bad
arguments are refused before any stage starts."""

from __future__ import annotations

import pytest

from flows import ablate, pipeline


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
                   "--set", "represent.mei.method=equal", "--force"])
    (call,) = calls
    assert call["stages"] == ["synth", "ingest"] and call["force"] is True
    assert call["overrides"] == {"train_student.epochs": 3, "represent.mei.method": "equal"}


@pytest.mark.parametrize("argv", [["--stages", "nope"], ["--set", "no-equals-sign"]])
def test_bad_arguments_are_refused(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "har_pipeline", lambda **kwargs: pytest.fail("ran"))
    with pytest.raises(SystemExit) as exited:
        pipeline.main(argv)
    assert exited.value.code == 2
