"""The har pipeline as a Prefect flow: one task per DVC stage, in DAG order.

Run it once, locally (Prefect starts a temporary API server):

    python -m flows.pipeline [--stages ...] [-S KEY=VALUE ...] [--sweep] [--dry-run] [--help]

Overrides hold for the run only: params.yaml is given back byte for byte
afterwards (see :mod:`flows.params`).

Serve it as a deployment with ``python -m flows.deploy`` (see README).

A run that includes a Ray stage (representations, training) starts one local Ray
head for all of them (:mod:`components.ray_head`) unless ``RAY_ADDRESS`` is set,
and stops it when the run ends, fails or is interrupted. Each stage's output
streams into the flow-run log line by line as it is printed, without ANSI codes.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from flows.params import load_dataset_config, overridden
from flows.stages import PIPELINE, SWEEP, StageSpec, stage_names

REPO_ROOT = Path(__file__).resolve().parents[1]
#: Written by the evaluate stage (components/stages/evaluate.py).
RESULTS_TABLE = Path("reports/eval/results.md")


@dataclass(frozen=True)
class StageOutcome:
    """One stage of a flow run: did DVC run it (else it was up to date), how long."""

    name: str
    ran: bool
    seconds: float


def _dvc() -> str:
    """The dvc executable beside this interpreter (the project's .venv), else PATH's."""
    local = Path(sys.executable).with_name("dvc")
    return str(local) if local.exists() else "dvc"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")  # stages call `har`
    env.setdefault("OMP_NUM_THREADS", "1")
    # Plain lines, flushed as printed: the flow-run log is no terminal.
    env.update(NO_COLOR="1", TERM="dumb", PYTHONUNBUFFERED="1")
    return env


#: Colour and cursor codes (CSI sequences), should a tool print them anyway.
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
#: DVC's closing hint after a repro (git add dvc.lock, autostage): no use in a flow
#: run, whose lock file the run's owner commits.
_DVC_HINTS = ("To track the changes with git, run:", "git add ", "To enable auto staging, run:",
              "dvc config core.autostage true")


def stream_command(cmd: list[str], cwd: str, env: dict[str, str],
                   on_line: Callable[[str], None], tail_lines: int = 200) -> tuple[int, list[str]]:
    """Run ``cmd`` with stderr merged into stdout, passing each line (ANSI codes
    removed, DVC's git hints dropped) to ``on_line`` as soon as it is printed.

    Returns:
        (exit status, the last ``tail_lines`` lines passed on).
    """
    tail: deque[str] = deque(maxlen=tail_lines)
    with subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
                          errors="replace", bufsize=1) as proc:
        assert proc.stdout is not None
        try:
            for raw in proc.stdout:
                line = _ANSI.sub("", raw.rstrip("\r\n")).rstrip()
                if not line.strip() or line.strip().startswith(_DVC_HINTS):
                    continue
                tail.append(line)
                on_line(line)
        except BaseException:
            proc.terminate()  # interrupted flow: the stage goes too (DVC passes it on)
            raise
        return proc.wait(), list(tail)


def run_dvc_stage(name: str, target: str, repo: str, force: bool = False) -> StageOutcome:
    """Run ``dvc repro --single-item TARGET`` (stage ``name``'s, ``StageSpec.dvc_target``)
    in ``repo``, its output streaming into the flow-run log; raise with the output's
    tail on failure."""
    logger = get_run_logger()
    cmd = [_dvc(), "repro", "--single-item", target] + (["--force"] if force else [])
    started = time.monotonic()
    skipped = False

    def log_line(line: str) -> None:
        nonlocal skipped
        skipped = skipped or "didn't change, skipping" in line or "is cached - skipping" in line
        logger.info("%s | %s", name, line)

    code, tail = stream_command(cmd, repo, _env(), log_line)
    seconds = time.monotonic() - started
    if code != 0:
        output = "\n".join(tail)
        raise RuntimeError(f"stage {name!r} failed (dvc exit {code}):\n{output[-4000:]}")
    return StageOutcome(name, not skipped, round(seconds, 2))


#: Stages that run on Ray (their ``har`` sub-command joins ``RAY_ADDRESS``).
RAY_STAGES = ("represent_", "train_", "tune")


@contextlib.contextmanager
def shared_ray(stages: list[str] | None) -> Iterator[str | None]:
    """One local Ray head for ``stages`` (None: the whole pipeline) when one of them
    runs on Ray and no ``RAY_ADDRESS`` is set; yields the address the stages join
    (None: no head). The stages may run in DVC experiments' temporary clones (``har
    claims``, ``har ablate``): they and the head's workers import the package
    installed in the project's venv alike.

    The address and the head's token go into this process's environment for the
    block (the stage subprocesses inherit it; not a task parameter, so the token
    stays out of Prefect's records) and are taken out again, and the head stopped,
    when the block ends, also on failure or interrupt."""
    from components.ray_head import local_ray_head

    if os.environ.get("RAY_ADDRESS", "").strip() or \
            (stages is not None and not any(name.startswith(RAY_STAGES) for name in stages)):
        yield os.environ.get("RAY_ADDRESS") or None
        return
    with local_ray_head() as head:
        saved = {key: os.environ.get(key) for key in head.env}
        os.environ.update(head.env)
        try:
            yield head.address
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def stage_task(spec: StageSpec):  # type: ignore[no-untyped-def]
    """The Prefect task for one stage (named after it, with its retries)."""
    return task(
        run_dvc_stage, name=spec.name, task_run_name=f"{spec.name}",
        retries=spec.retries, retry_delay_seconds=5,
    )


def dataset_layer(repo: str, dataset_config: str | None) -> dict[str, Any]:
    """The sections of ``dataset_config`` (relative to ``repo`` or absolute); {} for None."""
    if not dataset_config:
        return {}
    path = Path(dataset_config)
    return load_dataset_config(path if path.is_absolute() else Path(repo) / path)


def _parameters_markdown(changed: list[str], overrides: dict[str, Any] | None,
                         dataset_config: str | None) -> str:
    if not changed:
        return "params.yaml as it is (no overrides).\n"
    lines = [f"- dataset config: `{dataset_config}`"] if dataset_config else []
    lines += [f"- `{key}` = `{value!r}`" for key, value in (overrides or {}).items()]
    return ("\n".join(lines) + f"\n\nChanged for this run only: {', '.join(changed)}; "
            "params.yaml was restored afterwards.\n")


@flow(name="har-pipeline", log_prints=True)
def har_pipeline(
    dataset_config: str | None = None,
    overrides: dict[str, Any] | None = None,
    stages: list[str] | None = None,
    repo: str = str(REPO_ROOT),
    force: bool = False,
    sweep: bool = False,
) -> list[StageOutcome]:
    """Run the pipeline's DVC stages in DAG order.

    Args:
        dataset_config: a ``conf/datasets/*.yaml`` file (relative to ``repo`` or
            absolute) whose sections override params.yaml.
        overrides: parameter overrides, nested (``{"train_student": {"epochs": 3}}``)
            or dotted (``{"train_student.epochs": 3}``), applied after the dataset
            config; every key must be in params.yaml (or the dataset config).
            Both are merged into ``repo``'s params.yaml for the run, as ``dvc exp
            run -S`` does, and the file is restored byte for byte afterwards,
            whether the run succeeds, fails or is interrupted.
        stages: run only these stages (still in DAG order); default all.
        repo: the repository (DVC project) to run in.
        force: re-run stages even when DVC finds them up to date.
        sweep: also run the LIFT-Net sweep (``sweeps/dvc.yaml:tune``, task ``tune``)
            after the selected stages, as ``make demo`` does; then a bare ``dvc
            status`` after the run lists nothing.
    """
    unknown = sorted(set(stages or []) - set(stage_names()))
    if unknown:
        raise ValueError(f"unknown stage(s) {unknown}; known: {stage_names()}")
    logger = get_run_logger()
    outcomes: list[StageOutcome] = []
    with overridden(Path(repo) / "params.yaml", dataset_layer(repo, dataset_config),
                    overrides) as changed:
        logger.info("params.yaml for this run: %s",
                    ", ".join(changed) + " changed" if changed else "as it is")
        selected = [spec for spec in PIPELINE if not stages or spec.name in stages]
        selected += [SWEEP] if sweep else []
        with shared_ray([spec.name for spec in selected]) as address:
            if address:
                logger.info("Ray stages join the Ray at %s", address)
            for spec in selected:
                outcomes.append(stage_task(spec)(spec.name, spec.dvc_target, repo, force))
    rows = "\n".join(
        f"| {o.name} | {'ran' if o.ran else 'up to date'} | {o.seconds:.1f} |" for o in outcomes
    )
    results = Path(repo) / RESULTS_TABLE
    table = results.read_text(encoding="utf-8") if results.is_file() else \
        "(no results table yet: the evaluate stage has not run)\n"
    create_markdown_artifact(
        key="har-pipeline-results",
        markdown=(f"# har pipeline\n\n## Results\n\n{table}\n"
                  f"## Stages\n\n| stage | status | seconds |\n|---|---|---|\n{rows}\n\n"
                  f"## Parameters\n\n"
                  f"{_parameters_markdown(changed, overrides, dataset_config)}"),
        description="metrics table (links to the MLflow runs), the DVC stages run and "
                    "the run's parameter overrides",
    )
    return outcomes


def _parse_overrides(parser: argparse.ArgumentParser, items: list[str]) -> dict[str, Any]:
    import yaml

    overrides: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            parser.error(f"-S/--set takes KEY=VALUE, got {item!r}")
        overrides[key] = yaml.safe_load(value)
    return overrides


def main(argv: list[str] | None = None) -> None:
    """``python -m flows.pipeline [options]``: one run of the flow (a temporary local
    Prefect server unless PREFECT_API_URL is set). Arguments and override keys are
    checked before anything starts."""
    import signal

    from components.config import load_params
    from components.errors import HarError
    from flows.params import check_override_keys, merged

    parser = argparse.ArgumentParser(
        prog="python -m flows.pipeline",
        description="Run the har pipeline's DVC stages as a Prefect flow, in DAG order. "
                    "Overrides hold for this run only: params.yaml is restored afterwards.")
    parser.add_argument("--dataset-config", help="a conf/datasets/*.yaml over params.yaml")
    parser.add_argument("-S", "--set", "--set-param", dest="set", action="append", default=[],
                        metavar="KEY=VALUE",
                        help="a params.yaml override, dotted (train_student.epochs=3), as "
                             "dvc exp run -S; the key must exist, the value is read as "
                             "YAML; repeatable")
    parser.add_argument("--stages", nargs="+", choices=stage_names(), metavar="STAGE",
                        help=f"only these stages, still in DAG order: {', '.join(stage_names())}")
    parser.add_argument("--force", action="store_true", help="re-run up-to-date stages")
    parser.add_argument("--sweep", action="store_true",
                        help="then run the LIFT-Net sweep too (sweeps/dvc.yaml:tune, "
                             "params.yaml tune:), as make demo does")
    parser.add_argument("--repo", default=str(REPO_ROOT), help="the DVC project to run in")
    parser.add_argument("--dry-run", action="store_true",
                        help="check the arguments, print the stages and overrides, run nothing")
    args = parser.parse_args(argv)
    overrides = _parse_overrides(parser, args.set)
    try:  # before Prefect starts a server: a typo costs nothing
        layer = dataset_layer(args.repo, args.dataset_config)
        params = load_params(Path(args.repo) / "params.yaml")
        check_override_keys(merged(params, [layer]), overrides,
                            Path(args.repo) / "params.yaml")
    except (HarError, OSError) as error:
        parser.error(str(error))
    if args.dry_run:
        print("stages:", " ".join((args.stages or stage_names())
                                  + ([f"{SWEEP.name} ({SWEEP.dvc_target})"] if args.sweep
                                     else [])))
        if args.dataset_config:
            print("dataset config:", args.dataset_config)
        for key, value in overrides.items():
            print(f"override: {key} = {value!r}")
        return
    # A plain kill (SIGTERM) unwinds like Ctrl-C, so params.yaml is still restored.
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        har_pipeline(dataset_config=args.dataset_config, overrides=overrides or None,
                     stages=args.stages, repo=args.repo, force=args.force, sweep=args.sweep)
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    main()
