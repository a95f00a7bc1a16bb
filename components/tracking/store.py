"""Where tracking data lives: the tracking URI, the store and the experiment.

The embedded default is an SQLite store inside the repository
(``<repo_root>/mlflow.db``, artifacts under ``<repo_root>/mlartifacts``, both
git-ignored); ``MLFLOW_TRACKING_URI`` points everything elsewhere (an MLflow server
with PostgreSQL and an object store) without code changes.

SQLite has one rule that shapes this module: several processes opening a *fresh*
store at once race in the schema migration and fail. So drivers call
:func:`setup_tracking` once, before any Ray worker or Tune trial starts; workers then
only open an existing store (which 16 concurrent writers were measured to share
without loss).
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from components.tracking._retry import retry_transient

_LOG = logging.getLogger(__name__)

TRACKING_URI_ENV = "MLFLOW_TRACKING_URI"
DB_FILENAME = "mlflow.db"
ARTIFACTS_DIRNAME = "mlartifacts"
_SQLITE_PREFIX = "sqlite:///"


def resolve_tracking_uri(repo_root: Path) -> str:
    """The tracking URI to use: ``$MLFLOW_TRACKING_URI`` or the repository's SQLite store.

    Args:
        repo_root: Root of the repository (holds ``mlflow.db`` in the default setup).

    Returns:
        ``$MLFLOW_TRACKING_URI`` when set and non-empty, else
        ``sqlite:///<absolute repo_root>/mlflow.db`` (four slashes: an absolute path).
    """
    from_env = os.environ.get(TRACKING_URI_ENV, "").strip()
    if from_env:
        return from_env
    return f"{_SQLITE_PREFIX}{Path(repo_root).resolve() / DB_FILENAME}"


def sqlite_db_path(tracking_uri: str) -> Path | None:
    """The database file of an SQLite tracking URI, or None for other stores.

    Args:
        tracking_uri: A tracking URI, e.g. ``sqlite:////abs/mlflow.db``.

    Returns:
        The absolute database path, or None when the URI is not a file-backed SQLite URI
        (a server, PostgreSQL, an in-memory SQLite database).
    """
    if not tracking_uri.startswith(_SQLITE_PREFIX):
        return None
    raw = tracking_uri[len(_SQLITE_PREFIX) :].split("?", 1)[0]
    if not raw or raw == ":memory:":
        return None
    return Path(raw).resolve()  # SQLAlchemy reads "sqlite:///rel.db" relative to the cwd


def default_artifact_location(tracking_uri: str) -> str | None:
    """Artifact root for new experiments in a local SQLite store.

    Artifacts go beside the database, in ``mlartifacts/`` (for the default store that is
    ``<repo_root>/mlartifacts``). Without this, MLflow would put them in ``./mlruns``
    relative to whatever the current directory happens to be.

    Args:
        tracking_uri: The tracking URI in use.

    Returns:
        A ``file://`` URI for SQLite stores; None for servers and other databases, whose
        configured artifact store decides.
    """
    db_path = sqlite_db_path(tracking_uri)
    if db_path is None:
        return None
    return (db_path.parent / ARTIFACTS_DIRNAME).as_uri()


def current_tracking_uri() -> str:
    """The tracking URI this process logs to (to hand to Ray workers and Tune trials).

    Returns:
        The URI set by :func:`setup_tracking`, ``$MLFLOW_TRACKING_URI`` or MLflow's default.
    """
    return mlflow.get_tracking_uri()


#: MLflow 3's UI opens an experiment without a kind on its GenAI (traces) page; these
#: are model-training runs, so the experiment says so and opens on its runs.
EXPERIMENT_TAGS = {"mlflow.experimentKind": "custom_model_development"}


def ensure_experiment(
    experiment_name: str,
    *,
    artifact_location: str | None = None,
    client: MlflowClient | None = None,
) -> str:
    """Get or create an experiment by name, tolerating a concurrent creator.

    A deleted experiment of that name is restored (names stay reserved while deleted).

    Args:
        experiment_name: Experiment name.
        artifact_location: Artifact root when the experiment is created (ignored when
            it exists already).
        client: Client to use; a client for the current tracking URI by default.

    Returns:
        The experiment id.
    """
    client = client or MlflowClient()

    def get_or_create() -> str:
        existing = client.get_experiment_by_name(experiment_name)
        if existing is not None:
            if existing.lifecycle_stage == "deleted":
                _LOG.warning("restoring deleted MLflow experiment %r", experiment_name)
                client.restore_experiment(existing.experiment_id)
            return existing.experiment_id
        try:
            return client.create_experiment(experiment_name, artifact_location=artifact_location,
                                            tags=EXPERIMENT_TAGS)
        except MlflowException as exc:
            if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
            # Another process created it between our lookup and our insert.
            created = client.get_experiment_by_name(experiment_name)
            if created is None:  # pragma: no cover - would need a concurrent delete
                raise
            return created.experiment_id

    return retry_transient(get_or_create, what=f"creating experiment {experiment_name!r}")


def _is_store_init_error(exc: BaseException) -> bool:
    """Errors seen when a fresh store is created or migrated (retried a few times)."""
    return isinstance(exc, MlflowException) or type(exc).__module__.startswith(
        ("sqlalchemy", "alembic", "sqlite3")
    )


@contextlib.contextmanager
def _store_lock(db_path: Path | None, timeout_s: float = 600.0) -> Iterator[None]:
    """Hold an exclusive lock while the SQLite store at ``db_path`` is created/migrated.

    Processes that open a fresh SQLite store at the same time race in MLflow's schema
    migration and can leave it half done; this serializes them on one machine (the
    only place an SQLite file is shared). The lock is an ``flock`` on the database's
    folder, so no lock file is left anywhere. Without ``fcntl`` (Windows) or for
    other stores it does nothing.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        fcntl = None  # type: ignore[assignment]
    if db_path is None or fcntl is None:
        yield
        return
    try:
        fd = os.open(db_path.parent, os.O_RDONLY)
    except OSError as exc:  # pragma: no cover - unreadable folder: go on unlocked
        _LOG.warning("cannot lock %s (%s); opening the store unlocked", db_path.parent, exc)
        yield
        return
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"waited {timeout_s:.0f} s to lock {db_path.parent}"
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def open_store(tracking_uri: str) -> MlflowClient:
    """A client for ``tracking_uri`` whose store exists and has an up-to-date schema.

    For SQLite the parent folder is created and the first open (which creates the
    tables and migrates them) happens under a machine-wide lock.

    Args:
        tracking_uri: The tracking URI.

    Returns:
        A client bound to ``tracking_uri``.
    """
    db_path = sqlite_db_path(tracking_uri)
    if db_path is not None:
        db_path.parent.mkdir(parents=True, exist_ok=True)

    def connect() -> MlflowClient:
        # Constructing the client opens the store, which creates and migrates tables.
        client = MlflowClient(tracking_uri=tracking_uri)
        client.search_experiments(max_results=1)
        return client

    with _store_lock(db_path):
        return retry_transient(
            connect,
            attempts=4,
            what=f"opening tracking store {tracking_uri}",
            retry_if=_is_store_init_error,
        )


