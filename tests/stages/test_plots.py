"""har plots: DVC's plots page with the Vega libraries beside it, no CDN."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from components.stages.plots import BUNDLE_FILE, TEMPLATE, vega_bundle
from tests.pipeline_repo import project_env

REPO = Path(__file__).resolve().parents[2]


def test_the_bundle_defines_what_dvc_pages_call() -> None:
    bundle = vega_bundle()
    for name in ("window.vegaEmbed", "window.vega", "window.vegaLite"):
        assert name in bundle
    assert 'src="http' not in (REPO / TEMPLATE).read_text(encoding="utf-8")


@pytest.mark.skipif(shutil.which("node") is None, reason="node checks the script's syntax")
def test_the_bundle_is_a_classic_script(tmp_path: Path) -> None:
    # DVC's page calls vegaEmbed from inline scripts as it parses: the bundle must
    # load synchronously, so it cannot be an ES module (no import/export).
    script = tmp_path / "bundle.js"
    script.write_text(vega_bundle(), encoding="utf-8")
    subprocess.run(["node", "--check", str(script)], check=True, capture_output=True)


@pytest.mark.integration
def test_har_plots_writes_a_page_that_loads_only_local_scripts(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "conf" / "dvc").mkdir(parents=True)
    shutil.copy(REPO / TEMPLATE, repo / TEMPLATE)
    (repo / "curve.csv").write_text("epoch,loss\n1,0.9\n2,0.5\n", encoding="utf-8")
    (repo / "dvc.yaml").write_text("plots:\n  - curve.csv:\n      x: epoch\n      y: loss\n",
                                   encoding="utf-8")
    env = project_env()  # `dvc` resolves to this venv's, also without `make`
    for cmd in (["git", "init", "-q"], ["dvc", "init", "-q"]):
        subprocess.run(cmd, cwd=repo, check=True, env=env)
    done = subprocess.run([sys.executable, "-m", "components.cli", "plots"], cwd=repo,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    page = (repo / "dvc_plots" / "index.html").read_text(encoding="utf-8")
    assert f'<script src="{BUNDLE_FILE}"></script>' in page and "vegaEmbed(" in page
    assert 'src="http' not in page  # no script from a network
    assert "window.vegaEmbed" in (repo / "dvc_plots" / BUNDLE_FILE).read_text(encoding="utf-8")
