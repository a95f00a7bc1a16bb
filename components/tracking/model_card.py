"""Model cards: what a registered version is, what it was trained and tested on, how
well it does (overall, per class, per lighting bucket) and what it is not for.

:func:`model_card` is pure (a dict of facts in, Markdown out);
:func:`attach_model_card` writes it as the version's description (cut to the
registry's 5000 characters, pointing at the artifact) and logs it as the artifact
``model_card/<model>/v<version>/model_card.md`` of the version's run, with the
facts beside it (``facts.json``). Export parity and latency (version tags
``har.export.*`` or ``export*``, written by ``har export``) are shown when
present; :func:`refresh_model_card` redoes a card after an export.

Facts (every key optional; a missing one prints as "not recorded")::

    model, version, title             registry name, version, what the model is
    data: dataset, split, manifest_sha256, lighting (declared/measured),
          counts {split: videos}, per_class {class: {split: videos}},
          per_lighting {bucket: test videos}, licence
    training: params {name: value}, epochs, git_commit, run_id
    results: overall {top1, top5, mean_class_acc, videos} (0..1),
             per_class {class: top1}, per_lighting {bucket: {top1, videos}},
             classes [names], confusion [[counts]] (row = true class)
    export: {name: value} (parity, latency)
    promotion: one line (the champion decision)
"""

from __future__ import annotations

import hashlib
import json
import math
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from components._json import read_json
from components.tracking.provenance import GIT_COMMIT_TAG

#: The registry's limit on a version description (MLflow's SQL store: 5000).
DESCRIPTION_LIMIT = 5000
FACTS_FILE = "facts.json"
EXPORT_TAG_PREFIX = "har.export."
EXPORT_TAG_ALT_PREFIX = "export"
INTENDED_USE = (
    "Research and teaching: recognising the actions of its class list in short, "
    "trimmed clips like its test split, and comparing training methods (knowledge "
    "distillation, MEI two-stream) under different lighting.")
LIMITS = (
    "Accuracy holds only for videos like its test split (classes, camera, lighting, "
    "clip length); it has no 'none of these' class and always answers one of its classes.",
    "Not for surveillance, identification of people, or decisions about people "
    "(employment, policing, access): it was neither built nor tested for them.",
    "Per-lighting and per-class figures rest on few videos where the tables say so.",
)
SYNTHETIC_LIMIT = ("Trained and tested on synthetic videos (moving shapes from `har synth`): "
                   "the numbers say nothing about real footage.")


def _pct(value: Any) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "n/a"
    return f"{100 * number:.1f}" if math.isfinite(number) else "n/a"


def _or(value: Any, missing: str = "not recorded") -> str:
    return missing if value in (None, "", {}, []) else str(value)


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


def model_card(facts: Mapping[str, Any]) -> str:
    """The model card as Markdown (see the module docstring for ``facts``)."""
    data = facts.get("data") or {}
    name = f"{_or(facts.get('model'), 'model')} v{_or(facts.get('version'), '?')}"
    lines = [f"# Model card: {name}", ""]
    if facts.get("title"):
        lines += [str(facts["title"]), ""]
    lines += _data_section(data)
    lines += _training_section(facts.get("training") or {})
    lines += _results_section(facts.get("results") or {}, facts.get("promotion"))
    lines += _export_section(facts.get("export") or {})
    lines += _use_and_licence_sections(data)
    return "\n".join(lines)


