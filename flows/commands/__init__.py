"""``har`` sub-commands that run a Prefect flow in-process (``har ablate``, ``har claims``).

They sit above the flows they run, so that nothing in ``components/`` imports
``flows/``. Like every ``har`` sub-command they expose ``configure(parser)`` and
``run(args) -> int`` and import nothing heavy (Prefect, torch, MLflow) before ``run``.
What both share (their common options, the checks before DVC experiments start)
is here.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from components.errors import InputError


def add_experiment_options(parser: argparse.ArgumentParser, config: str, config_help: str,
                           unit: str) -> None:
    """``--config`` (default ``config``), ``--dataset-config`` and ``--repo``; ``unit``
    names what sets the dataset config's sections (a cell, an experiment)."""
    parser.add_argument("--config", type=Path, default=Path(config), help=config_help)
    parser.add_argument("--dataset-config", type=Path,
                        help=f"conf/datasets/*.yaml: sections every {unit} sets first")
    parser.add_argument("--repo", type=Path, default=Path("."),
                        help="the repository (default: the current directory)")


def names_option(text: str) -> list[str] | None:
    """A comma-separated ``--cells`` / ``--claims`` value; None (all) when empty."""
    return [name.strip() for name in text.split(",") if name.strip()] or None


def ready_for_experiments(repo: Path) -> None:
    """Check ``repo`` can start DVC experiments and give Prefect's temporary server time.

    Raises:
        InputError: ``repo`` has no git commit (``dvc exp run`` starts from HEAD).
    """
    from components.ablation.experiments import git_head

    if not git_head(repo):
        raise InputError(repo, "dvc exp run needs a git commit to start from "
                         "(git add -A && git commit)")
    # No PREFECT_API_URL: Prefect starts a temporary server, whose first start (a
    # fresh database) takes longer than its 20 s default on a busy 2-core machine.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")


def dataset_config_path(args: argparse.Namespace) -> str | None:
    """``--dataset-config`` as an absolute path, or None."""
    return str(args.dataset_config.resolve()) if args.dataset_config else None
