"""The ``har`` command line: building its parser (``har --help``, ``har <stage> --help``,
and the first step of every command) imports none of the heavy libraries a stage uses."""

from __future__ import annotations

import json

from tests.fresh_process import fresh_output

#: What a sub-command imports when it runs, never while its parser is built.
HEAVY = ("torch", "timm", "torchvision", "mlflow", "ray", "prefect", "av", "pandas",
         "matplotlib")

_PROBE = """
import json, sys
from components.cli import build_parser
parser = build_parser()
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""


def test_building_the_parser_imports_no_heavy_library() -> None:
    imported = json.loads(fresh_output(_PROBE).strip().splitlines()[-1])
    assert [name for name in HEAVY if name in imported] == []
