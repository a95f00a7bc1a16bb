"""What a piece of code imports or prints in a fresh interpreter: the test process has
imported most of the project already, so import-cost checks run their code anew."""

from __future__ import annotations

import subprocess
import sys


def fresh_output(code: str, timeout_s: float = 120) -> str:
    """Standard output of ``python -c code`` in a new interpreter (which must succeed)."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=timeout_s, check=True)
    return done.stdout
