"""The registered video models: MLflow pyfunc models that take video paths.

A registered ``har-lift-net`` (or ``har-teacher``, ``har-*-stream``, or a fused
MEI two-stream network) is a :class:`VideoModel`: its artifacts are one or more
trained model folders (``models/<job>``: ``model.pt`` + ``model.json``, *parts*),
and its ``predict`` decodes and represents each video exactly as training did
(:mod:`components.inference`), scores it with every part and fuses the parts'
probabilities. So ``mlflow models serve -m models:/har-lift-net@champion`` answers
video paths (on the serving machine) over HTTP::

    POST /invocations  {"dataframe_records": [{"video": "/data/v_Fall_g01_c01.mp4"}],
                        "params": {"top": 5}}
    -> {"predictions": [{"video": "...", "label": "Fall", "probability": 0.91,
                         "top1_label": "Fall", "top1_prob": 0.91, ...,
                         "top5_label": "...", "top5_prob": 0.01}]}

Output columns (one row per input video, in input order): ``video``, ``label``
and ``probability`` (the top-1), then ``top<r>_label`` / ``top<r>_prob`` for ranks
r = 1..min(top, classes): flat string and double columns that serialise cleanly
over the REST API. ``params={"top": k}`` changes how many ranks come back.

A part can run on its ONNX export instead of PyTorch (``log_video_model(onnx=...)``:
the ``.onnx`` file written by ``har export`` goes into the part's artifact folder and
``model_config["onnx"]`` lists the part; onnxruntime then computes its logits, the
decoding, clips and fusion staying the same).

A missing or undecodable video raises an ``MlflowException`` with
``INVALID_PARAMETER_VALUE`` whose message names the file: the scoring server
answers it with HTTP 400 and that message.

The model is logged as code (MLflow's models-from-code:
:mod:`components.tracking.video_model_code` and a ``model_config`` holding the
parts and fusion weights) and ships the ``components`` package as its code path:
loading it never unpickles anything, and the weights are read weights-only. ``har
predict`` goes further (:func:`components.inference.loading.predictor_from_logged_model`,
after :func:`components.tracking.registry.downloaded_model` for a URI; a folder needs
no MLflow): it reads the ``MLmodel`` file and the weight files itself and runs no code
that came with the model, so a crafted model folder or registry entry cannot run a
command on the machine that loads it.

This module is the pyfunc wrapper alone: the predictor it wraps, the model folder's
layout (:data:`~components.inference.loading.ONNX_FILE`,
:data:`~components.inference.loading.MODEL_CODE_NAME`) and the loading of a local
folder are :mod:`components.inference`'s.
Checking and staging the parts before logging is
:mod:`components.tracking.video_parts`'.
"""

from __future__ import annotations

import logging
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
from mlflow.pyfunc.model import PythonModel

from components.errors import InputError
from components.inference.loading import (
    MODEL_CODE_NAME,
    ModelLoadError,
    use_onnx_parts,
)
from components.models.two_stream import checked_fusion_weights
from components.tracking.models import default_pip_requirements, log_pyfunc_model
from components.tracking.video_parts import (
    check_parts,
    named_parts,
    onnx_exports,
    stage_parts,
)

if TYPE_CHECKING:
    from mlflow.models import ModelSignature

_LOG = logging.getLogger(__name__)

#: The input column: video file paths.
VIDEO_COLUMN = "video"
#: Ranks returned by default (``params={"top": k}`` changes it).
DEFAULT_TOP = 5
#: Distributions the model's code needs besides mlflow, torch and numpy.
EXTRA_REQUIREMENTS = ("timm", "av", "opencv-contrib-python-headless", "pandas", "pyyaml")


def output_columns(ranks: int) -> list[str]:
    """The output columns for ``ranks`` ranks: video, label, probability, top<r>_*."""
    columns = [VIDEO_COLUMN, "label", "probability"]
    for r in range(1, ranks + 1):
        columns += [f"top{r}_label", f"top{r}_prob"]
    return columns


