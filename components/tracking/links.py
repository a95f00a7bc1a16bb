"""Links into the MLflow UI, for tables and Prefect artifacts.

With a tracking server the UI is the server itself; with the default SQLite store
it is what ``mlflow ui`` serves (:data:`LOCAL_UI`, see :func:`ui_command`).
"""

from __future__ import annotations

import shlex

import mlflow
from mlflow.tracking import MlflowClient

#: Where ``mlflow ui`` (the command :func:`ui_command` prints) serves a local store.
LOCAL_UI = "http://127.0.0.1:5000"


def ui_base(tracking_uri: str | None = None) -> str:
    """Base URL of the UI for ``tracking_uri`` (the current one by default)."""
    uri = tracking_uri or mlflow.get_tracking_uri()
    return uri.rstrip("/") if uri.startswith(("http://", "https://")) else LOCAL_UI


def run_url(run_id: str, tracking_uri: str | None = None) -> str:
    """The UI page of run ``run_id``."""
    uri = tracking_uri or mlflow.get_tracking_uri()
    experiment_id = MlflowClient(tracking_uri=uri).get_run(run_id).info.experiment_id
    return f"{ui_base(uri)}/#/experiments/{experiment_id}/runs/{run_id}"


def model_url(name: str, version: str | int | None = None,
              tracking_uri: str | None = None) -> str:
    """The UI page of a registered model (or one version of it)."""
    base = f"{ui_base(tracking_uri)}/#/models/{name}"
    return f"{base}/versions/{version}" if version is not None else base


def ui_command(tracking_uri: str | None = None) -> str:
    """The shell command that opens the UI of the store on 127.0.0.1."""
    uri = tracking_uri or mlflow.get_tracking_uri()
    if uri.startswith(("http://", "https://")):
        return f"open {uri} in a browser (a tracking server)"
    return f"mlflow ui --backend-store-uri {shlex.quote(uri)} --host 127.0.0.1 --port 5000"
