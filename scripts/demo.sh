#!/usr/bin/env bash
# The main job on the embedded default: the whole DVC pipeline on the synthetic
# dark dataset (synth, ingest, representations, teacher, LIFT-Net student, the two
# MEI streams, evaluation, registration), the LIFT-Net sweep at the demo's size,
# then one ONNX export with its proof and the registry's champions with their
# model cards, with local Ray (each stage starts its
# own, or joins RAY_ADDRESS when set), DVC's local cache and MLflow's SQLite store
# in the repository. Called by `make demo` after set-up. Run again with nothing
# changed, DVC skips every stage.
set -euo pipefail
cd "$(dirname "$0")/.."
export DVC_NO_ANALYTICS=1 RAY_USAGE_STATS_ENABLED=0
start=$(date +%s)

dvc repro
elapsed=$(( $(date +%s) - start ))
# The LIFT-Net sweep at the demo's size (Ray Tune + ASHA over N, trainable ViT
# blocks and lr; sweeps/dvc.yaml, params.yaml `tune:`): trials are nested MLflow
# runs, the best config goes to metrics/tune_best.yaml. Run here so that every
# stage of the repository is up to date after the demo (a bare `dvc status` is clean).
sweep_start=$(date +%s)
dvc repro sweeps/dvc.yaml:tune
sweep=$(( $(date +%s) - sweep_start ))
echo
cat reports/eval/results.md
echo
# One export with its proof (parity on test clips, latency against PyTorch); the
# figures land on the streams' registered versions and their model cards.
echo "Export: the MEI two-stream network to ONNX (har export)"
har export models/normal,models/motion --format onnx
echo
python -m components.tracking.champions
echo
echo "best sweep trial (metrics/tune_best.yaml):"
sed -n '/^best:/,/^sweep_mlflow_run_id/p' metrics/tune_best.yaml | sed 's/^/  /'
echo
echo "pipeline finished in ${elapsed} s (dvc repro), sweep in ${sweep} s"
echo
echo "Compare runs and models in the MLflow UI:"
echo "  .venv/bin/mlflow ui --backend-store-uri sqlite:///$(pwd)/mlflow.db --host 127.0.0.1 --port 5000"
echo "  then open http://127.0.0.1:5000"
