#!/usr/bin/env bash
# The pretrained learners shipped in iai/pretrained/ (iai.sklearn): train
# configs/tabular/{regression,classification}.toml side by side, record each one's training
# time, and copy the weights and config into the package.
#   bash benchmarks/tabular_train.sh             # on the CPU (far slower; not timed here)
#   PYTHON=python3 bash benchmarks/tabular_train.sh --set train.device=cuda   # on a GPU
# Extra arguments are passed to each `iai train` (overrides). LIMIT_S=N stops each run after N
# seconds with SIGINT (a checkpoint of the iteration reached is kept; exit 130 is recorded).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
out=${OUT_DIR:-benchmarks/results/tabular-train}
mkdir -p "$out"
for kind in regression classification; do
  rm -rf "runs/tabular-$kind"
  ( start=$(date +%s)
    status=0
    timeout -s INT "${LIMIT_S:-0}" "$PYTHON" -m iai.cli train "configs/tabular/$kind.toml" \
      --out "runs/tabular-$kind" --quiet "$@" || status=$?
    { echo "Command: bash benchmarks/tabular_train.sh${*:+ $*}"
    echo "$(( $(date +%s) - start )) s wall; exit $status; overrides: ${*:-none}; $("$PYTHON" -c \
      'import torch; print(torch.__version__, torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu")')"
    } > "$out/train-time-$kind.txt" ) &
done
wait
for kind in regression classification; do
  mkdir -p "iai/pretrained/tabular-$kind"
  cp "runs/tabular-$kind/model.safetensors" "runs/tabular-$kind/config.json" "iai/pretrained/tabular-$kind/"
  cp "runs/tabular-$kind/metrics.jsonl" "$out/metrics-$kind.jsonl"
done
