"""``har evaluate`` over the two streams: metrics/eval.json keeps its shape; the
breakdown by lighting and class is written; the registered version gets its model
card and its lighting figures."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from components.config import from_mapping
from components.errors import ConfigError
from components.stages.evaluate import TWO_STREAM_MODEL, EvaluateConfig, evaluate
from inference._support import Shards


def test_the_breakdown_files_and_the_model_card(shards: Shards, trained, mlflow_store: str,
                                                tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    from components.tracking.promotion import GUARD_TAG, lighting_tag

    models = trained["normal"].parent
    assert trained["motion"].parent == models
    out = tmp_path / "out"
    evaluation = evaluate(EvaluateConfig(experiment="har-test"), root=shards.root, models=models,
                          ingest=shards.ingest, represent=shards.represent,
                          metrics_file=out / "eval.json", reports=out / "reports",
                          plots=out / "plots")

    metrics = json.loads((out / "eval.json").read_text())
    assert set(metrics) == {"normal", "motion", "two_stream"}
    assert all(set(m) == {"top1", "top5", "mean_class_acc", "videos"} for m in metrics.values())
    with (out / "reports" / "by_lighting.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    # the fixture's videos are dark: one bucket, every test video in it
    assert [r["lighting"] for r in rows] == ["dark"]
    assert int(rows[0]["videos"]) == int(metrics["two_stream"]["videos"])
    assert float(rows[0]["two_stream"]) == pytest.approx(metrics["two_stream"]["top1"])
    report = (out / "reports" / "results.md").read_text()
    assert "## By lighting" in report and "## By class" in report

    client = MlflowClient()
    name, version = TWO_STREAM_MODEL, evaluation.registered.split(" v")[1].split(":")[0]
    mv = client.get_model_version(name, version)
    assert mv.description.startswith(f"# Model card: {name} v{version}")
    assert "## Export parity and latency" in mv.description
    assert "synthetic videos" in mv.description  # the synthetic-data limit
    assert float(mv.tags[lighting_tag("dark")]) == pytest.approx(metrics["two_stream"]["top1"])
    assert mv.tags[GUARD_TAG].startswith("not compared")  # the first version: no champion
    card = client.download_artifacts(mv.run_id, f"model_card/{name}/v{version}/model_card.md",
                                     str(tmp_path))
    assert Path(card).read_text(encoding="utf-8") == mv.description


def test_views_are_checked() -> None:
    cfg = from_mapping(EvaluateConfig, {"views": {"clips": 4}})
    assert cfg.views.clips == 4 and cfg.views.crops == 1
    assert from_mapping(EvaluateConfig, {"views": {"crops": 3}}).views.crops == 3
    with pytest.raises(ConfigError, match="crops must be >= 1"):
        from_mapping(EvaluateConfig, {"views": {"crops": 0}})
    with pytest.raises(ConfigError, match="dark < dim"):
        from_mapping(EvaluateConfig, {"lighting_buckets": {"dark": 0.3, "dim": 0.2}})


def test_views_set_the_clips_and_crops_per_test_video(shards: Shards, trained,
                                                   tmp_path: Path) -> None:
    from components.stages.evaluate import Views

    models = trained["teacher"].parent
    cfg = EvaluateConfig(views=Views(clips=3, crops=3), register=False)
    evaluation = evaluate(cfg, root=shards.root, models=models, ingest=shards.ingest,
                          represent=shards.represent, metrics_file=tmp_path / "eval.json",
                          reports=tmp_path / "reports", plots=tmp_path / "plots", track=False)
    teacher = next(r for r in evaluation.results if r.spec.name == "teacher")
    assert teacher.scores.items.tolist() == [3 * 3] * len(teacher.scores.keys)
    assert "test views: 3 clip(s) x 3 crops" in evaluation.markdown
