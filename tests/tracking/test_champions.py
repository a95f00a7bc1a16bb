"""The champions table reads the registry's aliases and tags."""

from __future__ import annotations

from pathlib import Path

from components.tracking import promote_if_better
from components.tracking.champions import card_location, champion_rows
from components.tracking.model_card import attach_model_card

from ._support import Tracking, register_version


def test_a_champion_row_shows_its_metric_and_lighting(tracking: Tracking) -> None:
    client, name = tracking.client, "har-two-stream"
    version, _ = register_version(tracking, name)
    promote_if_better(name, version, metric_name="test/top1", metric_value=0.75,
                      dataset_key="ucf101-synthetic/split1",
                      lighting={"dark": 0.75}, max_bucket_drop=5.0)
    (row,) = champion_rows(client)
    assert (row["model"], row["champion"], row["dataset"]) == (
        name, f"v{version}", "ucf101-synthetic/split1")
    assert row["metric"] == "test/top1 0.750" and row["lighting"] == "dark 75.0"


def test_a_champion_row_says_where_its_model_card_is(tracking: Tracking) -> None:
    client, name = tracking.client, "har-motion-stream"
    version, _ = register_version(tracking, name)
    promote_if_better(name, version, metric_name="test/top1", metric_value=0.5,
                      dataset_key="d/s")
    attach_model_card(client, name, version, {"results": {"top1": 0.5}})
    (row,) = champion_rows(client)
    card = Path(row["card"])
    assert card.name == "model_card.md" and card.is_file(), row["card"]
    assert "# Model card" in card.read_text(encoding="utf-8")


def test_a_card_location_is_a_path_for_local_stores_and_a_uri_otherwise(tmp_path: Path) -> None:
    assert card_location(f"file://{tmp_path}/runs/1/artifacts", "c.md", cwd=tmp_path) == (
        "runs/1/artifacts/c.md")
    assert card_location("/elsewhere/a", "c.md", cwd=tmp_path) == "/elsewhere/a/c.md"
    assert card_location("mlflow-artifacts:/7/abc/artifacts", "model_card/m/v1/c.md") == (
        "mlflow-artifacts:/7/abc/artifacts/model_card/m/v1/c.md")
