"""Logging models to the active run and registering them in the model registry.

MLflow 3 notes, checked against the installed MLflow (3.17):

* ``log_model`` takes ``name=``; ``artifact_path=`` is deprecated. The logged model is
  an MLflow 3 ``LoggedModel`` (``models:/m-<id>``) linked to the run, and the
  registered version points at it.
* ``mlflow.pytorch.log_model`` serializes with ``torch.export`` (``pt2``) by default:
  that needs a NumPy ``input_example`` and a ``TensorSpec`` signature, and it
  specializes every dimension whose example size is 1, so the input example needs a
  batch of 2 or more to keep the batch dimension dynamic. ``pt2`` is also the safe
  format (no pickle on load). ``serialization_format="pickle"`` pickles the module
  instead; loading it then needs the model's code (``components``) importable.
* Without ``pip_requirements`` MLflow infers them by loading the model in a
  subprocess, which is slow; we always pass them.
"""

from __future__ import annotations

import copy
import importlib.metadata
import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import mlflow
from mlflow.entities.model_registry import ModelVersion
from mlflow.tracking import MlflowClient

from components.tracking._active import resolve_run_id

if TYPE_CHECKING:
    import numpy as np
    import torch
    from mlflow.models import ModelSignature
    from mlflow.pyfunc.model import PythonModel

_LOG = logging.getLogger(__name__)

TEACHER_MODEL = "har-teacher"
LIFT_NET_MODEL = "har-lift-net"
NORMAL_STREAM_MODEL = "har-normal-stream"
MOTION_STREAM_MODEL = "har-motion-stream"
REGISTERED_MODEL_NAMES: tuple[str, ...] = (
    TEACHER_MODEL,
    LIFT_NET_MODEL,
    NORMAL_STREAM_MODEL,
    MOTION_STREAM_MODEL,
)

SerializationFormat = Literal["pt2", "pickle"]


def pinned_requirement(distribution: str) -> str | None:
    """``name==version`` for an installed distribution, without a local version label.

    Args:
        distribution: Distribution name (``torch``).

    Returns:
        For example ``torch==2.15.0`` (``+cpu`` and similar are dropped so that the
        requirement resolves against the package registry), or None if not installed.
    """
    try:
        version = importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None
    return f"{distribution}=={version.split('+', 1)[0]}"


def default_pip_requirements(extra: Sequence[str] = ()) -> list[str]:
    """The requirements recorded with a model: mlflow, torch, numpy, plus ``extra``.

    Args:
        extra: More requirement strings (``timm==1.0.31``) or bare distribution names,
            which are pinned to their installed versions.

    Returns:
        Requirement strings.
    """
    requirements: list[str] = []
    for item in ("mlflow", "torch", "numpy", *extra):
        bare = not any(op in item for op in "=<>!~ @;[")
        requirement = pinned_requirement(item) if bare else item
        if requirement and requirement not in requirements:
            requirements.append(requirement)
    return requirements


def _registered_version(model_info: Any, registered_model_name: str) -> ModelVersion:
    """The :class:`ModelVersion` that ``log_model`` just registered."""
    version = getattr(model_info, "registered_model_version", None)
    if version is None:  # pragma: no cover - log_model registers when given a name
        raise RuntimeError(f"model was logged but not registered as {registered_model_name!r}")
    return MlflowClient().get_model_version(registered_model_name, str(version))


def _copy_run_tags_to_version(run_id: str, version: ModelVersion) -> None:
    """Copy the run's ``har.*`` tags (model, dataset, split, ...) onto the model version."""
    client = MlflowClient()
    tags = client.get_run(run_id).data.tags
    for key, value in tags.items():
        if key.startswith("har.") and not key.startswith(("har.lib.", "har.champion")):
            client.set_model_version_tag(version.name, version.version, key, value)


def log_torch_model(
    model: torch.nn.Module,
    *,
    name: str,
    input_example: np.ndarray,
    registered_model_name: str,
    serialization_format: SerializationFormat = "pt2",
    pip_requirements: Sequence[str] | None = None,
    code_paths: Sequence[str | Path] | None = None,
    run_id: str | None = None,
) -> ModelVersion:
    """Log a PyTorch model with its signature and register a new version of it.

    The model runs once on ``input_example`` (in eval mode, without gradients, on a CPU
    copy when it lives on another device) and the signature is inferred from that input
    and output. Every submodule's train/eval mode is restored afterwards.

    Args:
        model: A module whose ``forward`` takes one float tensor and returns one tensor
            (wrap models that return tuples).
        name: Name of the logged model within the run (``model``, ``teacher``).
        input_example: A real input, e.g. (B, C, T, H, W) float32 with B >= 2 so that
            the batch dimension stays dynamic in the ``pt2`` format.
        registered_model_name: Registry name, one of :data:`REGISTERED_MODEL_NAMES`.
        serialization_format: ``pt2`` (``torch.export``, safe) or ``pickle``.
        pip_requirements: Requirements to record; :func:`default_pip_requirements` by
            default.
        code_paths: Local code to ship with the model (for ``pickle``).
        run_id: The run to log to; must be the active run (MLflow logs models to the
            active run).

    Returns:
        The new model version (``.version``, ``.source``, ``.run_id``).
    """
    import numpy as np

    _require_active(run_id)
    example = np.asarray(input_example)
    if example.ndim >= 1 and example.shape[0] < 2 and serialization_format == "pt2":
        _LOG.warning(
            "input_example has batch size %d: torch.export makes that dimension static, so "
            "the logged model accepts only that batch size; use an example batch of >= 2",
            example.shape[0],
        )
    with _evaluating_on_cpu(model) as to_log:
        model_info = mlflow.pytorch.log_model(
            to_log,
            name=name,
            signature=_tensor_signature(to_log, example, type(model).__name__),
            input_example=example,
            registered_model_name=registered_model_name,
            serialization_format=serialization_format,
            pip_requirements=list(pip_requirements or default_pip_requirements()),
            code_paths=[str(path) for path in code_paths] if code_paths else None,
        )
    version = _registered_version(model_info, registered_model_name)
    _copy_run_tags_to_version(resolve_run_id(run_id), version)
    return version


