"""Errors the ``har`` command reports to users as one clear line."""

from __future__ import annotations

from pathlib import Path


class HarError(Exception):
    """Base class: the CLI prints these without a traceback and exits with 2."""


class InputError(HarError):
    """Bad user input: names the file (and line, when there is one) at fault."""

    def __init__(self, path: str | Path, message: str, line: int | None = None) -> None:
        self.path = Path(path)
        self.line = line
        self.reason = message
        where = f"{self.path}:{line}" if line is not None else f"{self.path}"
        super().__init__(f"{where}: {message}")


class ConfigError(InputError):
    """A parameter file or flag value that does not fit the stage."""
