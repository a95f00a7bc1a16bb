"""har models: every model of a preset at its input size: parameters and FLOPs per clip.

Reads ``conf/models.yaml`` (``presets.<preset>`` and ``pretrained``), builds each
model on the ``meta`` device (shapes only: no memory, no compute, so the
paper's sizes take seconds on a CPU), counts its parameters (total and
trainable) and the FLOPs of one eval-mode forward pass on one clip with
``torch.utils.flop_counter.FlopCounterMode`` (a multiply-add counts 2), and
prints an aligned table (``--format markdown`` for a Markdown table).
``--check-pretrained`` also loads every configured weight file on the CPU and
prints what was loaded.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components.config import from_mapping, load_params
from components.errors import ConfigError

DEFAULT_CONFIG = Path("conf/models.yaml")
PRESETS = ("demo", "paper")


@dataclass(frozen=True)
class ModelEntry:
    """One row of a preset: a registered model, its arguments and its input shapes.

    Attributes:
        name: Label in the table.
        model: Registered builder name (``components.models.list_models()``).
        inputs: One shape per forward argument, without the batch axis.
        kwargs: Builder arguments (``num_classes`` comes from the preset).
    """

    name: str
    model: str
    inputs: list[list[int]]
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Preset:
    """A set of models at one family of input sizes (``demo`` or ``paper``)."""

    num_classes: int
    models: list[ModelEntry]


@dataclass(frozen=True)
class ModelsConfig:
    """``conf/models.yaml``: presets, and network name -> local weight file (or None)."""

    presets: dict[str, Preset]
    pretrained: dict[str, str | None]


@dataclass(frozen=True)
class Row:
    """One measured model."""

    name: str
    model: str
    inputs: str
    params_total: int
    params_trainable: int
    flops: int
    pretrained: str


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
        if preset.num_classes < 1:
            raise ConfigError(path, f"{where}.num_classes must be positive")
        for i, entry in enumerate(preset.models):
            at = f"{where}.models[{i}] ({entry.name})"
            if entry.model not in known:
                raise ConfigError(
                    path, f"{at}: unknown model {entry.model!r}; known: {', '.join(sorted(known))}"
                )
            if not entry.inputs or any(
                not shape or any(d < 1 for d in shape) for shape in entry.inputs
            ):
                raise ConfigError(path, f"{at}: inputs must be non-empty lists of positive sizes")
            if "num_classes" in entry.kwargs:
                raise ConfigError(path, f"{at}: num_classes is set per preset, not per model")
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


def weight_files(kwargs: Mapping[str, Any]) -> list[str]:
    """The weight files named in resolved builder arguments, in a stable order."""
    files: list[str] = []
    for key in ("vit_pretrained_path", "teacher_path", "pretrained_path"):
        if kwargs.get(key):
            files.append(str(kwargs[key]))
    for value in (kwargs.get("pretrained_paths") or {}).values():
        if value and str(value) not in files:
            files.append(str(value))
    return files


def _shape(shape: Sequence[int]) -> str:
    return "x".join(str(d) for d in shape)


def measure_preset(
    config: ModelsConfig,
    preset_name: str,
    only: Sequence[str] = (),
    device: str = "meta",
    source: str | Path = DEFAULT_CONFIG,
) -> list[Row]:
    """Build and measure every model of a preset (or the ``only`` ones)."""
    from components.models import create_model, measure, resolve_pretrained

    if preset_name not in config.presets:
        raise ConfigError(
            source, f"no preset {preset_name!r}; known: {', '.join(sorted(config.presets))}"
        )
    preset = config.presets[preset_name]
    entries = [e for e in preset.models if not only or e.name in only or e.model in only]
    if only and not entries:
        raise ConfigError(source, f"no model of preset {preset_name!r} matches {list(only)}")
    rows = []
    for entry in entries:
        kwargs = dict(entry.kwargs, num_classes=preset.num_classes)
        files = weight_files(resolve_pretrained(entry.model, kwargs, config.pretrained))
        shown = ", ".join(f + ("" if Path(f).is_file() else " (missing)") for f in files) or "-"
        try:
            cost = measure(
                lambda kw=kwargs, e=entry: create_model(e.model, **kw), entry.inputs, device=device
            )
        except ConfigError:
            raise
        except (RuntimeError, ValueError, TypeError) as exc:
            raise ConfigError(
                source,
                f"presets.{preset_name}: {entry.name} ({entry.model}) does not run at inputs "
                f"{entry.inputs}: {exc}",
            ) from exc
        rows.append(
            Row(
                name=entry.name,
                model=entry.model,
                inputs=" + ".join(_shape(s) for s in entry.inputs),
                params_total=cost.params_total,
                params_trainable=cost.params_trainable,
                flops=cost.flops,
                pretrained=shown,
            )
        )
    return rows


_HEADERS = ("model", "builder", "input per clip", "params", "trainable", "GFLOPs", "pretrained")
_RIGHT = (False, False, False, True, True, True, False)


def _cells(row: Row) -> tuple[str, ...]:
    return (
        row.name,
        row.model,
        row.inputs,
        f"{row.params_total / 1e6:.2f} M",
        f"{row.params_trainable / 1e6:.2f} M",
        f"{row.flops / 1e9:.2f}",
        row.pretrained,
    )


def format_table(rows: Sequence[Row], fmt: str = "text") -> str:
    """An aligned plain-text table, or a Markdown table (``fmt="markdown"``)."""
    cells = [_HEADERS] + [_cells(r) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(_HEADERS))]

    def line(values: Sequence[str], sep: str) -> str:
        padded = [
            v.rjust(w) if right else v.ljust(w)
            for v, w, right in zip(values, widths, _RIGHT, strict=True)
        ]
        return sep.join(padded).rstrip() if sep == "  " else f"| {' | '.join(padded)} |"

    if fmt == "markdown":
        rule = (
            "|"
            + "|".join(
                ("-" * (w + 1) + ":") if right else ("-" * (w + 2))
                for w, right in zip(widths, _RIGHT, strict=True)
            )
            + "|"
        )
        return "\n".join([line(_HEADERS, " | "), rule] + [line(c, " | ") for c in cells[1:]])
    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(_HEADERS, "  "), rule] + [line(c, "  ") for c in cells[1:]])


def check_pretrained(config: ModelsConfig, preset_name: str, only: Sequence[str] = ()) -> list[str]:
    """Build (on the CPU) every model of the preset that has weight files and load them.

    Returns the load reports' summaries. Raises ``InputError`` for a missing file or
    keys that do not fit.
    """
    from components.models import create_model, resolve_pretrained

    preset = config.presets[preset_name]
    summaries: list[str] = []

    class _Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            summaries.append(record.getMessage())

    handler = _Collect(level=logging.INFO)
    log = logging.getLogger("components.models.weights")
    old_level = log.level
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        for entry in preset.models:
            if only and entry.name not in only and entry.model not in only:
                continue
            kwargs = resolve_pretrained(
                entry.model, dict(entry.kwargs, num_classes=preset.num_classes), config.pretrained
            )
            if weight_files(kwargs):
                summaries.append(f"{entry.name}:")
                create_model(entry.model, **kwargs)
    finally:
        log.removeHandler(handler)
        log.setLevel(old_level)
    return summaries


def configure(parser: argparse.ArgumentParser) -> None:
    """Add ``har models`` flags."""
    parser.add_argument(
        "--preset",
        choices=PRESETS,
        default="demo",
        help="which sizes: the CPU demo's or the paper's (default demo)",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=DEFAULT_CONFIG,
        help=f"model presets file (default {DEFAULT_CONFIG})",
    )
    parser.add_argument(
        "--format", choices=("text", "markdown"), default="text", help="table format (default text)"
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        help="only this model (table name or builder); repeatable",
    )
    parser.add_argument(
        "--device",
        choices=("meta", "cpu"),
        default="meta",
        help="where to count: meta (shapes only, fast; default) or cpu",
    )
    parser.add_argument(
        "--output", type=Path, default=None, help="also write the table to this file (atomically)"
    )
    parser.add_argument(
        "--check-pretrained",
        action="store_true",
        help="load every configured weight file on the CPU and report the keys",
    )


def run(args: argparse.Namespace) -> int:
    """Print the table of the chosen preset; 0 on success."""
    from components._atomic import write_text_atomic

    config = load_models_config(args.config)
    rows = measure_preset(config, args.preset, args.only, args.device, source=args.config)
    title = (
        f"har models: preset '{args.preset}' from {args.config}; per clip = batch 1, eval mode; "
        f"FLOPs by torch.utils.flop_counter (1 multiply-add = 2 FLOPs), counted on {args.device}"
    )
    table = format_table(rows, args.format)
    text = f"{title}\n\n{table}\n"
    print(text, end="")
    if args.check_pretrained:
        summaries = check_pretrained(config, args.preset, args.only)
        print("\npretrained weights:")
        print("\n".join(summaries) if summaries else "  none configured (all null)")
    if args.output is not None:
        write_text_atomic(args.output, text)
    return 0
