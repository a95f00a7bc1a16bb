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
import os
from pathlib import Path

from components.errors import ConfigError, InputError


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--claims", default="",
                        help="comma-separated claim names (default: every claim of --config)")
    parser.add_argument("--config", type=Path, default=Path("conf/claims.yaml"),
                        help="claims, their configurations and params overrides")
    parser.add_argument("--dataset-config", type=Path,
                        help="conf/datasets/*.yaml: sections every experiment sets first")
    parser.add_argument("--repo", type=Path, default=Path("."),
                        help="the repository (default: the current directory)")


def run(args: argparse.Namespace) -> int:
    from components.ablation.claims import UNKNOWN, load_claims
    from components.ablation.experiments import git_head

    repo = args.repo.resolve()
    config_path = args.config if args.config.is_absolute() else repo / args.config
    config = load_claims(config_path)
    names = [c.strip() for c in args.claims.split(",") if c.strip()] or None
    try:
        config.select(names)
    except ValueError as exc:
        raise ConfigError(config_path, str(exc)) from None
    if not git_head(repo):
        raise InputError(repo, "dvc exp run needs a git commit to start from "
                         "(git add -A && git commit)")
    # No PREFECT_API_URL: Prefect starts a temporary server, whose first start (a
    # fresh database) takes longer than its 20 s default on a busy 2-core machine.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    from flows.claims import REPORT_DIR, har_claims

    rows = har_claims(claims=names, repo=str(repo), config=str(config_path),
                      dataset_config=(str(args.dataset_config.resolve())
                                      if args.dataset_config else None))
    print((repo / REPORT_DIR / "claims.md").read_text(encoding="utf-8"))
    unknown = [r["claim"] for r in rows if r["verdict"] == UNKNOWN]
    counts = {v: sum(r["verdict"] == v for r in rows) for v in ("held", "not held", "n/a")}
    print(f"{counts['held']} held, {counts['not held']} not held, {counts['n/a']} n/a"
          + (f", unknown: {', '.join(unknown)}" if unknown else "")
          + f"; table in {repo / REPORT_DIR / 'claims.md'}")
    return 1 if unknown else 0
