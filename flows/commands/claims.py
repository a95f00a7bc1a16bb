"""The papers' claims checked on this dataset, over DVC experiments.

``har claims`` runs the Prefect flow ``har-claims`` (flows/claims.py) in-process:
every configuration of ``--config`` (default ``conf/claims.yaml``) is one
``dvc exp run --temp --name claim-<cell> -S ... <stages>`` on top of params.yaml
as it is, reproducing only the stages whose numbers its claims read. Each claim
(gradient MEI > equal MEI, motion > normal stream, fused >= the better stream, KD
>= no KD, gamma > raw frames on dark video, flow >= gamma on daylight video,
larger N >= smaller N) is marked held, not held, n/a (another lighting or input)
or unknown (an experiment failed). Writes ``reports/claims/claims.md`` and
``.csv`` (each number a link to its MLflow run) and prints the Markdown.

Needs a git commit (``dvc exp run`` starts from HEAD plus the uncommitted changes
of tracked files). Exits 1 when an experiment failed; a claim that is not held is
a finding, not an error (exit 0).
"""

from __future__ import annotations

import argparse

from components.errors import ConfigError
from flows.commands import (
    add_experiment_options,
    dataset_config_path,
    names_option,
    ready_for_experiments,
)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--claims", default="",
                        help="comma-separated claim names (default: every claim of --config)")
    add_experiment_options(parser, "conf/claims.yaml",
                           "claims, their configurations and params overrides", "experiment")


def run(args: argparse.Namespace) -> int:
    from components.ablation.claims import load_claims
    from components.ablation.verdicts import UNKNOWN

    repo = args.repo.resolve()
    config_path = args.config if args.config.is_absolute() else repo / args.config
    config = load_claims(config_path)
    names = names_option(args.claims)
    try:
        config.select(names)
    except ValueError as exc:
        raise ConfigError(config_path, str(exc)) from None
    ready_for_experiments(repo)
    from flows.claims import REPORT_DIR, har_claims

    rows = har_claims(claims=names, repo=str(repo), config=str(config_path),
                      dataset_config=dataset_config_path(args))
    print((repo / REPORT_DIR / "claims.md").read_text(encoding="utf-8"))
    unknown = [r["claim"] for r in rows if r["verdict"] == UNKNOWN]
    counts = {v: sum(r["verdict"] == v for r in rows) for v in ("held", "not held", "n/a")}
    print(f"{counts['held']} held, {counts['not held']} not held, {counts['n/a']} n/a"
          + (f", unknown: {', '.join(unknown)}" if unknown else "")
          + f"; table in {repo / REPORT_DIR / 'claims.md'}")
    return 1 if unknown else 0
