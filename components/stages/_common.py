"""Plumbing shared by the stage entry points: params, flags, progress bars."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from components.config import from_mapping, load_params, merge_overrides, section

T = TypeVar("T")


def add_params_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--params", type=Path, default=Path("params.yaml"),
        help="parameter file (default: params.yaml); flags override its values",
    )


def stage_config(
    args: argparse.Namespace, name: str, cls: type[T], overrides: Mapping[str, Any]
) -> T:
    """The ``name`` section of ``args.params`` as ``cls``, with non-None flags applied.

    A missing params file is fine when every value comes from flags or defaults.
    """
    params_path: Path = args.params
    params = load_params(params_path) if params_path.is_file() else {}
    merged = merge_overrides(section(params, name, params_path), overrides)
    return from_mapping(cls, merged, source=params_path, where=name)


def progress(iterable: Iterable[T], total: int | None = None, desc: str = "") -> Iterable[T]:
    """A tqdm progress bar on stderr (plain periodic lines when not a terminal)."""
    from tqdm import tqdm

    return tqdm(
        iterable, total=total, desc=desc, unit="video", file=sys.stderr,
        mininterval=0.5 if sys.stderr.isatty() else 5.0, dynamic_ncols=True,
    )
