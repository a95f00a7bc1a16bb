"""``har evaluate``: video-level results of every trained model on the test split.

Rows (``evaluate:`` in params.yaml names the model folders under ``models/``):

* LIFT-Net: the R(2+1)D teacher, the student distilled from it (KD), and the
  student trained without the teacher (no KD) when that folder exists;
* the MEI two-stream network: the normal stream alone, the motion stream alone,
  the two fused (mean of their probabilities, weights in params), and an
  ensemble of backbones when ``evaluate.ensemble`` names two or more folders.

Writes (DVC outputs)::

    metrics/eval.json                  {row: {top1, top5, mean_class_acc, videos}}
    reports/eval/results.md, .csv      the results table (CSV: with MLflow links)
    reports/eval/per_class.csv         accuracy of every row on every class
    reports/eval/by_lighting.csv       top-1 of every row per lighting bucket (dark /
                                       dim / bright by each video's luma at ingest)
    plots/eval/<row>_predictions.csv   actual/predicted per video (DVC confusion plot)
    plots/eval/<row>_confusion.png     confusion matrix picture

and one MLflow run (``evaluate-...``) with every number and file, linked to the
training runs; with ``evaluate.register``, the fused two-stream network is
registered as the pyfunc model ``har-two-stream`` (``champion`` moves only when
it beats the current one on the same dataset and split and no lighting bucket
drops more than ``evaluate.max_bucket_drop`` points against it), with a model card
(``components.tracking.model_card``) as its description and artifact: the MLflow
side lives in :mod:`components.stages._evaluate_tracking`.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import io
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from components._atomic import write_text_atomic
from components.data.lighting import LightingBuckets
from components.data.manifest import DATASET_FILE, dataset_labels, read_dataset_info
from components.errors import InputError
from components.stages._common import add_params_flag, stage_config

if TYPE_CHECKING:
    from components.evaluation import RowResult, RowSpec

log = logging.getLogger(__name__)

TWO_STREAM_MODEL = "har-two-stream"


@dataclass(frozen=True)
class Views:
    """params.yaml ``evaluate.views``: the multi-view test (PySlowFast, MMAction2).

    Attributes:
        clips: evenly spaced clips per test video for the clip models (teacher,
            LIFT-Net); 0: as each model was trained (its ``eval_clips``). The image
            streams (normal, motion) score every item of a video whatever this says.
        crops: spatial crops per clip for the clip models: 1, the whole frame; 3,
            left / centre / right squares of 7/8 of the short side resized back to
            the model's size (the shards hold frames at that size;
            :mod:`components.jobs.views`).
    """

    clips: int = 0
    crops: int = 1

    def __post_init__(self) -> None:
        if self.clips < 0:
            raise ValueError(f"views.clips must be >= 0 (0: as trained), got {self.clips}")
        if self.crops < 1:
            raise ValueError(f"views.crops must be >= 1, got {self.crops}")


@dataclass(frozen=True)
class EvaluateConfig:
    """params.yaml ``evaluate:``.

    Attributes:
        split: manifest split evaluated (``test``).
        teacher, student, student_no_kd, normal, motion: trained model folder names
            under the models folder; a missing optional folder (``student_no_kd``)
            drops its row.
        fusion_weights: (normal, motion) weights of the late fusion; the MEI paper
            averages the two streams' probabilities (equal weights).
        ensemble: folders (two or more) whose probabilities are averaged in the
            backbone-ensemble row (e.g. motion streams with different backbones).
        register: register the fused two-stream network as ``har-two-stream``.
        experiment: MLflow experiment of the evaluation run.
        lighting_buckets: luma bounds of the dark / dim / bright buckets.
        max_bucket_drop: percentage points a lighting bucket's top-1 may fall
            against the champion's before ``champion`` refuses to move.
        views: the multi-view test (:class:`Views`).
    """

    split: str = "test"
    teacher: str = "teacher"
    student: str = "student"
    student_no_kd: str = "student_nokd"
    normal: str = "normal"
    motion: str = "motion"
    fusion_weights: tuple[float, float] = (1.0, 1.0)
    ensemble: tuple[str, ...] = ()
    register: bool = True
    experiment: str = "har"
    lighting_buckets: LightingBuckets = field(default_factory=LightingBuckets)
    max_bucket_drop: float = 5.0
    views: Views = field(default_factory=Views)


def row_specs(cfg: EvaluateConfig, models: Path) -> list[RowSpec]:
    """The rows whose model folders exist, in table order."""
    from components.evaluation import RowSpec

    def have(*names: str) -> bool:
        return all((models / n / "model.json").is_file() for n in names)

    rows = []
    if have(cfg.teacher):
        rows.append(RowSpec("teacher", "R(2+1)D teacher", "lift_net", (cfg.teacher,)))
    if have(cfg.student):
        rows.append(RowSpec("lift_net_kd", "LIFT-Net, distilled (KD)", "lift_net",
                            (cfg.student,)))
    if have(cfg.student_no_kd):
        rows.append(RowSpec("lift_net_no_kd", "LIFT-Net, no KD", "lift_net",
                            (cfg.student_no_kd,)))
    if have(cfg.normal):
        rows.append(RowSpec("normal", "normal stream (base frames)", "two_stream",
                            (cfg.normal,)))
    if have(cfg.motion):
        rows.append(RowSpec("motion", "motion stream (MEIs)", "two_stream", (cfg.motion,)))
    if have(cfg.normal, cfg.motion):
        rows.append(RowSpec("two_stream", "two-stream, fused", "two_stream",
                            (cfg.normal, cfg.motion), tuple(cfg.fusion_weights)))
    present = tuple(n for n in cfg.ensemble if have(n))
    if len(present) >= 2:
        rows.append(RowSpec("ensemble", f"ensemble of {len(present)} backbones", "two_stream",
                            present))
    return rows


@dataclass
class Evaluation:
    """What ``evaluate`` computed (for the stage, the flow and tests)."""

    results: list[RowResult] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)  # manifest.dataset_labels
    run_id: str = ""
    run_links: dict[str, str] = field(default_factory=dict)
    markdown: str = ""
    registered: str = ""
    buckets: dict[str, str] = field(default_factory=dict)  # video key -> lighting bucket
    by_lighting: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    views: str = ""

    @property
    def dataset(self) -> str:
        """``<dataset>/<split>``: the key champions are compared on."""
        return self.labels.get("key", "")


def evaluate(cfg: EvaluateConfig, *, root: Path, models: Path, ingest: Path, represent: Path,
             metrics_file: Path, reports: Path, plots: Path, track: bool = True) -> Evaluation:
    """Score every row, write the files, log the MLflow run (see the module docstring).

    Raises:
        InputError: no trained model to evaluate, or inputs that do not fit a model.
    """
    from components.evaluation import bucket_accuracy

    specs = row_specs(cfg, models)
    if not specs:
        raise InputError(models, "no trained model folder to evaluate (run the train stages: "
                         f"{cfg.teacher}, {cfg.student}, {cfg.normal}, {cfg.motion})")
    results, infos = _score_rows(cfg, specs, root=root, models=models, ingest=ingest,
                                 represent=represent)
    info_path = ingest / DATASET_FILE
    labels = dataset_labels(read_dataset_info(info_path) if info_path.is_file() else {})
    evaluation = Evaluation(results=results, labels=labels,
                            buckets=video_buckets(ingest, cfg.lighting_buckets),
                            views=_views_text(cfg.views, infos))
    evaluation.by_lighting = {r.spec.name: bucket_accuracy(r, evaluation.buckets)
                              for r in results}
    if track:
        from components.stages._evaluate_tracking import track as track_run

        track_run(evaluation, cfg, root, models, ingest, infos)
    _write_outputs(evaluation, cfg, metrics_file=metrics_file, reports=reports, plots=plots)
    if track and evaluation.run_id:
        from components.tracking import log_artifact

        for path in (reports, plots):
            log_artifact(path, f"evaluation/{path.name}", run_id=evaluation.run_id)
    return evaluation


def _score_rows(cfg: EvaluateConfig, specs: list[RowSpec], *, root: Path, models: Path,
                ingest: Path, represent: Path
                ) -> tuple[list[RowResult], dict[str, dict[str, Any]]]:
    """Score each trained model the rows need once, then each row (fusing its models'
    probabilities): the rows' results and each model's ``model.json``."""
    from components.evaluation import RowResult, score_metrics
    from components.inference import fuse_probabilities, load_trained, score_shards
    from components.jobs.config import ClipJobConfig
    from components.stages._common import progress

    needed = sorted({p for s in specs for p in s.parts})
    scores, infos = {}, {}
    for name in progress(needed, total=len(needed), desc="scoring models"):
        trained = load_trained(models / name)
        if isinstance(trained.config, ClipJobConfig):  # a clip model: the configured views
            trained.config = dataclasses.replace(
                trained.config, eval_clips=cfg.views.clips or trained.config.eval_clips,
                eval_crops=cfg.views.crops)
        infos[name] = trained.info
        scores[name] = score_shards(trained, ingest, represent, split=cfg.split, root=root)
        log.info("scored %s on %d %s videos", name, len(scores[name].keys), cfg.split)
    results = []
    for spec in specs:
        parts = [scores[p] for p in spec.parts]
        fused = parts[0] if len(parts) == 1 else fuse_probabilities(
            parts, spec.weights or None)
        metrics, matrix = score_metrics(fused)
        run_ids = {p: str(infos[p].get("mlflow_run_id", "")) for p in spec.parts}
        results.append(RowResult(spec, metrics, matrix, fused, run_ids))
    return results, infos


def _write_outputs(evaluation: Evaluation, cfg: EvaluateConfig, *, metrics_file: Path,
                   reports: Path, plots: Path) -> None:
    """The stage's files: metrics, the results table and breakdowns, the per-row
    prediction CSVs and confusion pictures (``evaluation.markdown`` is set here)."""
    from components.evaluation import (
        breakdown_markdown,
        by_lighting_rows,
        confusion_rows,
        per_class_rows,
        results_csv,
        results_markdown,
    )
    from components.training import outputs as out
    from components.training.figures import figure_title

    results, dataset = evaluation.results, evaluation.labels["key"]
    chance = 1.0 / len(results[0].scores.classes)
    per_class = per_class_rows(results)
    by_lighting = by_lighting_rows(results, evaluation.buckets)
    evaluation.markdown = results_markdown(results, dataset=dataset,
                                           run_links=evaluation.run_links, chance=chance)
    evaluation.markdown += "\n" + breakdown_markdown(results, by_lighting, per_class,
                                                     cfg.lighting_buckets, evaluation.views)

    metrics = {r.spec.name: {k: r.metrics[k] for k in ("top1", "top5", "mean_class_acc",
                                                        "videos")} for r in results}
    out.write_metrics(metrics_file, metrics)
    reports.mkdir(parents=True, exist_ok=True)
    write_text_atomic(reports / "results.md", evaluation.markdown)
    write_text_atomic(reports / "results.csv", results_csv(results, evaluation.run_links))
    write_text_atomic(reports / "per_class.csv", _csv(per_class))
    write_text_atomic(reports / "by_lighting.csv", _csv(by_lighting))
    plots.mkdir(parents=True, exist_ok=True)
    for r in results:
        write_text_atomic(plots / f"{r.spec.name}_predictions.csv", _csv(confusion_rows(r)))
        fig = out.confusion_figure(
            r.confusion, r.scores.classes, figure_title(r.spec.title, dataset, cfg.split),
            subtitle=f"trained model{'s' if len(r.spec.parts) > 1 else ''}: "
                     f"{', '.join(r.spec.parts)}; {int(r.metrics['videos'])} videos")
        out.save_figure(fig, plots / f"{r.spec.name}_confusion.png")


def video_buckets(ingest: Path, thresholds: LightingBuckets) -> dict[str, str]:
    """Manifest path -> lighting bucket of every usable video (``unknown`` where the
    manifest has no ``luminance``: written by an older ingest)."""
    from components.data.lighting import lighting_bucket
    from components.data.manifest import MANIFEST_FILE, read_manifest

    return {row.path: lighting_bucket(row.luminance, thresholds)
            for row in read_manifest(ingest / MANIFEST_FILE)}


def _views_text(views: Views, infos: dict[str, dict[str, Any]]) -> str:
    """``2 clips x 1 crop`` (clip models), as configured or as trained."""
    clips = views.clips or sorted({int(i["config"]["eval_clips"]) for i in infos.values()
                                   if isinstance(i.get("config"), dict)
                                   and "eval_clips" in i["config"]})
    if not clips:
        return ""
    counts = clips if isinstance(clips, int) else "/".join(str(c) for c in clips)
    crops = "1 crop" if views.crops == 1 else f"{views.crops} crops"
    return f"{counts} clip(s) x {crops} per video for the clip models"


def _csv(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return ""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def configure(parser: argparse.ArgumentParser) -> None:
    add_params_flag(parser)
    parser.add_argument("--models", type=Path, default=Path("models"))
    parser.add_argument("--ingest", type=Path, default=Path("data/ingest"))
    parser.add_argument("--represent", type=Path, default=Path("data/represent"))
    parser.add_argument("--metrics-file", type=Path, default=Path("metrics/eval.json"))
    parser.add_argument("--reports", type=Path, default=Path("reports/eval"))
    parser.add_argument("--plots", type=Path, default=Path("plots/eval"))
    parser.add_argument("--no-register", action="store_true",
                        help="do not register the fused two-stream network")


def run(args: argparse.Namespace) -> int:
    cfg = stage_config(args, "evaluate", EvaluateConfig,
                       {"register": False if args.no_register else None})
    root = Path.cwd()
    evaluation = evaluate(cfg, root=root, models=args.models, ingest=args.ingest,
                          represent=args.represent, metrics_file=args.metrics_file,
                          reports=args.reports, plots=args.plots)
    print(evaluation.markdown)
    if evaluation.registered:
        print(f"registered: {evaluation.registered}")
    return 0
