#!/usr/bin/env bash
# The main job on the embedded default: the whole DVC pipeline on the synthetic
# dark dataset (synth, ingest, representations, teacher, LIFT-Net student, the two
# MEI streams, evaluation, registration), with local Ray (each stage starts its
# own, or joins RAY_ADDRESS when set), DVC's local cache and MLflow's SQLite store
# in the repository. Called by `make demo` after set-up. Run again with nothing
# changed, DVC skips every stage.
set -euo pipefail
cd "$(dirname "$0")/.."
export DVC_NO_ANALYTICS=1 RAY_USAGE_STATS_ENABLED=0
start=$(date +%s)

dvc repro
elapsed=$(( $(date +%s) - start ))
echo
cat reports/eval/results.md
echo
python -m components.tracking.champions
echo
echo "pipeline finished in ${elapsed} s (dvc repro)"
echo
echo "Compare runs and models in the MLflow UI:"
echo "  .venv/bin/mlflow ui --backend-store-uri sqlite:///$(pwd)/mlflow.db --host 127.0.0.1 --port 5000"
echo "  then open http://127.0.0.1:5000"
