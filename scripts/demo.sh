#!/usr/bin/env bash
# The main job on the embedded default: run the DVC pipeline (local cache,
# synthetic dark dataset), then summarise. Called by `make demo` after set-up.
set -euo pipefail
cd "$(dirname "$0")/.."
export DVC_NO_ANALYTICS=1
start=$(date +%s)
dvc repro
echo
echo "== ingest summary (data/ingest/dataset.json) =="
dvc metrics show
echo "pipeline finished in $(( $(date +%s) - start )) s"
