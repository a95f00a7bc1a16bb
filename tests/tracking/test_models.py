"""Logging, registering and loading models (real MLflow, tiny models)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow.models import infer_signature
from mlflow.pyfunc import PythonModel

from components.tracking import (
    TEACHER_MODEL,
    default_pip_requirements,
    load_pyfunc,
    log_pyfunc_model,
    log_torch_model,
    model_uri,
    promote_if_better,
    standard_tags,
    training_run,
)

from ._support import Tracking


class _PathLengthModel(PythonModel):
    """A stand-in for a pyfunc that takes video paths: predicts a class from the name."""

    def load_context(self, context) -> None:  # noqa: ANN001 - MLflow's PythonModelContext
        self.classes = Path(context.artifacts["classes"]).read_text().split()

    def predict(self, context, model_input: pd.DataFrame, params=None) -> list[str]:  # noqa: ANN001
        return [self.classes[len(path) % len(self.classes)] for path in model_input["video_path"]]


def test_default_pip_requirements_are_pinned() -> None:
    requirements = default_pip_requirements(["pandas", "timm>=1.0"])
    names = [r.split("==")[0] for r in requirements]
    assert names[:3] == ["mlflow", "torch", "numpy"]
    assert all("+" not in r for r in requirements)
    assert "timm>=1.0" in requirements
    assert any(r.startswith("pandas==") for r in requirements)


def test_model_uri() -> None:
    assert model_uri("har-teacher", alias="champion") == "models:/har-teacher@champion"
    assert model_uri("har-teacher", version="3") == "models:/har-teacher/3"


@pytest.mark.slow
def test_torch_model_is_registered_and_champion_predicts(tracking: Tracking) -> None:
    import torch

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Dropout(0.5))
    model.train()
    model[0].eval()  # a frozen block: its own mode must survive logging
    example = np.random.default_rng(0).random((2, 4), dtype=np.float32)  # batch >= 2: dynamic

    with training_run(
        "teacher",
        experiment=tracking.experiment,
        tags=standard_tags(job="train-teacher", model="linear", dataset="synthetic-dark"),
    ) as run:
        version = log_torch_model(
            model, name="model", input_example=example, registered_model_name=TEACHER_MODEL
        )
        decision = promote_if_better(
            TEACHER_MODEL,
            version.version,
            metric_name="val/top1",
            metric_value=0.8,
            dataset_key="synthetic-dark/split1",
        )
    assert model.training and model[1].training and not model[0].training  # modes restored
    assert decision.promoted
    assert version.name == TEACHER_MODEL and str(version.version) == "1"
    assert version.run_id == run.run_id
    assert tracking.client.get_model_version(TEACHER_MODEL, "1").tags["har.model"] == "linear"

    loaded = load_pyfunc(model_uri(TEACHER_MODEL, alias="champion"))
    inputs = loaded.metadata.get_input_schema().inputs
    assert inputs[0].type == np.dtype("float32") and tuple(inputs[0].shape) == (-1, 4)
    batch = np.random.default_rng(1).random((5, 4), dtype=np.float32)  # another batch size
    predicted = np.asarray(loaded.predict(batch))
    with torch.no_grad():
        expected = model.eval()(torch.from_numpy(batch)).numpy()
    np.testing.assert_allclose(predicted, expected, rtol=1e-5, atol=1e-6)


def test_pyfunc_model_with_artifacts_is_registered_and_loads(
    tracking: Tracking, tmp_path: Path
) -> None:
    classes = tmp_path / "classes.txt"
    classes.write_text("walk run jump\n", encoding="utf-8")
    example = pd.DataFrame({"video_path": ["v_walk_01.mp4", "v_run_002.mp4"]})
    signature = infer_signature(example, ["walk", "run"])

    with training_run("package", experiment=tracking.experiment):
        version = log_pyfunc_model(
            _PathLengthModel(),
            name="video-classifier",
            artifacts={"classes": str(classes)},
            input_example=example,
            signature=signature,
            registered_model_name="har-lift-net",
            pip_requirements=default_pip_requirements(["pandas"]),
        )
    loaded = load_pyfunc(model_uri("har-lift-net", version=str(version.version)))
    assert list(loaded.predict(pd.DataFrame({"video_path": ["abc", "abcd"]}))) == ["walk", "run"]
