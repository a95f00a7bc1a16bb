"""The champions table reads the registry's aliases and tags."""

from __future__ import annotations

from components.tracking import promote_if_better, training_run
from components.tracking.champions import champion_rows

from ._support import Tracking


def test_a_champion_row_shows_its_metric_and_lighting(tracking: Tracking) -> None:
    client, name = tracking.client, "har-two-stream"
    with training_run("register", experiment=tracking.experiment) as run:
        client.create_registered_model(name)
        version = client.create_model_version(name, source=str(tracking.root / "m"),
                                              run_id=run.run_id).version
        promote_if_better(name, version, metric_name="test/top1", metric_value=0.75,
                          dataset_key="ucf101-synthetic/split1",
                          lighting={"dark": 0.75}, max_bucket_drop=5.0)
    (row,) = champion_rows(client)
    assert (row["model"], row["champion"], row["dataset"]) == (
        name, f"v{version}", "ucf101-synthetic/split1")
    assert row["metric"] == "test/top1 0.750" and row["lighting"] == "dark 75.0"
