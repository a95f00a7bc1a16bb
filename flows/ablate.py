"""``har ablate``: the LIFT-Net and MEI ablation tables, one DVC experiment per cell.

Each cell of ``conf/ablations.yaml`` is a Prefect task that runs::

    dvc exp run --temp --name <prefix>-<cell> -S key=value ... evaluate

(``evaluate`` and the stages it needs: not ``show``, nor a representation no
model reads). ``--temp`` runs the experiment in a temporary clone under ``.dvc/tmp/exps`` (HEAD
plus the workspace's uncommitted changes to tracked files), so the workspace is
left alone; the DVC cache and run-cache are shared, so only the stages whose
parameters the cell changes run again. DVC names the experiment in
``DVC_EXP_NAME``: the training and evaluate runs it starts carry the MLflow tag
``har.dvc_exp=<name>``. The task then reads the experiment's
``metrics/eval.json`` (``dvc exp show --json``) and finds the MLflow run behind
every number: the experiment's tagged runs for the stages it ran, else the
links its evaluate stage recorded (``reports/eval/results.csv``) for models it
took from the cache.

A failing cell is recorded as failed, with the reason, and the others go on.
Tables go to ``reports/ablation/<table>.md`` and ``.csv`` (rows of cells not run
this time are kept from the previous CSV, for the same dataset), and the Markdown
to a Prefect artifact. Run it with ``har ablate`` or in-process::

    python -m flows.ablate            # every table
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State

from components.ablation import (
    CellResult,
    TableSpec,
    dataset_key,
    failed,
    load_config,
    results_from_csv,
    select,
    set_params,
    table_csv,
    table_markdown,
    table_rows,
)
from components.ablation.config import ROW_JOBS
from components.ablation.experiments import (
    DATASET_METRICS,
    EVAL_METRICS,
    CellFailed,
    ExperimentRun,
    experiment_repository,
    in_repository,
    read_at,
    recorded_links,
    run_experiment,
)
from flows.pipeline import shared_ray

REPO_ROOT = Path(__file__).resolve().parents[1]
REPORT_DIR = Path("reports/ablation")


def _links(repo: str, run: ExperimentRun, rows: list[str], tracking_uri: str
           ) -> tuple[dict[str, str], str]:
    """(row -> link of the run behind it, link of the evaluation run).

    A stage the experiment ran logged a run tagged with the experiment's name;
    a stage DVC took from its cache did not, and the model's run is the one the
    experiment's evaluate stage recorded.
    """
    from components.tracking.lookup import dvc_experiment_runs

    tagged = dvc_experiment_runs(run.name, tracking_uri=tracking_uri, since_ms=run.since_ms)
    recorded = recorded_links(repo, run.rev)
    ran = run.stages_run
    evaluation = tagged.get("evaluate")
    evaluate_link = (evaluation.url if evaluation and "evaluate" in ran else
                     recorded.get("two_stream") or recorded.get("ensemble") or "")
    links: dict[str, str] = {}
    for row in rows:
        job = ROW_JOBS.get(row)
        if job is None:
            continue
        if job == "evaluate":
            links[row] = evaluate_link
            continue
        tagged_run = tagged.get(f"train-{job}")
        links[row] = (tagged_run.url if tagged_run and f"train_{job}" in ran
                      else recorded.get(row, ""))
    return links, evaluate_link


def _dataset_info(repo: str, run: ExperimentRun) -> dict[str, Any]:
    """The experiment's ``data/ingest/dataset.json``: an output, not a DVC metric, so
    read from its commit (``dvc exp show`` has it only for experiments made before)."""
    text = read_at(repo, DATASET_METRICS, run.rev)
    return dict(json.loads(text)) if text else run.metrics(DATASET_METRICS)


def experiment_failure(state: State[Any]) -> tuple[str, float]:
    """Why a failed experiment task failed (its exception, else Prefect's message, else
    "failed") and the seconds it ran (:class:`CellFailed` carries them)."""
    error = state.result(raise_on_failure=False)
    message = str(error) if isinstance(error, BaseException) else (state.message or "")
    return message or "failed", error.seconds if isinstance(error, CellFailed) else 0.0


@task(name="ablation-cell", task_run_name="{cell}", retries=0, cache_policy=NO_CACHE)
def run_cell(cell: str, experiment: str, set_args: list[str], repo: str,
             tracking_uri: str, targets: list[str] | None = None) -> CellResult:
    """One cell: ``dvc exp run --temp`` with its overrides, then its numbers and links.

    Raises:
        CellFailed: the experiment failed, or wrote no ``metrics/eval.json``.
    """
    logger = get_run_logger()
    run = run_experiment(repo, experiment, set_args, targets or [], tracking_uri,
                         log=lambda line: logger.info("%s", line))
    metrics = run.metrics(EVAL_METRICS)
    if not metrics:
        raise CellFailed(f"experiment {experiment} has no {EVAL_METRICS}", run.seconds)
    links, evaluate_link = _links(repo, run, list(metrics), tracking_uri)
    return CellResult(name=cell, experiment=experiment, metrics=metrics, run_links=links,
                      evaluate_link=evaluate_link, exp_rev=run.rev,
                      dataset=dataset_key(_dataset_info(repo, run)),
                      stages_run=run.stages_run, seconds=run.seconds)


def _previous(spec: TableSpec, path: Path) -> dict[str, CellResult]:
    """The cells of an earlier ``<table>.csv`` (to keep rows not run this time)."""
    if not path.is_file():
        return {}
    return results_from_csv(spec, path.read_text(encoding="utf-8"))


@task(name="ablation-table", task_run_name="table-{spec.name}", cache_policy=NO_CACHE)
def write_table(spec: TableSpec, results: dict[str, CellResult], repo: str
                ) -> list[dict[str, Any]]:
    """Write ``reports/ablation/<table>.md`` and ``.csv``; publish the Markdown."""
    from components._atomic import write_text_atomic

    folder = Path(repo) / REPORT_DIR
    folder.mkdir(parents=True, exist_ok=True)
    now = {c.name: results[c.name] for c in spec.cells if c.name in results}
    dataset = next((r.dataset for r in now.values() if r.dataset), "")
    kept = {name: r for name, r in _previous(spec, folder / f"{spec.name}.csv").items()
            if name not in now and (not dataset or r.dataset in ("", dataset))}
    merged = {**kept, **now}
    markdown = table_markdown(spec, merged, dataset=dataset)
    write_text_atomic(folder / f"{spec.name}.md", markdown)
    write_text_atomic(folder / f"{spec.name}.csv", table_csv(spec, merged))
    create_markdown_artifact(
        key=f"har-ablation-{spec.name}".replace("_", "-").lower(), markdown=markdown,
        description=f"{spec.title}: one DVC experiment per cell, links to the MLflow runs",
    )
    return table_rows(spec, merged)


@flow(name="har-ablate", log_prints=True)
def har_ablate(
    table: str = "all",
    cells: list[str] | None = None,
    repo: str = str(REPO_ROOT),
    config: str = "conf/ablations.yaml",
    dataset_config: str | None = None,
) -> list[dict[str, Any]]:
    """Fill the ablation tables: one DVC experiment per cell, then Markdown and CSV.

    Args:
        table: ``lift_net``, ``mei`` or ``all``.
        cells: run only these cells (names in ``config``); the tables keep the
            other cells' earlier rows.
        repo: the repository (DVC project, with at least one git commit).
        config: the tables' definition, relative to ``repo`` or absolute.
        dataset_config: a ``conf/datasets/*.yaml`` whose sections every cell
            sets (``-S``) before its own overrides; default: params.yaml as is.

    Returns:
        The tables' rows (see :func:`components.ablation.table_rows`).
    """
    from components.tracking.store import resolve_tracking_uri
    from flows.params import load_dataset_config

    logger = get_run_logger()
    spec = load_config(in_repository(str(Path(repo).resolve()), config))
    tables, chosen = select(spec, table, cells)
    repo = experiment_repository(repo)
    base = load_dataset_config(in_repository(repo, dataset_config)) if dataset_config else {}
    tracking_uri = resolve_tracking_uri(Path(repo))
    params = yaml.safe_load((Path(repo) / "params.yaml").read_text(encoding="utf-8")) or {}
    logger.info("%d cell(s) for table(s) %s; MLflow at %s", len(chosen),
                ", ".join(t.name for t in tables), tracking_uri)
    results: dict[str, CellResult] = {}
    # One Ray head for every cell's training stages (each would start its own).
    with shared_ray(list(spec.targets) or None):
        for cell in chosen:
            experiment = spec.experiment_name(cell.name)
            state = run_cell(cell.name, experiment,
                             set_params(base, cell.overrides, params=params), repo,
                             tracking_uri, list(spec.targets), return_state=True)
            if state.is_failed():
                message, seconds = experiment_failure(state)
                logger.warning("cell %s failed: %s", cell.name, message)
                results[cell.name] = failed(cell.name, experiment, message, seconds)
            else:
                results[cell.name] = state.result()
    rows: list[dict[str, Any]] = []
    for table_spec in tables:
        rows += write_table(spec.tables[table_spec.name], results, repo)
    return rows


def main(argv: list[str] | None = None) -> None:
    """``python -m flows.ablate [options]``; ``har ablate`` is the same with the
    project's error handling."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m flows.ablate",
        description="Fill the ablation tables: one DVC experiment (dvc exp run --temp -S ...) "
                    "per cell, so params.yaml and the workspace stay as they are.")
    parser.add_argument("--table", default="all", choices=("lift_net", "mei", "all"),
                        help="which table to fill (default: both)")
    parser.add_argument("--cells", nargs="+", metavar="CELL",
                        help="only these cells (conf/ablations.yaml)")
    parser.add_argument("--repo", default=str(REPO_ROOT),
                        help="the DVC project (with a git commit) to run in")
    parser.add_argument("--config", default="conf/ablations.yaml",
                        help="the tables' definition, relative to --repo or absolute")
    parser.add_argument("--dataset-config", help="a conf/datasets/*.yaml for every cell")
    args = parser.parse_args(argv)
    har_ablate(table=args.table, cells=args.cells, repo=args.repo, config=args.config,
               dataset_config=args.dataset_config)


if __name__ == "__main__":
    main()
