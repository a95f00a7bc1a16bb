"""Plumbing shared by the stage entry points: params, flags, progress bars."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

from components.config import from_mapping, load_params, merge_overrides, section

T = TypeVar("T")


def params_file(value: str) -> Path:
    """An argparse type: a ``--params`` path the user named, which must be a file.

    Only a named file is checked: argparse leaves the default (``params.yaml``) alone,
    and a missing default means built-in defaults (a stage run outside a checkout). A
    named file that is not there is a typo, never a reason to train on defaults.
    """
    path = Path(value)
    if not path.is_file():
        raise argparse.ArgumentTypeError(
            f"{value}: no such parameter file" if not path.exists()
            else f"{value}: not a file")
    return path


def add_params_flag(parser: argparse.ArgumentParser, help: str | None = None) -> None:
    parser.add_argument(
        "--params", type=params_file, default=Path("params.yaml"),
        help=help or "parameter file (default: params.yaml); flags override its values",
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


#: Seconds between plain progress lines when stderr is not a terminal.
PLAIN_EVERY_S = 30.0


def progress(iterable: Iterable[T], total: int | None = None, desc: str = "") -> Iterable[T]:
    """A tqdm progress bar on stderr when it is a terminal; otherwise (a Prefect
    flow-run log, CI, a file) plain ``desc: n/total videos`` lines, at most one per
    :data:`PLAIN_EVERY_S` seconds and one at the end: no carriage returns, no ANSI."""
    from components._console import is_terminal

    if not is_terminal():
        return _plain_progress(iterable, total, desc)
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=desc, unit="video", file=sys.stderr,
                mininterval=0.5, dynamic_ncols=True)


def _plain_progress(iterable: Iterable[T], total: int | None, desc: str) -> Iterator[T]:
    started = last = time.monotonic()
    done = 0
    of = f"/{total}" if total is not None else ""

    def line() -> None:
        print(f"{desc or 'progress'}: {done}{of} videos ({time.monotonic() - started:.0f} s)",
              file=sys.stderr, flush=True)

    for item in iterable:
        yield item
        done += 1
        if time.monotonic() - last >= PLAIN_EVERY_S:
            last = time.monotonic()
            line()
    line()
