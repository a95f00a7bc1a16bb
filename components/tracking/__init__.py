"""MLflow tracking for har-pipeline: the only package that imports ``mlflow``.

Modules, one job each:

* :mod:`~components.tracking.store`: tracking URI, store and experiment set-up (drivers).
* :mod:`~components.tracking.runs`: the :func:`training_run` context manager (nesting).
* :mod:`~components.tracking.naming`: run names and the standard ``har.*`` tags.
* :mod:`~components.tracking.params`, :mod:`~components.tracking.metrics`,
  :mod:`~components.tracking.artifacts`, :mod:`~components.tracking.provenance`:
  what a run logs.
* :mod:`~components.tracking.models`: logging and registering models.
* :mod:`~components.tracking.promotion`: the ``champion`` alias policy.
* :mod:`~components.tracking.registry`: what callers outside tracking ask of the
  registry (a model URI resolved and downloaded, version descriptions, model cards,
  export figures).
* :mod:`~components.tracking.video_model`: the pyfunc wrapper of the inference
  predictor (registered video models).
* :mod:`~components.tracking.video_parts`: a video model's parts checked and staged
  before logging (folders, ONNX exports, fusion weights).

Typical use in a stage driver::

    experiment_id = setup_tracking(repo_root, "har")
    with training_run(
        run_name("train-teacher", "r2plus1d-18", "synthetic-dark"),
        experiment="har",
        tags=standard_tags(job="train-teacher", model="r2plus1d-18",
                           dataset="synthetic-dark", split="split1", stage="train_teacher"),
        params=params_dict,
    ) as run:
        log_config(params_dict)
        log_provenance({"manifest": manifest_path, "trainlist": trainlist_path})
        for epoch in ...:
            log_metrics({"train/loss": loss, "val/top1": top1}, step=epoch)
        version = log_torch_model(model, name="model", input_example=x,
                                  registered_model_name=TEACHER_MODEL)
        promote_if_better(TEACHER_MODEL, version.version, metric_name="val/top1",
                          metric_value=top1, dataset_key="synthetic-dark/split1")

Tune trials (other processes) nest under the sweep's run with
``training_run(..., parent_run_id=run.run_id, tracking_uri=run.tracking_uri)``.
"""

from __future__ import annotations

from components.tracking._active import NoActiveRunError
from components.tracking._retry import is_transient_store_error, retry_transient
from components.tracking.artifacts import log_artifact, log_config, log_figure
from components.tracking.metrics import log_metrics
from components.tracking.models import (
    LIFT_NET_MODEL,
    MOTION_STREAM_MODEL,
    NORMAL_STREAM_MODEL,
    REGISTERED_MODEL_NAMES,
    TEACHER_MODEL,
    default_pip_requirements,
    load_pyfunc,
    log_pyfunc_model,
    log_torch_model,
    model_uri,
)
from components.tracking.naming import (
    STANDARD_TAG_KEYS,
    TAG_DATASET,
    TAG_JOB,
    TAG_MODEL,
    TAG_SPLIT,
    TAG_STAGE,
    dataset_key,
    run_name,
    standard_tags,
)
from components.tracking.params import flatten_params, log_params_flat
from components.tracking.promotion import (
    CHAMPION_ALIAS,
    PromotionDecision,
    current_champion,
    decide_promotion,
    promote_if_better,
)
from components.tracking.provenance import Provenance, git_state, library_versions, log_provenance
from components.tracking.runs import RunHandle, training_run
from components.tracking.store import (
    current_tracking_uri,
    default_artifact_location,
    ensure_experiment,
    resolve_tracking_uri,
    setup_tracking,
)

__all__ = [
    "CHAMPION_ALIAS",
    "LIFT_NET_MODEL",
    "MOTION_STREAM_MODEL",
    "NORMAL_STREAM_MODEL",
    "REGISTERED_MODEL_NAMES",
    "STANDARD_TAG_KEYS",
    "TAG_DATASET",
    "TAG_JOB",
    "TAG_MODEL",
    "TAG_SPLIT",
    "TAG_STAGE",
    "TEACHER_MODEL",
    "NoActiveRunError",
    "PromotionDecision",
    "Provenance",
    "RunHandle",
    "current_champion",
    "current_tracking_uri",
    "dataset_key",
    "decide_promotion",
    "default_artifact_location",
    "default_pip_requirements",
    "ensure_experiment",
    "flatten_params",
    "git_state",
    "is_transient_store_error",
    "library_versions",
    "load_pyfunc",
    "log_artifact",
    "log_config",
    "log_figure",
    "log_metrics",
    "log_params_flat",
    "log_provenance",
    "log_pyfunc_model",
    "log_torch_model",
    "model_uri",
    "promote_if_better",
    "resolve_tracking_uri",
    "retry_transient",
    "run_name",
    "setup_tracking",
    "standard_tags",
    "training_run",
]
