"""Ablation tables of LIFT-Net and of the MEI two-stream network, over DVC experiments.

``har ablate`` runs the Prefect flow ``har-ablate`` (flows/ablate.py) in-process:
every cell of ``--config`` (default ``conf/ablations.yaml``) is one
``dvc exp run --temp --name ablate-<cell> -S ...`` on top of params.yaml as it is
in the workspace (the configured dataset), so DVC re-runs only the stages a cell
changes. The LIFT-Net table: R3D instead of R(2+1)D, optical flow instead of
gamma, no KD, every ViT block frozen or trainable, N = 4, 6, 8. The MEI table:
equal against gradient division, each backbone, the ensemble. Both have the
baseline. Writes ``reports/ablation/<table>.md`` and ``.csv`` (each number a link
to its MLflow run; failed cells with their reason) and prints the Markdown.

Needs a git commit (``dvc exp run`` starts from HEAD plus the uncommitted changes
of tracked files). Exits 1 when a cell failed.
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
    parser.add_argument("--table", default="all",
                        help="lift_net | mei | all (default; any table of --config)")
    parser.add_argument("--cells", default="",
                        help="comma-separated cell names (default: every cell of the tables)")
    add_experiment_options(parser, "conf/ablations.yaml",
                           "tables, cells and their params overrides", "cell")


def run(args: argparse.Namespace) -> int:
    from components.ablation import load_config, select

    repo = args.repo.resolve()
    config_path = args.config if args.config.is_absolute() else repo / args.config
    config = load_config(config_path)
    cells = names_option(args.cells)
    try:
        tables, chosen = select(config, args.table, cells)
    except ValueError as exc:
        raise ConfigError(config_path, str(exc)) from None

    ready_for_experiments(repo)
    from flows.ablate import REPORT_DIR, har_ablate

    rows = har_ablate(table=args.table, cells=cells, repo=str(repo), config=str(config_path),
                      dataset_config=dataset_config_path(args))
    for table in tables:
        print((repo / REPORT_DIR / f"{table.name}.md").read_text(encoding="utf-8"))
    ran = {c.name for c in chosen}
    failures = sorted({r["cell"] for r in rows if r["cell"] in ran and r["status"] != "ok"})
    print(f"{len(ran) - len(failures)} of {len(ran)} cell(s) done; tables in "
          f"{repo / REPORT_DIR}" + (f"; failed: {', '.join(failures)}" if failures else ""))
    return 1 if failures else 0
