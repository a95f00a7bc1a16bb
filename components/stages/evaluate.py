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
    plots/eval/<row>_predictions.csv   actual/predicted per video (DVC confusion plot)
    plots/eval/<row>_confusion.png     confusion matrix picture

and one MLflow run (``evaluate-...``) with every number and file, linked to the
training runs; with ``evaluate.register``, the fused two-stream network is
registered as the pyfunc model ``har-two-stream`` (``champion`` moves only when
it beats the current one on the same dataset and split).
"""

from __future__ import annotations

import argparse
import csv
import io
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from components._atomic import write_text_atomic
from components.data.manifest import DATASET_FILE, dataset_labels, read_dataset_info
from components.errors import InputError
from components.stages._common import add_params_flag, stage_config

log = logging.getLogger(__name__)

TWO_STREAM_MODEL = "har-two-stream"


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


def row_specs(cfg: EvaluateConfig, models: Path):  # noqa: ANN201 - list[RowSpec]
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

    results: list = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)  # manifest.dataset_labels
    run_id: str = ""
    run_links: dict[str, str] = field(default_factory=dict)
    markdown: str = ""
    registered: str = ""

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
    from components.evaluation import (
        RowResult,
        confusion_rows,
        per_class_rows,
        results_csv,
        results_markdown,
        score_metrics,
    )
    from components.inference import fuse_probabilities, load_trained, score_shards
    from components.stages._common import progress
    from components.training import outputs as out
    from components.training.figures import figure_title

    specs = row_specs(cfg, models)
    if not specs:
        raise InputError(models, "no trained model folder to evaluate (run the train stages: "
                         f"{cfg.teacher}, {cfg.student}, {cfg.normal}, {cfg.motion})")
    needed = sorted({p for s in specs for p in s.parts})
    scores, infos = {}, {}
    for name in progress(needed, total=len(needed), desc="scoring models"):
        trained = load_trained(models / name)
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
    info_path = ingest / DATASET_FILE
    labels = dataset_labels(read_dataset_info(info_path) if info_path.is_file() else {})
    dataset = labels["key"]
    evaluation = Evaluation(results=results, labels=labels)
    if track:
        _track(evaluation, cfg, root, models)
    chance = 1.0 / len(results[0].scores.classes)
    evaluation.markdown = results_markdown(results, dataset=dataset,
                                           run_links=evaluation.run_links, chance=chance)

    metrics = {r.spec.name: {k: r.metrics[k] for k in ("top1", "top5", "mean_class_acc",
                                                        "videos")} for r in results}
    out.write_metrics(metrics_file, metrics)
    reports.mkdir(parents=True, exist_ok=True)
    write_text_atomic(reports / "results.md", evaluation.markdown)
    write_text_atomic(reports / "results.csv", results_csv(results, evaluation.run_links))
    write_text_atomic(reports / "per_class.csv", _csv(per_class_rows(results)))
    plots.mkdir(parents=True, exist_ok=True)
    for r in results:
        write_text_atomic(plots / f"{r.spec.name}_predictions.csv", _csv(confusion_rows(r)))
        fig = out.confusion_figure(
            r.confusion, r.scores.classes, figure_title(r.spec.title, dataset, cfg.split),
            subtitle=f"trained model{'s' if len(r.spec.parts) > 1 else ''}: "
                     f"{', '.join(r.spec.parts)}; {int(r.metrics['videos'])} videos")
        out.save_figure(fig, plots / f"{r.spec.name}_confusion.png")
    if track and evaluation.run_id:
        from components.tracking import log_artifact

        for path in (reports, plots):
            log_artifact(path, f"evaluation/{path.name}", run_id=evaluation.run_id)
    return evaluation


def _csv(rows: list[dict]) -> str:
    if not rows:
        return ""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _track(evaluation: Evaluation, cfg: EvaluateConfig, root: Path, models: Path) -> None:
    """Log the evaluation run; register the fused two-stream network."""
    from components.tracking import (
        log_metrics,
        promote_if_better,
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
    if os.environ.get("DVC_EXP_NAME"):
        tags["har.dvc_exp"] = os.environ["DVC_EXP_NAME"]
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
            from components.tracking.video_model import log_video_model

            parts = {"normal": models / cfg.normal, "motion": models / cfg.motion}
            version = log_video_model(parts, registered_model_name=TWO_STREAM_MODEL,
                                      fusion_weights=list(cfg.fusion_weights), run_id=run.run_id)
            decision = promote_if_better(TWO_STREAM_MODEL, version.version,
                                         metric_name=f"{cfg.split}/top1",
                                         metric_value=two_stream.metrics["top1"],
                                         dataset_key=evaluation.dataset)
            two_stream.model = f"{TWO_STREAM_MODEL}/{version.version}"
            evaluation.registered = (f"{TWO_STREAM_MODEL} v{version.version}: "
                                     f"{'champion' if decision.promoted else 'champion kept'}")
        evaluation.run_links.setdefault("two_stream", run_url(run.run_id))
        if "ensemble" in {r.spec.name for r in evaluation.results}:
            evaluation.run_links.setdefault("ensemble", run_url(run.run_id))


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
