"""har plots: DVC's plots as a page that renders without a network.

``dvc plots show`` writes ``dvc_plots/index.html`` (the training curves, the
confusion matrices and the figures that dvc.yaml's stages declare as ``plots:``)
with a page that loads Vega, Vega-Lite and Vega-Embed from a CDN: offline, its
charts stay blank. ``har plots`` runs ``dvc plots show`` with the page template
``conf/dvc/plots-offline.html``, which loads the three libraries from
``vega-bundle.js`` beside ``index.html``, and writes that file from the
``vl-convert-python`` package, which ships them. Targets and DVC's own options
(``--open``, ``--split``...) pass through:

    har plots                        # every plot: dvc_plots/index.html
    har plots plots/student.csv      # one
    har plots -- --open              # and open it in the browser
"""

from __future__ import annotations

import argparse
import logging
import subprocess
from pathlib import Path

from components.errors import InputError

log = logging.getLogger(__name__)

#: The page template, relative to the repository root.
TEMPLATE = Path("conf/dvc/plots-offline.html")
#: The file the template loads, beside index.html.
BUNDLE_FILE = "vega-bundle.js"
#: DVC's plot templates are Vega-Lite v5 specifications.
VEGA_LITE_VERSION = "5.21"


def vega_bundle(vega_lite_version: str = VEGA_LITE_VERSION) -> str:
    """Vega, Vega-Lite and Vega-Embed as one classic script that defines
    ``window.vega``, ``window.vegaLite`` and ``window.vegaEmbed``."""
    import vl_convert

    # the stub marks snippet as required; at runtime it defaults to None (the default
    # snippet, which defines the window globals)
    return vl_convert.javascript_bundle(vl_version=vega_lite_version)  # type: ignore[call-arg]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("dvc_plots"), metavar="DIR",
                        help="folder of the page (default: dvc_plots)")
    parser.add_argument("dvc_args", nargs=argparse.REMAINDER, metavar="...",
                        help="targets and options passed to `dvc plots show`")


def run(args: argparse.Namespace) -> int:
    from components._atomic import write_text_atomic

    template = Path.cwd() / TEMPLATE
    if not template.is_file():
        raise InputError(TEMPLATE, "page template not found (run har plots from the "
                         "repository root)")
    extra = [a for a in args.dvc_args if a != "--"]
    cmd = ["dvc", "plots", "show", "--html-template", str(TEMPLATE), "-o", str(args.out),
           *extra]
    log.info("running %s", " ".join(cmd))
    done = subprocess.run(cmd, check=False)
    if done.returncode != 0:
        return done.returncode
    # Written after DVC, which may lay the folder anew.
    write_text_atomic(args.out / BUNDLE_FILE, vega_bundle())
    print(f"plots: {args.out / 'index.html'} (renders offline: {args.out / BUNDLE_FILE})")
    return 0
