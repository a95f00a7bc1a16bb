"""The ``har`` command line: building its parser (``har --help``, ``har <stage> --help``,
and the first step of every command) imports none of the heavy libraries a stage uses."""

from __future__ import annotations

import json
import subprocess
import sys

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
    done = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True,
                          timeout=120, check=True)
    imported = json.loads(done.stdout.strip().splitlines()[-1])
    assert [name for name in HEAVY if name in imported] == []


def test_the_model_package_imports_its_modules_on_first_use() -> None:
    probe = ("import sys, components.models as m; before = 'torch' in sys.modules; "
             "names = m.list_models(); "
             "print(before, 'lift_net' in names and 'r2plus1d_18' in names)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.split() == ["False", "True"]