def video_paths(model_input: Any) -> list[str]:
    """The video paths of a pyfunc input: a DataFrame with a ``video`` column (or a
    single string column), a mapping ``{"video": [...]}``, a list of strings, or one
    string.

    Raises:
        MlflowException: INVALID_PARAMETER_VALUE for any other input.
    """
    import numpy as np
    import pandas as pd

    if isinstance(model_input, pd.DataFrame):
        if VIDEO_COLUMN in model_input.columns:
            values = model_input[VIDEO_COLUMN].tolist()
        elif len(model_input.columns) == 1:
            values = model_input.iloc[:, 0].tolist()
        else:
            raise MlflowException(
                f"input needs a string column '{VIDEO_COLUMN}' of video paths, got columns "
                f"{list(model_input.columns)}", error_code=INVALID_PARAMETER_VALUE)
    elif isinstance(model_input, pd.Series | np.ndarray):
        values = list(np.asarray(model_input).reshape(-1))
    elif isinstance(model_input, Mapping):
        if VIDEO_COLUMN not in model_input:
            raise MlflowException(f"input needs the key '{VIDEO_COLUMN}', got "
                                  f"{sorted(model_input)}", error_code=INVALID_PARAMETER_VALUE)
        raw = model_input[VIDEO_COLUMN]
        values = [raw] if isinstance(raw, str | Path) else list(raw)
    elif isinstance(model_input, str | Path):
        values = [model_input]
    elif isinstance(model_input, Sequence):
        values = list(model_input)
    else:
        raise MlflowException(f"expected video paths (a DataFrame with a '{VIDEO_COLUMN}' "
                              f"column, or a list of strings), got {type(model_input).__name__}",
                              error_code=INVALID_PARAMETER_VALUE)
    # A mapping of lists can reach here as one row whose cell holds the list.
    values = [p for v in values for p in
              (list(v) if isinstance(v, list | tuple | np.ndarray) else [v])]
    bad = [v for v in values if not isinstance(v, str | Path) or not str(v).strip()]
    if bad:
        raise MlflowException(f"video paths must be non-empty strings, got {bad[:3]!r}",
                              error_code=INVALID_PARAMETER_VALUE)
    return [str(v) for v in values]


def _top_param(params: Mapping[str, Any] | None) -> int:
    top = (params or {}).get("top", DEFAULT_TOP)
    try:
        top = int(top)
    except (TypeError, ValueError):
        top = 0
    if top < 1:
        raise MlflowException(f"params.top must be a positive integer, got {top!r}",
                              error_code=INVALID_PARAMETER_VALUE)
    return top


class VideoModel(PythonModel):
    """A pyfunc model over trained model folders: video paths in, top-k labels out.

    Args:
        parts: the artifact names of the trained model folders (``("model",)``, or
            ``("normal", "motion")`` for the two-stream network), in fusion order;
            None: read at load time from the logged ``model_config`` (``parts``,
            ``fusion_weights``), as a model logged from code is.
        fusion_weights: one weight per part (equal by default).
    """

    #: No type-hint based input conversion by MLflow (and no warning that ``predict``
    #: lacks type hints): the explicit signature describes the input, and
    #: :func:`video_paths` accepts the shapes it arrives in.
    _skip_type_hint_validation = True

    def __init__(self, parts: Sequence[str] | None = None,
                 fusion_weights: Sequence[float] | None = None) -> None:
        self.parts = None if parts is None else tuple(parts)
        self.fusion_weights = None if fusion_weights is None else \
            tuple(float(w) for w in fusion_weights)
        self._predictor: Any = None

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_predictor"] = None  # loaded from the artifacts, never pickled
        return state

    def load_context(self, context: Any) -> None:
        from components.inference.predictor import VideoPredictor

        if self.parts is None:
            config = context.model_config or {}
            if not config.get("parts"):
                raise MlflowException("the model's model_config names no parts")
            self.parts = tuple(str(p) for p in config["parts"])
            weights = config.get("fusion_weights")
            self.fusion_weights = None if weights is None else tuple(float(w) for w in weights)
        missing = [p for p in self.parts if p not in context.artifacts]
        if missing:
            raise MlflowException(f"the model lacks the artifacts {missing}")
        self._predictor = VideoPredictor.from_folders(
            {p: context.artifacts[p] for p in self.parts}, self.fusion_weights)
        try:
            use_onnx_parts(self._predictor, (context.model_config or {}).get("onnx"),
                           {p: Path(context.artifacts[p]) for p in self.parts})
        except ModelLoadError as exc:
            raise MlflowException(str(exc)) from exc

    @property
    def predictor(self) -> Any:
        """The :class:`~components.inference.predictor.VideoPredictor` (after loading)."""
        if self._predictor is None:
            raise RuntimeError("VideoModel used before load_context")
        return self._predictor

    # no annotations: MLflow reads predict's type hints to convert (and check) the input
    def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]  # noqa: ANN001, ANN201
        """One row per video (see the module docstring for the columns): a DataFrame.

        No type hints here on purpose: MLflow reads them to infer and enforce input
        types, and the explicit signature of :func:`video_signature` does that.

        Raises:
            MlflowException: INVALID_PARAMETER_VALUE naming the file for a missing,
                undecodable or too short video, or for input that is not video paths.
        """
        import pandas as pd

        paths = video_paths(model_input)
        top = _top_param(params)
        ranks = min(top, len(self.predictor.classes))
        rows = []
        for path in paths:
            try:
                best = self.predictor.top(path, ranks)
            except InputError as exc:
                raise MlflowException(str(exc), error_code=INVALID_PARAMETER_VALUE) from exc
            row: dict[str, Any] = {VIDEO_COLUMN: path, "label": best[0][0],
                                   "probability": best[0][1]}
            for r, (label, prob) in enumerate(best, start=1):
                row[f"top{r}_label"] = label
                row[f"top{r}_prob"] = prob
            rows.append(row)
        return pd.DataFrame(rows, columns=output_columns(ranks))


