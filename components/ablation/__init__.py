"""The ablation tables of ``har ablate``: their definition and their layout.

* :mod:`~components.ablation.config`: ``conf/ablations.yaml`` (tables, columns,
  cells and their params overrides) and the ``dvc exp run -S`` arguments of a cell.
* :mod:`~components.ablation.tables`: Markdown and CSV from cell results, each
  number a link to the MLflow run behind it, failed cells with their reason.
* :mod:`~components.ablation.claims` and :mod:`~components.ablation.verdicts`:
  the papers' claims of ``har claims`` (``conf/claims.yaml``), their experiments,
  and their verdicts as Markdown and CSV.

Pure (no DVC, no MLflow, no Prefect): ``flows/ablate.py`` runs the cells.
"""

from __future__ import annotations

from components.ablation.config import (
    AblationConfig,
    CellSpec,
    Column,
    TableSpec,
    load_config,
    parse_config,
    select,
    set_params,
)
from components.ablation.tables import (
    CellResult,
    dataset_key,
    failed,
    failure_reason,
    results_from_csv,
    table_csv,
    table_markdown,
    table_rows,
)

__all__ = [
    "AblationConfig",
    "CellResult",
    "CellSpec",
    "Column",
    "TableSpec",
    "dataset_key",
    "failed",
    "failure_reason",
    "load_config",
    "parse_config",
    "results_from_csv",
    "select",
    "set_params",
    "table_csv",
    "table_markdown",
    "table_rows",
]
