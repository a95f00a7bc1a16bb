"""``har claims``: the papers' claims checked on this dataset, one DVC experiment per configuration.

The claims and their configurations are ``conf/claims.yaml`` (see
:mod:`components.ablation.claims`). Configurations that change nothing share one
experiment; each experiment reproduces only the stages whose numbers the claims
read (``dvc exp run --temp --name claim-<cell> -S ... <stages>``), so after
``make demo`` the configuration as it is costs nothing. A number links to the
MLflow run of the model behind it (``mlflow_run_id`` of the experiment's model
folder), the two-stream row to the evaluation run.

Writes ``reports/claims/claims.md`` and ``.csv`` and a Prefect Markdown artifact.
A failing experiment leaves its claims ``unknown``, with the reason, and the others
go on. In-process::

    python -m flows.claims            # every claim
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import yaml
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from components.ablation import dataset_key, failure_reason, set_params
from components.ablation.claims import (
    ROWS,
    ClaimSpec,
    ExperimentPlan,
    load_claims,
    plan_experiments,
)
from components.ablation.experiments import (
    DATASET_METRICS,
    ExperimentRun,
    experiment_repository,
    in_repository,
    read_at,
    recorded_links,
    run_experiment,
)
from components.ablation.verdicts import (
    CellOutcome,
    Evidence,
    Verdict,
    claims_csv,
    claims_markdown,
    judge,
)
from flows.ablate import experiment_failure
from flows.params import load_dataset_config, merged
from flows.pipeline import shared_ray

REPO_ROOT = Path(__file__).resolve().parents[1]
REPORT_DIR = Path("reports/claims")


def _model_info(repo: str, rev: str, folder: str) -> dict[str, Any]:
    text = read_at(repo, f"{folder}/model.json", rev)
    try:
        return dict(json.loads(text)) if text else {}
    except ValueError:
        return {}


def _evidence(repo: str, run: ExperimentRun, rows: set[str], tracking_uri: str
              ) -> dict[str, dict[str, Evidence]]:
    """row -> metric -> number, the MLflow run behind it and what the model read."""
    from components.tracking.lookup import run_link

    found: dict[str, dict[str, Evidence]] = {}
    evaluation = recorded_links(repo, run.rev) if "two_stream" in rows else {}
    for row in sorted(rows):
        source = ROWS[row]
        numbers = run.metrics(source.metrics)
        if source.key is not None:
            numbers = dict(numbers.get(source.key) or {})
        link, inputs = evaluation.get(row, ""), ""
        if source.model_dir is not None:
            info = _model_info(repo, run.rev, source.model_dir)
            inputs = str(info.get("input") or "")
            run_id = info.get("mlflow_run_id")
            link = run_link(str(run_id), tracking_uri=tracking_uri) if run_id else ""
        found[row] = {metric: Evidence(float(value), link, inputs)
                      for metric, value in numbers.items() if isinstance(value, int | float)}
    return found


@task(name="claim-experiment", task_run_name="{plan.name}", retries=0, cache_policy=NO_CACHE)
def run_plan(plan: ExperimentPlan, rows: set[str], base: dict[str, Any], repo: str,
             tracking_uri: str, params: dict[str, Any]) -> ExperimentRun:
    """One configuration's experiment: only the stages its claims read (``params``:
    params.yaml as read by the flow)."""
    logger = get_run_logger()
    run = run_experiment(repo, plan.name, set_params(base, plan.overrides, params=params),
                         plan.targets,
                         tracking_uri, log=lambda line: logger.info("%s", line))
    return run


def _outcome(cell: str, plan: ExperimentPlan, run: ExperimentRun | None, error: str,
             seconds: float, rows: set[str], repo: str, tracking_uri: str) -> CellOutcome:
    if run is None:
        return CellOutcome(cell, plan.name, ok=False, error=error, seconds=seconds)
    info_text = read_at(repo, DATASET_METRICS, run.rev)
    info = json.loads(info_text) if info_text else run.metrics(DATASET_METRICS)
    return CellOutcome(cell, plan.name, rows=_evidence(repo, run, rows, tracking_uri),
                       lighting=info.get("lighting"), dataset=dataset_key(info),
                       exp_rev=run.rev, stages_run=run.stages_run, seconds=run.seconds)


def _check_plan(plan: ExperimentPlan, chosen: tuple[ClaimSpec, ...], base: dict[str, Any],
                repo: str, tracking_uri: str, params: dict[str, Any]) -> dict[str, CellOutcome]:
    """Run one configuration's experiment; each of its cells' outcome (failed or not)."""
    rows = {ref.row for claim in chosen for ref in claim.refs if ref.cell in plan.cells}
    state = run_plan(plan, rows, base, repo, tracking_uri, params, return_state=True)
    run, error, seconds = None, "", 0.0
    if state.is_failed():
        error, seconds = experiment_failure(state)
        get_run_logger().warning("experiment %s failed: %s", plan.name, failure_reason(error))
    else:
        run = state.result()
    return {cell: _outcome(cell, plan, run, error, seconds, rows, repo, tracking_uri)
            for cell in plan.cells}


@flow(name="har-claims", log_prints=True)
def har_claims(
    claims: list[str] | None = None,
    repo: str = str(REPO_ROOT),
    config: str = "conf/claims.yaml",
    dataset_config: str | None = None,
) -> list[dict[str, Any]]:
    """Check the papers' claims: one DVC experiment per configuration, then a table.

    Args:
        claims: only these claims (names in ``config``); default all.
        repo: the repository (DVC project, with at least one git commit).
        config: the claims' definition, relative to ``repo`` or absolute.
        dataset_config: a ``conf/datasets/*.yaml`` whose sections every experiment
            sets (``-S``) before its own overrides; default: params.yaml as is.

    Returns:
        One dict per claim: name, verdict, why, numbers, links (the CSV's rows).
    """
    from components._atomic import write_text_atomic
    from components.tracking.store import resolve_tracking_uri

    logger = get_run_logger()
    spec = load_claims(in_repository(str(Path(repo).resolve()), config))
    chosen: tuple[ClaimSpec, ...] = spec.select(claims)
    repo = experiment_repository(repo)
    base = load_dataset_config(in_repository(repo, dataset_config)) if dataset_config else {}
    params = yaml.safe_load((Path(repo) / "params.yaml").read_text(encoding="utf-8")) or {}
    plans = plan_experiments(spec, chosen, merged(params, [base]))
    tracking_uri = resolve_tracking_uri(Path(repo))
    logger.info("%d claim(s), %d experiment(s): %s; MLflow at %s", len(chosen), len(plans),
                ", ".join(f"{p.name} ({' '.join(p.targets)})" for p in plans), tracking_uri)
    outcomes: dict[str, CellOutcome] = {}
    # One Ray head for every experiment's training stages (each would start its own).
    with shared_ray([stage for plan in plans for stage in plan.targets]):
        for plan in plans:
            outcomes.update(_check_plan(plan, chosen, base, repo, tracking_uri, params))
    verdicts: list[Verdict] = [judge(claim, outcomes) for claim in chosen]
    dataset = next((o.dataset for o in outcomes.values() if o.dataset), "")
    markdown = claims_markdown(verdicts, outcomes, spec, dataset=dataset)
    folder = Path(repo) / REPORT_DIR
    folder.mkdir(parents=True, exist_ok=True)
    table = claims_csv(verdicts, outcomes)
    write_text_atomic(folder / "claims.md", markdown)
    write_text_atomic(folder / "claims.csv", table)
    create_markdown_artifact(key="har-claims", markdown=markdown,
                             description="The papers' claims on this dataset, one DVC "
                                         "experiment per configuration")
    return list(csv.DictReader(io.StringIO(table)))


def main(argv: list[str] | None = None) -> None:
    """``python -m flows.claims [options]``; ``har claims`` is the same with the
    project's error handling."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m flows.claims",
                                     description="Check the papers' claims (DVC experiments).")
    parser.add_argument("--claims", nargs="+", help="only these claims (conf/claims.yaml)")
    parser.add_argument("--repo", default=str(REPO_ROOT))
    parser.add_argument("--config", default="conf/claims.yaml")
    parser.add_argument("--dataset-config", help="a conf/datasets/*.yaml for every experiment")
    args = parser.parse_args(argv)
    har_claims(claims=args.claims, repo=args.repo, config=args.config,
               dataset_config=args.dataset_config)


if __name__ == "__main__":
    main()
