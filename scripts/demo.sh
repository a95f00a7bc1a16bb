#!/usr/bin/env bash
# The main job on the embedded default: the whole DVC pipeline on the synthetic
# dark dataset, with local Ray (each stage starts its own, or joins RAY_ADDRESS
# when set), DVC's local cache and MLflow's SQLite store in the repository.
# Called by `make demo` after set-up.
set -euo pipefail
cd "$(dirname "$0")/.."
export DVC_NO_ANALYTICS=1 RAY_USAGE_STATS_ENABLED=0
start=$(date +%s)

dvc repro
echo
dvc metrics show
echo "pipeline finished in $(( $(date +%s) - start )) s"