@contextmanager
def _evaluating_on_cpu(model: torch.nn.Module) -> Iterator[torch.nn.Module]:
    """``model`` in eval mode on the CPU (a copy when it lives on another device); every
    submodule's train/eval mode is restored afterwards."""
    import torch

    modes = [(module, module.training) for module in model.modules()]
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    on_cpu = model if device.type == "cpu" else copy.deepcopy(model).cpu()
    on_cpu.eval()
    try:
        yield on_cpu
    finally:
        for module, training in modes:  # per module: frozen blocks may sit in eval mode
            module.training = training


def _tensor_signature(model: torch.nn.Module, example: np.ndarray, model_class: str
                      ) -> ModelSignature:
    """The signature inferred from one forward pass on ``example`` (without gradients).

    Raises:
        TypeError: ``forward`` returned something else than one tensor.
    """
    import torch
    from mlflow.models import infer_signature

    with torch.no_grad():
        output = model(torch.from_numpy(example))
    if not isinstance(output, torch.Tensor):
        raise TypeError(
            f"{model_class}.forward returned {type(output).__name__}; "
            "log_torch_model needs a module that returns one tensor"
        )
    return infer_signature(example, output.detach().cpu().numpy())


def log_pyfunc_model(
    python_model: PythonModel | str | Path,
    *,
    name: str,
    artifacts: Mapping[str, str] | None,
    input_example: Any,
    signature: ModelSignature | None,
    registered_model_name: str,
    code_paths: Sequence[str | Path] | None = None,
    pip_requirements: Sequence[str] | None = None,
    run_id: str | None = None,
    model_config: Mapping[str, Any] | None = None,
) -> ModelVersion:
    """Log a custom pyfunc model (e.g. one that takes a video path) and register it.

    Args:
        python_model: A ``mlflow.pyfunc.PythonModel`` instance (pickled with
            cloudpickle), or the path of a "models from code" Python file (MLflow 3's
            recommended form: no pickling).
        name: Name of the logged model within the run.
        artifacts: Artifact name to local path or URI (checkpoints, class lists); the
            model finds them in ``context.artifacts`` when loaded.
        input_example: An input example (a DataFrame, a list of strings, ...). MLflow
            runs the model on it once to validate serving; only a warning if that fails.
        signature: The model signature (``mlflow.models.infer_signature`` or
            ``ModelSignature``); None lets MLflow infer it from type hints / the example.
        registered_model_name: Registry name.
        code_paths: Local code to ship with the model, e.g. ``["components"]``.
        pip_requirements: Requirements to record; :func:`default_pip_requirements` by
            default.
        run_id: The run to log to; must be the active run.
        model_config: Values a model logged from code reads in ``load_context``
            (``context.model_config``).

    Returns:
        The new model version.
    """
    _require_active(run_id)
    if isinstance(python_model, Path):
        python_model = str(python_model)
    model_info = mlflow.pyfunc.log_model(
        name=name,
        python_model=python_model,
        artifacts=dict(artifacts) if artifacts else None,
        input_example=input_example,
        signature=signature,
        registered_model_name=registered_model_name,
        code_paths=[str(path) for path in code_paths] if code_paths else None,
        pip_requirements=list(pip_requirements or default_pip_requirements()),
        model_config=dict(model_config) if model_config else None,
    )
    version = _registered_version(model_info, registered_model_name)
    _copy_run_tags_to_version(resolve_run_id(run_id), version)
    return version


def _require_active(run_id: str | None) -> None:
    """MLflow's ``log_model`` logs to the active run: check that ``run_id`` is that run."""
    active = resolve_run_id(None)
    if run_id is not None and run_id != active:
        raise ValueError(f"models are logged to the active run {active}, not {run_id}")


def model_uri(
    registered_model_name: str, *, alias: str | None = None, version: str | None = None
) -> str:
    """A ``models:/`` URI for a registered model by alias or version.

    Args:
        registered_model_name: Registry name.
        alias: Alias such as ``champion``.
        version: Version number (used when no alias is given).

    Returns:
        ``models:/<name>@<alias>`` or ``models:/<name>/<version>``.
    """
    if alias:
        return f"models:/{registered_model_name}@{alias}"
    if version:
        return f"models:/{registered_model_name}/{version}"
    raise ValueError("give an alias or a version")


def load_pyfunc(uri: str) -> Any:
    """Load a logged or registered model as a pyfunc (``.predict``), e.g. the champion.

    Args:
        uri: ``models:/<name>@champion``, ``models:/<name>/<version>`` or ``runs:/...``.

    Returns:
        The ``mlflow.pyfunc.PyFuncModel``.
    """
    return mlflow.pyfunc.load_model(uri)
