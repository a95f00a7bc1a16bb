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
import functools
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.errors import ConfigError
from components.models.presets import (
    DEFAULT_CONFIG,
    ModelEntry,
    ModelsConfig,
    Preset,
    load_models_config,
)
from components.stages._common import add_params_flag

PRESETS = ("demo", "paper")


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


def job_inputs(job: str, section: Mapping[str, Any], teacher_width: int | None = None
               ) -> tuple[list[list[int]], dict[str, Any]]:
    """(input shapes, data-dependent builder arguments) of a training job, from its
    params.yaml section: the sizes it really trains at."""
    from components.representations.kinds import channels_of

    height, width = int(section.get("height", 32)), int(section.get("width", 32))
    channels = channels_of(str(section.get("input")))  # auto counted as gamma (RGB)
    clip = int(section.get("clip_len", 8))
    if job == "teacher":
        return [[channels, clip, height, width]], {"in_channels": channels}
    if job == "student":
        extra: dict[str, Any] = {"img_size": height if height == width else (height, width),
                                 "luminous_in_channels": channels}
        if teacher_width:
            extra["luminous_width"] = teacher_width
        return [[clip, 3, height, width], [channels, clip, height, width]], extra
    return [[3, height, width]], {}


def preset_entries(preset: Preset, params: Mapping[str, Any] | None
                   ) -> list[tuple[ModelEntry, dict[str, Any]]]:
    """Every row of ``preset`` with its builder arguments (``num_classes`` included).

    A job row builds what ``har train --job <job>`` builds: the job section's model
    (or the preset's), the preset's arguments under the section's ``model_kwargs``,
    at the section's frame size and clip length.
    """
    out = []
    teacher = preset.jobs.get("teacher", "")
    teacher_width = preset.networks.get(teacher, {}).get("width") if teacher else None
    for entry in preset.models:
        model = entry.model or preset.jobs.get(entry.job, "")
        kwargs = preset.kwargs_of(model, entry.kwargs)
        inputs = entry.inputs
        if entry.job and not inputs:
            section = dict((params or {}).get(f"train_{entry.job}") or {})
            model = section.get("model") or model
            kwargs = preset.kwargs_of(model, {**entry.kwargs,
                                              **(section.get("model_kwargs") or {})})
            inputs, extra = job_inputs(entry.job, section, teacher_width)
            kwargs.update(extra)
        out.append((ModelEntry(entry.name, model, inputs, kwargs, entry.job),
                    {**kwargs, "num_classes": preset.num_classes}))
    return out


def measure_preset(
    config: ModelsConfig,
    preset_name: str,
    only: Sequence[str] = (),
    device: str = "meta",
    source: str | Path = DEFAULT_CONFIG,
    params: Mapping[str, Any] | None = None,
) -> list[Row]:
    """Build and measure every model of a preset (or the ``only`` ones); job rows at the
    sizes of ``params`` (params.yaml)."""
    from components.models import create_model, measure, resolve_pretrained

    preset = config.preset(preset_name, source)
    entries = [(e, kw) for e, kw in preset_entries(preset, params)
               if not only or e.name in only or e.model in only or e.job in only]
    if only and not entries:
        raise ConfigError(source, f"no model of preset {preset_name!r} matches {list(only)}")
    rows = []
    for entry, kwargs in entries:
        files = weight_files(resolve_pretrained(entry.model, kwargs, config.pretrained))
        shown = ", ".join(f + ("" if Path(f).is_file() else " (missing)") for f in files) or "-"
        try:
            cost = measure(
                functools.partial(create_model, entry.model, **kwargs), entry.inputs, device=device
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

    preset = config.preset(preset_name)
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
        for entry, built in preset_entries(preset, None):
            if only and entry.name not in only and entry.model not in only:
                continue
            if not entry.inputs:  # a job row without params: its own arguments
                continue
            kwargs = resolve_pretrained(entry.model, built, config.pretrained)
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
    add_params_flag(
        parser, help="parameter file whose train_<job> sections size the job rows "
                     "(default params.yaml)")
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
    from components.config import load_params

    config = load_models_config(args.config)
    params = load_params(args.params) if args.params.is_file() else None
    rows = measure_preset(config, args.preset, args.only, args.device, source=args.config,
                          params=params)
    sizes = f"job rows at the sizes of {args.params}" if params else "no params file"
    title = (
        f"har models: preset '{args.preset}' from {args.config} ({sizes}); per clip = batch 1, "
        f"eval mode; FLOPs by torch.utils.flop_counter (1 multiply-add = 2 FLOPs), counted on "
        f"{args.device}"
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
