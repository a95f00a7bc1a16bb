"""Reading a JSON file the project wrote, with the errors a user can act on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from components.errors import InputError


def read_json(path: Path, *, missing: str | None = None) -> Any:
    """The parsed contents of ``path``.

    Args:
        path: the file.
        missing: the message when the file does not exist (what to run first);
            None: a missing file is "cannot read" like any other I/O error.

    Raises:
        InputError: the file is missing, unreadable, or not JSON (naming the line).
    """
    if missing is not None and not path.is_file():
        raise InputError(path, missing)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(path, f"not valid JSON: {exc.msg}", line=exc.lineno) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot read: {exc}") from exc
