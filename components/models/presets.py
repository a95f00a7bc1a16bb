"""Model presets (``conf/models.yaml``): one architecture code path, two sizes.

A preset names, for every network it uses, the builder arguments that size it
(``networks``), which network each training job builds (``jobs``), and the rows
``har models`` measures (``models``). ``paper`` is the papers' networks at their
sizes (for GPUs); ``demo`` is the same architectures scaled for 2 CPU cores and
32-64 px frames (a narrower R(2+1)D, LIFT-Net over a ViT with small patches, a
plain CNN for the 2D streams). Training takes the preset from
``params.yaml: train.preset``; a job section's ``model`` and ``model_kwargs``
override it.

Pretrained weights: the same file's ``pretrained:`` map of network name -> local
file (nothing is ever downloaded; see :func:`components.models.resolve_pretrained`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components.config import from_mapping, load_params
from components.errors import ConfigError

DEFAULT_CONFIG = Path("conf/models.yaml")
#: Training jobs a preset names a network for.
JOBS: tuple[str, ...] = ("teacher", "student", "normal", "motion")


@dataclass(frozen=True)
class ModelEntry:
    """One row of a preset's table: a registered model, its arguments, its inputs.

    Attributes:
        name: Label in the table.
        model: Registered builder name (``components.models.list_models()``); a job row
            may leave it empty (the preset's network for the job).
        inputs: One shape per forward argument, without the batch axis; empty for a
            ``job`` row (its shapes come from the job's params: what it trains at).
        kwargs: Builder arguments over the preset's ``networks[model]``
            (``num_classes`` comes from the preset).
        job: The training job this row is (``teacher``...), or empty.
    """

    name: str
    model: str = ""
    inputs: list[list[int]] = field(default_factory=list)
    kwargs: dict[str, Any] = field(default_factory=dict)
    job: str = ""


@dataclass(frozen=True)
class Preset:
    """A set of networks at one family of sizes (``demo`` or ``paper``).

    Attributes:
        num_classes: class count of the table's heads.
        networks: registered model name -> builder arguments at this preset's size.
        jobs: training job -> registered model name it builds.
        models: the rows ``har models`` measures.
    """

    num_classes: int
    models: list[ModelEntry]
    networks: dict[str, dict[str, Any]] = field(default_factory=dict)
    jobs: dict[str, str] = field(default_factory=dict)

    def kwargs_of(self, model: str, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Builder arguments of ``model`` at this preset's size, ``extra`` over them
        (nested mappings such as ``vit_kwargs`` merge)."""
        return deep_merge(dict(self.networks.get(model) or {}), dict(extra or {}))


@dataclass(frozen=True)
class ModelsConfig:
    """``conf/models.yaml``: presets, and network name -> local weight file (or None)."""

    presets: dict[str, Preset]
    pretrained: dict[str, str | None]

    def preset(self, name: str, source: str | Path = DEFAULT_CONFIG) -> Preset:
        if name not in self.presets:
            raise ConfigError(Path(source), f"no preset {name!r}; known: "
                              f"{', '.join(sorted(self.presets))}")
        return self.presets[name]


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``over`` applied; nested mappings merge, other values replace."""
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def job_network(preset: Preset, job: str, model: str, model_kwargs: Mapping[str, Any],
                source: str | Path = DEFAULT_CONFIG) -> tuple[str, dict[str, Any]]:
    """(model, builder arguments) a training job builds under ``preset``.

    ``model`` (the job section's; empty: the preset's network for the job) and
    ``model_kwargs`` (over the preset's arguments for that network) come from
    params.yaml. Raises ``ConfigError`` when neither names a model.
    """
    chosen = model or preset.jobs.get(job, "")
    if not chosen:
        raise ConfigError(Path(source), f"the preset names no network for job {job!r} and "
                          f"train_{job}.model is not set")
    return chosen, preset.kwargs_of(chosen, model_kwargs)


def load_models_config(path: str | Path = DEFAULT_CONFIG) -> ModelsConfig:
    """Read and check ``conf/models.yaml``.

    Raises:
        ConfigError: The file is missing or malformed, a model name is unknown, or an
            input shape is not a list of positive integers.
    """
    from components.models import list_models

    path = Path(path)
    data = load_params(path)
    unknown = sorted(set(data) - {"presets", "pretrained"})
    if unknown:
        raise ConfigError(path, f"unknown top-level key(s) {unknown}; known: presets, pretrained")
    raw_presets = data.get("presets") or {}
    if not isinstance(raw_presets, Mapping) or not raw_presets:
        raise ConfigError(path, "'presets' must be a non-empty mapping of preset name -> preset")
    presets: dict[str, Preset] = {}
    known = set(list_models())
    for preset_name, raw in raw_presets.items():
        where = f"presets.{preset_name}"
        if not isinstance(raw, Mapping):
            raise ConfigError(path, f"{where} must be a mapping with num_classes and models")
        preset = from_mapping(Preset, raw, source=path, where=where)
        _check_preset(preset, where, known, path)
        presets[str(preset_name)] = preset
    raw_pretrained = data.get("pretrained") or {}
    if not isinstance(raw_pretrained, Mapping):
        raise ConfigError(path, "'pretrained' must be a mapping of network name -> file or null")
    pretrained: dict[str, str | None] = {}
    for key, value in raw_pretrained.items():
        if value is not None and not isinstance(value, str):
            raise ConfigError(
                path, f"pretrained.{key}: expected a file path or null, got {value!r}"
            )
        pretrained[str(key)] = value
    return ModelsConfig(presets=presets, pretrained=pretrained)


def _check_preset(preset: Preset, where: str, known: set[str], path: Path) -> None:
    if preset.num_classes < 1:
        raise ConfigError(path, f"{where}.num_classes must be positive")
    for name in preset.networks:
        if name not in known:
            raise ConfigError(path, f"{where}.networks: unknown model {name!r}; known: "
                              f"{', '.join(sorted(known))}")
    for job, name in preset.jobs.items():
        if job not in JOBS:
            raise ConfigError(path, f"{where}.jobs: unknown job {job!r}; known: {', '.join(JOBS)}")
        if name not in known:
            raise ConfigError(path, f"{where}.jobs.{job}: unknown model {name!r}")
    for i, entry in enumerate(preset.models):
        at = f"{where}.models[{i}] ({entry.name})"
        if entry.job and not entry.model and entry.job not in preset.jobs:
            raise ConfigError(path, f"{at}: no model, and the preset names none for job "
                              f"{entry.job!r}")
        if (entry.model or not entry.job) and entry.model not in known:
            raise ConfigError(
                path, f"{at}: unknown model {entry.model!r}; known: {', '.join(sorted(known))}"
            )
        if entry.job and entry.job not in JOBS:
            raise ConfigError(path, f"{at}: unknown job {entry.job!r}; known: {', '.join(JOBS)}")
        if not entry.job and (not entry.inputs or any(
                not shape or any(d < 1 for d in shape) for shape in entry.inputs)):
            raise ConfigError(path, f"{at}: inputs must be non-empty lists of positive sizes")
        if "num_classes" in entry.kwargs:
            raise ConfigError(path, f"{at}: num_classes is set per preset, not per model")