def setup_tracking(
    repo_root: Path,
    experiment_name: str,
    *,
    artifact_location: str | None = None,
) -> str:
    """Point this process (and its future children) at the store; create it and the experiment.

    Run this in drivers (the ``har`` stage, the Tune sweep) before any worker or trial
    starts. It sets the tracking URI (MLflow also exports it as ``MLFLOW_TRACKING_URI``,
    so processes started afterwards inherit it), creates the SQLite database and runs
    its schema migration if needed (see :func:`open_store`), creates the experiment if
    missing (with artifacts beside an SQLite database, see
    :func:`default_artifact_location`) and makes it the active experiment. Other
    processes doing the same at the same time are tolerated: store creation is
    serialized by a lock, a concurrently created experiment is reused.

    Args:
        repo_root: Root of the repository (see :func:`resolve_tracking_uri`).
        experiment_name: Experiment to create or reuse.
        artifact_location: Artifact root for a newly created experiment; defaults to
            :func:`default_artifact_location` of the tracking URI.

    Returns:
        The experiment id.
    """
    uri = resolve_tracking_uri(repo_root)
    mlflow.set_tracking_uri(uri)
    client = open_store(uri)
    location = artifact_location or default_artifact_location(uri)
    experiment_id = ensure_experiment(experiment_name, artifact_location=location, client=client)
    mlflow.set_experiment(experiment_id=experiment_id)
    _LOG.info("MLflow tracking at %s, experiment %r (id %s)", uri, experiment_name, experiment_id)
    return experiment_id
