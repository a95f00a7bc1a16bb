"""Registering trained models: the champion alias moves only on improvement."""

from __future__ import annotations

import pytest
import torch

from components.training import DataPaths, TrainRequest
from components.training.driver import prepare_training
from components.training.finish import _log_and_register
from components.training.session import build_model
from training._data import TinyDataset
from training._fixtures import settings, teacher_config

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_champion_moves_only_when_a_version_beats_it(
        tiny_data: TinyDataset, mlflow_store: str) -> None:
    from mlflow.tracking import MlflowClient

    from components.tracking import setup_tracking, training_run

    setup_tracking(tiny_data.root, "har-tests")
    prepared = prepare_training(TrainRequest(
        job="teacher", config=teacher_config(), settings=settings(tiny_data.root),
        data=DataPaths(tiny_data.ingest, tiny_data.represent), repo_root=tiny_data.root,
    ), total_cpus=2)
    torch.manual_seed(0)
    state = {"model": build_model(prepared.plan.model).state_dict()}
    client = MlflowClient(tracking_uri=mlflow_store)
    outcomes = []
    for top1 in (0.5, 0.25, 0.75):
        with training_run(f"candidate-{top1}", experiment="har-tests") as run:
            version, decision = _log_and_register(prepared, state, {"top1": top1})
            outcomes.append((version, decision.promoted))
            tag = client.get_run(run.run_id).data.tags["har.champion_decision"]
            assert tag.startswith(f"har-teacher v{version}: "
                                  f"{'promoted' if decision.promoted else 'kept'}")
    assert outcomes == [("1", True), ("2", False), ("3", True)]
    assert str(client.get_registered_model("har-teacher").aliases["champion"]) == "3"
    logged = client.get_model_version("har-teacher", "1")
    assert logged.tags["har.dataset_key"] == "ucf101-videos/split1"
