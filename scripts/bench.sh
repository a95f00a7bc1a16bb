#!/usr/bin/env bash
# Run every benchmark; each prints ratios against a baseline measured in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
for bench in bench/*.py; do
  name=$(basename "$bench" .py)
  case "$name" in __init__|_*) continue ;; esac
  python -m "bench.$name" 2>/dev/null
done
