"""File digests shared by provenance logging and checkpoint fingerprints."""

from __future__ import annotations

import hashlib
from pathlib import Path

from components.errors import InputError

_CHUNK_BYTES = 1 << 20


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes, as 64 lower-case hex characters.

    Raises:
        InputError: If the file cannot be read (names the file).
    """
    digest = hashlib.sha256()
    try:
        with Path(path).open("rb") as handle:
            while chunk := handle.read(_CHUNK_BYTES):
                digest.update(chunk)
    except OSError as exc:
        raise InputError(path, f"cannot hash file: {exc.strerror or exc}") from exc
    return digest.hexdigest()
