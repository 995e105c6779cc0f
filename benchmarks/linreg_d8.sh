#!/usr/bin/env bash
# The long recipe: train checkpoints/linreg-d8 on one CPU thread, evaluate it to step 64 beside
# the references, check the core issue's figures, and stream it to N = 2^16 points.
#   bash benchmarks/linreg_d8.sh            (about an hour of one core for the training)
#   bash benchmarks/linreg_d8.sh --no-train (re-evaluate the committed checkpoint)
# Writes benchmarks/results/linreg-d8/, targets/linreg-d8.md and long-stream/linreg-d8.md.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1
out=benchmarks/results/linreg-d8
mkdir -p "$out" checkpoints/linreg-d8
if [ "${1:-}" != "--no-train" ]; then
  .venv/bin/iai train configs/linreg-d8.toml --out runs/linreg-d8 --quiet --set train.precision=float32
  cp runs/linreg-d8/model.safetensors runs/linreg-d8/config.json checkpoints/linreg-d8/
  cp runs/linreg-d8/metrics.jsonl "$out/metrics.jsonl"
fi
cmd="bash benchmarks/linreg_d8.sh${*:+ $*}"
{ echo "<!-- $cmd -->"; .venv/bin/iai eval checkpoints/linreg-d8 --steps 64 --out "$out"; } \
  > "$out/eval-stdout.md"
sed -i "1i <!-- $cmd -->" "$out/eval.md"
mkdir -p benchmarks/results/long-stream
.venv/bin/python benchmarks/targets.py long "$out/eval.json" > /dev/null
.venv/bin/python benchmarks/long_stream.py checkpoints/linreg-d8 \
  > benchmarks/results/long-stream/linreg-d8.md
