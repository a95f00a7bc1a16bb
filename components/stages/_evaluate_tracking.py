"""The MLflow side of ``har evaluate``: the evaluation run with every number, and the
registration of the fused two-stream network with its model card (the champion
guard: :func:`components.tracking.promote_if_better`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from components.data.manifest import DATASET_FILE, read_dataset_info
from components.stages.evaluate import TWO_STREAM_MODEL

if TYPE_CHECKING:
    from components.evaluation import RowResult
    from components.stages.evaluate import EvaluateConfig, Evaluation


def track(evaluation: Evaluation, cfg: EvaluateConfig, root: Path, models: Path,
          ingest: Path, infos: dict[str, dict[str, Any]]) -> None:
    """Log the evaluation run; register the fused two-stream network with its card."""
    from components.tracking import (
        log_metrics,
        run_name,
        setup_tracking,
        standard_tags,
        training_run,
    )
    from components.tracking.links import run_url

    setup_tracking(root, cfg.experiment)
    labels = evaluation.labels
    tags = standard_tags(job="evaluate", model="all", dataset=labels["dataset"],
                         split=labels["split"], stage="evaluate")
    # `dvc exp run` names its experiment in DVC_EXP_NAME: har ablate finds the run by it.
    dvc_experiment = os.environ.get("DVC_EXP_NAME", "").strip()
    if dvc_experiment:
        tags["har.dvc_exp"] = dvc_experiment
    with training_run(run_name("evaluate", "all", labels["dataset"]), experiment=cfg.experiment,
                      tags=tags, params={"evaluate": cfg},
                      description="har evaluate: video-level results of every model") as run:
        evaluation.run_id = run.run_id
        flat = {f"{r.spec.name}/{k}": v for r in evaluation.results
                for k, v in r.metrics.items()}
        log_metrics(flat, step=0, run_id=run.run_id)
        for r in evaluation.results:
            ids = [i for i in r.run_ids.values() if i]
            if len(ids) == 1:
                evaluation.run_links[r.spec.name] = run_url(ids[0])
        two_stream = next((r for r in evaluation.results if r.spec.name == "two_stream"), None)
        if cfg.register and two_stream is not None:
            _register_two_stream(evaluation, two_stream, cfg, root, models, ingest, infos,
                                 run_id=run.run_id, dvc_experiment=dvc_experiment)
        evaluation.run_links.setdefault("two_stream", run_url(run.run_id))
        if "ensemble" in {r.spec.name for r in evaluation.results}:
            evaluation.run_links.setdefault("ensemble", run_url(run.run_id))


def _register_two_stream(evaluation: Evaluation, two_stream: RowResult, cfg: EvaluateConfig,
                         root: Path, models: Path, ingest: Path,
                         infos: dict[str, dict[str, Any]], *,
                         run_id: str, dvc_experiment: str) -> None:
    """Register the fused row's models as a new ``har-two-stream`` version, move
    ``champion`` if it beats the current one, and attach the version's model card."""
    from components.tracking import promote_if_better
    from components.tracking.registry import attach_card
    from components.tracking.video_model import log_video_model

    parts = {"normal": models / cfg.normal, "motion": models / cfg.motion}
    version = log_video_model(parts, registered_model_name=TWO_STREAM_MODEL,
                              fusion_weights=list(cfg.fusion_weights), run_id=run_id)
    lighting = {bucket: figures["top1"] for bucket, figures in
                evaluation.by_lighting.get("two_stream", {}).items()}
    decision = promote_if_better(TWO_STREAM_MODEL, version.version,
                                 metric_name=f"{cfg.split}/top1",
                                 metric_value=two_stream.metrics["top1"],
                                 dataset_key=evaluation.dataset,
                                 dvc_experiment=dvc_experiment,
                                 lighting=lighting,
                                 max_bucket_drop=cfg.max_bucket_drop)
    facts = card_facts(evaluation, two_stream, cfg, root, ingest, infos)
    facts["promotion"] = (f"{'promoted to' if decision.promoted else 'not'} champion: "
                          f"{decision.reason}")
    attach_card(TWO_STREAM_MODEL, version.version, facts)
    two_stream.model = f"{TWO_STREAM_MODEL}/{version.version}"
    evaluation.registered = (f"{TWO_STREAM_MODEL} v{version.version}: "
                             f"{'champion' if decision.promoted else 'champion kept'}")


def card_facts(evaluation: Evaluation, row: RowResult, cfg: EvaluateConfig, root: Path,
               ingest: Path, infos: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The model card's facts of one evaluated row (``components.tracking.model_card``)."""
    import hashlib

    from components.data.manifest import MANIFEST_FILE, read_manifest
    from components.tracking import git_state
    from components.tracking.lookup import run_tag
    from components.tracking.provenance import GIT_COMMIT_TAG

    info_path = ingest / DATASET_FILE
    dataset = read_dataset_info(info_path) if info_path.is_file() else {}
    manifest = ingest / MANIFEST_FILE
    per_class: dict[str, dict[str, int]] = {c: {} for c in row.scores.classes}
    for video in read_manifest(manifest):
        counts = per_class.setdefault(video.label, {})
        counts[video.split] = counts.get(video.split, 0) + 1
    test_buckets: dict[str, int] = {}
    for key in row.scores.keys:
        bucket = evaluation.buckets.get(key, "unknown")
        test_buckets[bucket] = test_buckets.get(bucket, 0) + 1
    params: dict[str, object] = {"fusion_weights": list(row.spec.weights) or "equal",
                                 "views": evaluation.views or "as trained"}
    epochs = []
    for part in row.spec.parts:
        info = infos.get(part, {})
        config = info.get("config")
        if not isinstance(config, dict):
            config = {}
        params[f"{part}.model"] = info.get("model", "")
        params[f"{part}.input"] = info.get("input", "")
        epochs.append(f"{part} {config.get('epochs', '?')}")
    # The git commit each training run recorded.
    commits = sorted({run_tag(run_id, GIT_COMMIT_TAG) for run_id in row.run_ids.values()
                      if run_id} - {""})
    if not commits:
        git = git_state(root)
        commits = [f"{git.commit}{' (dirty)' if git.dirty else ''} (at evaluation)"]
    totals = row.confusion.sum(1)
    return {
        "title": f"{row.spec.title} ({' + '.join(row.spec.parts)}), registered by har evaluate",
        "data": {"dataset": evaluation.dataset, "split": cfg.split,
                 "lighting": dataset.get("lighting"),
                 "manifest_sha256": hashlib.sha256(manifest.read_bytes()).hexdigest(),
                 "counts": {k: dataset[k] for k in ("train", "test") if k in dataset},
                 "per_class": per_class, "per_lighting": test_buckets,
                 "licence": dataset.get("licence")},
        "training": {"params": params, "epochs": ", ".join(epochs),
                     "git_commit": ", ".join(commits),
                     "run_id": ", ".join(f"{k} {v}" for k, v in row.run_ids.items() if v)},
        "results": {"overall": row.metrics,
                    "per_class": {c: (row.confusion[i, i] / totals[i] if totals[i]
                                      else float("nan"))
                                  for i, c in enumerate(row.scores.classes)},
                    "per_lighting": evaluation.by_lighting.get(row.spec.name, {}),
                    "classes": list(row.scores.classes), "confusion": row.confusion.tolist()},
    }

