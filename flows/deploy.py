"""Serve the pipeline flow as a Prefect deployment.

    prefect server start                       # terminal 1: the local API and UI
    python -m flows.deploy                     # terminal 2: serves deployment 'har-pipeline/local'
    prefect deployment run har-pipeline/local  # terminal 3: start a run

``flow.serve`` keeps a process that polls for scheduled runs and executes them
in subprocesses; for work pools and workers see ``prefect.yaml`` at the
repository root and ``conf/prefect/work-pool.md``.
"""

from __future__ import annotations

import argparse

from flows.pipeline import har_pipeline


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", default="local", help="deployment name")
    args = parser.parse_args()
    har_pipeline.serve(
        name=args.name,
        tags=["har"],
        description="Run the har DVC pipeline stage by stage.",
    )


if __name__ == "__main__":
    main()
