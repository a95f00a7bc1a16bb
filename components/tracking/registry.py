"""The model registry seen from outside tracking: model URIs resolved and downloaded,
version descriptions, model cards and export figures.

The callers (``har predict``, training's registration, ``har evaluate``, ``har
export``) import these functions inside the functions that use them, so a command
that never reaches the registry never imports MLflow:

* :func:`downloaded_model`: a ``models:/`` or ``runs:/`` URI as a local logged model
  folder (``models:/<name>@<alias>`` pinned to the version the alias points at);
  :func:`components.inference.loading.predictor_from_logged_model` reads it.
* :func:`resolve_model_alias`: ``models:/<name>@<alias>`` as ``models:/<name>/<version>``.
* :func:`describe_model_version`: a version's description and tags, and the model's
  description when it has none.
* :func:`attach_card`: :func:`~components.tracking.model_card.attach_model_card` in the
  current store.
* :func:`log_export_figures`: ``har export``'s parity and latency on the trained
  models' runs and their registered versions.
"""

from __future__ import annotations

import contextlib
import logging
import re
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from components.tracking.store import resolve_tracking_uri, sqlite_db_path

if TYPE_CHECKING:
    from components.inference.loading import ModelLoadError

_LOG = logging.getLogger(__name__)


def _cannot_load(model: str, exc: Exception) -> ModelLoadError:
    """"<model>: cannot load the model: <the first line of MLflow's reason>"."""
    from components.inference.loading import ModelLoadError

    message = getattr(exc, "message", None) or str(exc)
    first = str(message).strip().splitlines()[0] if str(message).strip() else str(exc)
    return ModelLoadError(f"{model}: cannot load the model: {first}")


def resolve_model_alias(model: str) -> str:
    """``models:/<name>@<alias>`` as ``models:/<name>/<version>`` (the version the alias
    points at now, in the current store, so that a caller can say which one it used);
    other URIs unchanged.

    Raises:
        ModelLoadError: no such registered model or alias.
    """
    match = re.fullmatch(r"models:/([^/@]+)@([^/@]+)", model)
    if not match:
        return model
    try:
        version = MlflowClient().get_model_version_by_alias(match.group(1), match.group(2))
    except MlflowException as exc:
        raise _cannot_load(model, exc) from exc
    return f"models:/{match.group(1)}/{version.version}"


@contextlib.contextmanager
def downloaded_model(model: str, repo_root: Path) -> Iterator[tuple[Path, str]]:
    """A ``models:/`` or ``runs:/`` URI's files in a temporary folder, for a ``with`` block.

    The store is ``$MLFLOW_TRACKING_URI``, else ``<repo_root>/mlflow.db`` (made the
    current tracking URI). The folder is deleted when the block ends: read the
    weights into memory inside it.

    Args:
        model: ``models:/<name>@<alias>``, ``models:/<name>/<version>`` or ``runs:/...``.
        repo_root: where the default SQLite store lives.

    Yields:
        (the downloaded logged model folder, the URI it was downloaded from: an alias
        pinned to its version).

    Raises:
        ModelLoadError: no store, or the registered model, version, alias or run does
            not exist.
    """
    from components.inference.loading import ModelLoadError

    uri = resolve_tracking_uri(repo_root)
    db = sqlite_db_path(uri)
    if db is not None and not db.is_file():
        raise ModelLoadError(f"{model}: no MLflow store at {db} (train and register a model "
                             "first, or set MLFLOW_TRACKING_URI)")
    mlflow.set_tracking_uri(uri)
    resolved = resolve_model_alias(model)
    with tempfile.TemporaryDirectory(prefix="har-model-") as tmp:
        try:
            local = mlflow.artifacts.download_artifacts(artifact_uri=resolved, dst_path=tmp)
        except (MlflowException, OSError) as exc:
            raise _cannot_load(model, exc) from exc
        yield Path(local), resolved


def describe_model_version(name: str, version: str | int, description: str, *,
                           tags: Mapping[str, str] | None = None,
                           model_description: str | None = None) -> None:
    """Set version ``version`` of ``name``'s description and tags; give the registered
    model ``model_description`` when it has no description yet."""
    client = MlflowClient()
    client.update_model_version(name, str(version), description=description)
    for key, value in (tags or {}).items():
        client.set_model_version_tag(name, str(version), key, value)
    if model_description and not client.get_registered_model(name).description:
        client.update_registered_model(name, description=model_description)


def attach_card(name: str, version: str | int, facts: Mapping[str, Any]) -> str:
    """Attach the model card of ``name`` v``version`` in the current store (see
    :func:`~components.tracking.model_card.attach_model_card`); returns the card."""
    from components.tracking.model_card import attach_model_card

    return attach_model_card(MlflowClient(), name, version, facts)


def log_export_figures(run_ids: Sequence[str], prefix: str, figures: Mapping[str, float], *,
                       repo_root: Path) -> list[str]:
    """Log an export's figures as metrics ``<prefix>_<figure>`` on each run and as tags
    ``<prefix>.<figure>`` on each model version registered from it.

    Never raises: without a store (no ``<repo_root>/mlflow.db``) nothing is logged, and
    a store that fails is a warning (the export stands without MLflow).

    Returns:
        What was logged: ``runs:/<id>`` and ``models:/<name>/<version>``.
    """
    uri = resolve_tracking_uri(repo_root)
    db = sqlite_db_path(uri)
    if uri.startswith("sqlite:") and (db is None or not db.is_file()):
        _LOG.info("no tracking store at %s: figures not logged to MLflow", uri)
        return []
    logged: list[str] = []
    try:
        client = MlflowClient(tracking_uri=uri)
        for run_id in run_ids:
            for key, value in figures.items():
                client.log_metric(run_id, f"{prefix}_{key}", float(value))
            logged.append(f"runs:/{run_id}")
            for version in client.search_model_versions(f"run_id='{run_id}'"):
                for key, value in figures.items():
                    client.set_model_version_tag(version.name, version.version,
                                                 f"{prefix}.{key}", f"{value:.6g}")
                logged.append(f"models:/{version.name}/{version.version}")
    except Exception as exc:  # noqa: BLE001 - the export stands without MLflow
        _LOG.warning("could not log the export's figures to MLflow (%s): %s", uri,
                     str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    return logged
