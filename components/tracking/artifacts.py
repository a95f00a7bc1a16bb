"""Files attached to a run: the resolved config, output files, figures."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import yaml
from mlflow.tracking import MlflowClient

from components.config import as_plain
from components.errors import InputError
from components.tracking._active import resolve_run_id

if TYPE_CHECKING:
    from matplotlib.figure import Figure

CONFIG_ARTIFACT = "config.yaml"


def to_plain(value: Any) -> Any:
    """Convert a config value to YAML-safe builtins.

    Args:
        value: Dicts, dataclasses, lists/tuples/sets, paths, enums, NumPy scalars/arrays
            and builtins, nested in any way.

    Returns:
        The same structure made of dict, list, str, int, float, bool and None.
    """
    return as_plain(value, other=_yaml_safe)


def _yaml_safe(value: Any) -> Any:
    """What :func:`to_plain` makes of a value that :func:`as_plain` keeps as it is."""
    if isinstance(value, Mapping):  # other mappings than dicts (as_plain does dicts)
        return {str(key): to_plain(item) for key, item in value.items()}
    if isinstance(value, set | frozenset):
        return sorted((to_plain(item) for item in value), key=repr)
    if isinstance(value, Enum):
        return to_plain(value.value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if hasattr(value, "tolist"):  # NumPy scalars and arrays, without importing NumPy
        return to_plain(value.tolist())
    return str(value)


def log_config(
    config: Mapping[str, Any] | Any,
    *,
    artifact_file: str = CONFIG_ARTIFACT,
    run_id: str | None = None,
) -> str:
    """Log a configuration (dict or dataclass) as a YAML artifact.

    Args:
        config: The resolved configuration of the run.
        artifact_file: Artifact path of the YAML file within the run.
        run_id: Run to log to; the active run by default.

    Returns:
        The YAML text that was logged.
    """
    run_id = resolve_run_id(run_id)
    text = yaml.safe_dump(to_plain(config), sort_keys=False, allow_unicode=True)
    MlflowClient().log_text(run_id, text, artifact_file)
    return text


def log_artifact(
    path: str | Path,
    artifact_path: str | None = None,
    *,
    run_id: str | None = None,
) -> str:
    """Log a file, or a folder's contents, as run artifacts.

    Args:
        path: Local file or folder.
        artifact_path: Folder within the run's artifacts; the root by default.
        run_id: Run to log to; the active run by default.

    Returns:
        The artifact path of the logged file or folder within the run.

    Raises:
        InputError: If ``path`` does not exist.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(path, "cannot log artifact: no such file or folder")
    run_id = resolve_run_id(run_id)
    client = MlflowClient()
    if path.is_dir():
        client.log_artifacts(run_id, str(path), artifact_path)
        return artifact_path or ""
    client.log_artifact(run_id, str(path), artifact_path)
    return str(PurePosixPath(artifact_path or "") / path.name)


def log_figure(fig: Figure, name: str, *, run_id: str | None = None) -> str:
    """Log a Matplotlib figure as an image artifact.

    Args:
        fig: The figure (left open: the caller closes it).
        name: Artifact file name, e.g. ``figures/confusion.png``; ``.png`` is added when
            the name has no extension.
        run_id: Run to log to; the active run by default.

    Returns:
        The artifact file name used.
    """
    if not PurePosixPath(name).suffix:
        name = f"{name}.png"
    run_id = resolve_run_id(run_id)
    MlflowClient().log_figure(run_id, fig, name)
    return name