def video_signature(num_classes: int, top: int = DEFAULT_TOP) -> ModelSignature:
    """Input: a string column ``video``; output: the columns for min(top, classes)
    ranks; params: ``top`` (long, default :data:`DEFAULT_TOP`)."""
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, ParamSchema, ParamSpec, Schema, TensorSpec

    ranks = min(top, num_classes)
    outputs: list[ColSpec | TensorSpec] = [
        ColSpec("string", name) if name == VIDEO_COLUMN or name.endswith("label")
        else ColSpec("double", name) for name in output_columns(ranks)]
    return ModelSignature(inputs=Schema([ColSpec("string", VIDEO_COLUMN)]),
                          outputs=Schema(outputs),
                          params=ParamSchema([ParamSpec("top", "long", top)]))


def code_path() -> Path:
    """The ``components`` package folder (shipped with every video model)."""
    import components

    return Path(components.__file__).resolve().parent


def model_code_file() -> Path:
    """The models-from-code file every video model is logged with."""
    return Path(__file__).resolve().with_name(MODEL_CODE_NAME)


def log_video_model(
    parts: Mapping[str, Path],
    *,
    registered_model_name: str,
    fusion_weights: Sequence[float] | None = None,
    example_video: Path | None = None,
    run_id: str | None = None,
    name: str = "model",
    onnx: Mapping[str, Path] | None = None,
) -> ModelVersion:
    """Log a :class:`VideoModel` over trained model folders to the active run and
    register it.

    Args:
        parts: part name -> trained model folder (``{"model": models/student}`` or
            ``{"normal": models/normal, "motion": models/motion}``); the folders are
            copied into the model's artifacts.
        registered_model_name: registry name (``har-lift-net``...).
        fusion_weights: one weight per part (equal by default).
        example_video: a small real video for the input example (MLflow runs the
            model on it once to check it serves); None: no input example.
        run_id: the run to log to; must be the active run.
        name: name of the logged model within the run.
        onnx: part name -> its ONNX export (``har export``): copied into the part's
            artifact folder as :data:`~components.inference.loading.ONNX_FILE`; the
            model then runs that part with onnxruntime instead of PyTorch (same
            inputs, same fusion).

    Returns:
        The new model version.

    Raises:
        InputError: a folder without ``model.pt``/``model.json``, or parts over
            different classes.
        ValueError: no part, or fusion weights that do not fit.
    """
    parts = named_parts(parts)
    classes = check_parts(parts)
    onnx = onnx_exports(onnx, parts)
    weights = None if fusion_weights is None else \
        checked_fusion_weights(fusion_weights, len(parts))
    example = _input_example(example_video)
    with tempfile.TemporaryDirectory(prefix="har-video-model-") as tmp, \
            warnings.catch_warnings():
        # Without a video to hand, no example: the explicit signature says it all.
        warnings.filterwarnings("ignore", message=".*input example was not provided",
                                category=UserWarning)
        staged = stage_parts(parts, onnx, Path(tmp))
        return log_pyfunc_model(
            model_code_file(),
            model_config={"parts": list(parts), "fusion_weights": weights,
                          **({"onnx": sorted(onnx)} if onnx else {})},
            name=name,
            artifacts={part: str(path) for part, path in staged.items()},
            input_example=example,
            signature=video_signature(len(classes)),
            registered_model_name=registered_model_name,
            code_paths=[code_path()],
            pip_requirements=default_pip_requirements(
                EXTRA_REQUIREMENTS + (("onnxruntime",) if onnx else ())),
            run_id=run_id,
        )


def _input_example(example_video: Path | None) -> Any:
    """A one-row DataFrame naming ``example_video`` (which must exist), None without it."""
    import pandas as pd

    if example_video is None:
        return None
    if not Path(example_video).is_file():
        raise InputError(Path(example_video), "example video not found")
    return pd.DataFrame({VIDEO_COLUMN: [str(Path(example_video).resolve())]})