def _data_section(data: Mapping[str, Any]) -> list[str]:
    """What the model was trained and evaluated on: dataset, lighting, video counts."""
    lines = ["## Data", "",
             f"- dataset: {_or(data.get('dataset'))} (evaluated on the "
             f"{_or(data.get('split'), 'test')} split)",
             f"- lighting: {_or(data.get('lighting'))}",
             f"- manifest sha256: `{_or(data.get('manifest_sha256'))}`"]
    counts = data.get("counts") or {}
    if counts:
        lines.append("- videos: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    per_class = data.get("per_class") or {}
    if per_class:
        splits = sorted({s for c in per_class.values() for s in c})
        lines += ["", "Videos per class:", ""]
        lines += _table(["class", *splits],
                        [[c, *(v.get(s, 0) for s in splits)] for c, v in per_class.items()])
    per_lighting = data.get("per_lighting") or {}
    if per_lighting:
        lines += ["", "Test videos per lighting bucket (mean luma at ingest): "
                  + ", ".join(f"{b} {n}" for b, n in per_lighting.items()) + "."]
    return [*lines, ""]


def _training_section(training: Mapping[str, Any]) -> list[str]:
    """How the model was trained: epochs, commit, run and parameters."""
    lines = ["## Training", "",
             f"- epochs: {_or(training.get('epochs'))}",
             f"- git commit: `{_or(training.get('git_commit'))}`",
             f"- MLflow run: {_or(training.get('run_id'))}"]
    params = training.get("params") or {}
    if params:
        lines += ["", "Parameters:", ""]
        lines += _table(["parameter", "value"], [[k, f"`{v}`"] for k, v in params.items()])
    return [*lines, ""]


def _results_section(results: Mapping[str, Any], promotion: Any) -> list[str]:
    """How well the model does: overall, by lighting, by class, and its confusion matrix."""
    overall = results.get("overall") or {}
    lines = ["## Results", "",
             f"Video level: top-1 {_pct(overall.get('top1'))} %, top-5 "
             f"{_pct(overall.get('top5'))} %, mean class accuracy "
             f"{_pct(overall.get('mean_class_acc'))} % on "
             f"{_or(overall.get('videos') and int(overall['videos']))} videos."]
    if promotion:
        lines += ["", f"Promotion: {promotion}"]
    by_light = results.get("per_lighting") or {}
    if by_light:
        lines += ["", "By lighting:", ""]
        lines += _table(["lighting", "top-1 %", "videos"],
                        [[b, _pct(v.get("top1")), int(v.get("videos", 0))]
                         for b, v in by_light.items()])
    by_class = results.get("per_class") or {}
    if by_class:
        lines += ["", "By class:", ""]
        lines += _table(["class", "top-1 %"], [[c, _pct(v)] for c, v in by_class.items()])
    confusion, classes = results.get("confusion"), results.get("classes")
    if confusion is not None and classes:
        lines += ["", "Confusion matrix (videos; rows: true class, columns: predicted):", ""]
        lines += _table(["true \\ predicted", *classes],
                        [[c, *(int(x) for x in row)] for c, row in zip(classes, confusion,
                                                                      strict=True)])
    return [*lines, ""]


def _export_section(export: Mapping[str, Any]) -> list[str]:
    """The export figures (parity, latency) ``har export`` recorded, if any."""
    lines = ["## Export parity and latency", ""]
    if export:
        lines += _table(["figure", "value"], [[k, v] for k, v in sorted(export.items())])
    else:
        lines.append("Not recorded (`har export` records parity and latency on the version).")
    return [*lines, ""]


def _use_and_licence_sections(data: Mapping[str, Any]) -> list[str]:
    """What the model is for and not for, and the data's licence."""
    limits = list(LIMITS)
    if "synth" in str(data.get("dataset", "")).lower():
        limits.insert(0, SYNTHETIC_LIMIT)
    return ["## Intended use and limits", "", INTENDED_USE, "",
            *(f"- {limit}" for limit in limits), "",
            "## Licence of the data", "",
            _or(data.get("licence"), "The dataset's config states no licence: check its "
                "terms before using this model outside research."), ""]


def _flat(mapping: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        if isinstance(value, Mapping):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def training_card_facts(*, dataset_key: str, dataset_info: Mapping[str, Any],
                        params: Mapping[str, Any], metrics: Mapping[str, float],
                        classes: Sequence[str], confusion: Any = None,
                        manifest: Path | None = None, promotion: str = "") -> dict[str, Any]:
    """Card facts of a version registered by training (``components.training.driver``).

    Args:
        dataset_key: ``<dataset>/<split>``.
        dataset_info: ``dataset.json`` (counts, lighting, licence).
        params: the job's config as plain data (nested mappings are flattened).
        metrics: test ``top1``, ``top5``, ``mean_class_acc``, ``videos`` (0..1) and
            ``epochs``.
        classes: class names, in output order.
        confusion: (K, K) test video counts (row = true class), or None.
        manifest: ``manifest.csv``, hashed when given.
        promotion: the champion decision, one line.

    The per-lighting results are left out (training does not keep per-video
    predictions); ``har evaluate`` records them.
    """
    results: dict[str, Any] = {"overall": dict(metrics)}
    if confusion is not None and len(confusion):
        rows = [[int(x) for x in row] for row in confusion]
        results.update(classes=list(classes), confusion=rows,
                       per_class={c: (row[i] / sum(row) if sum(row) else math.nan)
                                  for i, (c, row) in enumerate(zip(classes, rows, strict=True))})
    data: dict[str, Any] = {
        "dataset": dataset_key, "split": "test", "lighting": dataset_info.get("lighting"),
        "counts": {k: dataset_info[k] for k in ("train", "test") if k in dataset_info},
        "licence": dataset_info.get("licence")}
    if manifest is not None and manifest.is_file():
        data["manifest_sha256"] = hashlib.sha256(manifest.read_bytes()).hexdigest()
    return {"data": data, "results": results, "promotion": promotion,
            "training": {"params": _flat(params), "epochs": metrics.get("epochs")}}


def export_facts(tags: Mapping[str, str]) -> dict[str, str]:
    """The export figures among a version's tags: ``har.export.<figure>`` (the prefix
    dropped) or any key that starts with ``export`` (``export_onnx.latency_ms``,
    kept whole), as ``har export`` tags them."""
    facts = {}
    for key, value in tags.items():
        if key.startswith(EXPORT_TAG_PREFIX):
            facts[key[len(EXPORT_TAG_PREFIX):]] = value
        elif key.startswith(EXPORT_TAG_ALT_PREFIX):
            facts[key] = value
    return facts


def description_text(card: str, artifact: str, limit: int = DESCRIPTION_LIMIT) -> str:
    """The card, cut at a line to fit the registry's description limit, with a pointer
    to the full artifact when cut."""
    if len(card) <= limit:
        return card
    note = f"\n\n(cut to fit the registry: the full card is the run artifact `{artifact}`)\n"
    head = card[: limit - len(note)]
    return head[: head.rfind("\n")] + note


def card_artifact_path(name: str, version: str | int, file: str = "model_card.md") -> str:
    """The path of the card (or of ``file`` beside it) among its run's artifacts."""
    return f"model_card/{name}/v{version}/{file}"


def attach_model_card(client: Any, name: str, version: str | int,
                      facts: Mapping[str, Any]) -> str:
    """Write the card of ``name`` v``version`` as its description and as an artifact of
    its run; returns the card.

    Args:
        client: an ``mlflow.tracking.MlflowClient``.
        name: registered model name.
        version: the version.
        facts: see the module docstring; ``model`` and ``version`` come from the
            arguments; when absent, ``export`` comes from the version's export tags,
            ``title`` from its current description, ``training.run_id`` and
            ``training.git_commit`` from its run.
    """
    mv = client.get_model_version(name, str(version))
    full = {**facts, "model": name, "version": str(version)}
    if not full.get("export"):
        full["export"] = export_facts(mv.tags or {})
    description = (mv.description or "").strip()
    if not full.get("title") and description and not description.startswith("# Model card"):
        full["title"] = description  # the one-line summary training wrote
    training = dict(full.get("training") or {})
    if mv.run_id and not (training.get("git_commit") and training.get("run_id")):
        tags = client.get_run(mv.run_id).data.tags
        training.setdefault("run_id", mv.run_id)
        training.setdefault("git_commit", tags.get(GIT_COMMIT_TAG))
        full["training"] = training
    card = model_card(full)
    artifact = card_artifact_path(name, version)
    if mv.run_id:
        client.log_text(mv.run_id, card, artifact)
        # The facts (without the export figures) let refresh_model_card redo the card.
        facts_json = json.dumps({k: v for k, v in full.items() if k != "export"},
                                default=str, indent=1)
        client.log_text(mv.run_id, facts_json, card_artifact_path(name, version, FACTS_FILE))
    client.update_model_version(name, str(version), description=description_text(card,
                                                                                 artifact))
    return card


def refresh_model_card(client: Any, name: str, version: str | int) -> str | None:
    """Redo a version's card from the facts :func:`attach_model_card` logged, with the
    version's export tags as they are now (what ``har export`` calls after tagging);
    None when the version has no card yet."""
    mv = client.get_model_version(name, str(version))
    if not mv.run_id:
        return None
    with tempfile.TemporaryDirectory(prefix="har-card-") as tmp:
        try:
            path = client.download_artifacts(
                mv.run_id, card_artifact_path(name, version, FACTS_FILE), tmp)
        except Exception:  # noqa: BLE001 - no card logged (MLflow raises several kinds)
            return None
        facts = read_json(Path(path))
    return attach_model_card(client, name, version, facts)
