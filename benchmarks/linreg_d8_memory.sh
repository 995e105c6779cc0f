#!/usr/bin/env bash
# Issue 14's linear-regression row: train checkpoints/linreg-d8-memory (the curvature memory, at
# the learned optimizer's budget: about 6 CPU-minutes), evaluate it to step 64 beside the
# references, compare it with linreg-d8 and the learned optimizer on the same tasks, stream it
# to N = 2^16, and measure what the memory costs. The token memory's ablation:
# benchmarks/memory_ablation.sh.
#   bash benchmarks/linreg_d8_memory.sh            (train, then measure)
#   bash benchmarks/linreg_d8_memory.sh --no-train (measure the committed checkpoint)
# Writes benchmarks/results/linreg-d8-memory/ (row/: benchmarks/memory_row.py), and
# long-stream/linreg-d8-memory.md, memory-cost/cost.md, curvature-cost/curvature-cost.md.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1
out=benchmarks/results/linreg-d8-memory
mkdir -p "$out" checkpoints/linreg-d8-memory
if [ "${1:-}" != "--no-train" ]; then
  rm -rf runs/linreg-d8-memory
  echo "Command: bash benchmarks/linreg_d8_memory.sh" > "$out/train-time-linreg-d8-memory.txt"
  /usr/bin/time -f "%e s wall, %U s user" -a -o "$out/train-time-linreg-d8-memory.txt" \
    .venv/bin/iai train configs/linreg-d8-memory.toml --out runs/linreg-d8-memory --quiet --set train.precision=float32
  cp runs/linreg-d8-memory/model.safetensors runs/linreg-d8-memory/config.json \
    checkpoints/linreg-d8-memory/
  cp runs/linreg-d8-memory/metrics.jsonl "$out/metrics-linreg-d8-memory.jsonl"
fi
cmd="bash benchmarks/linreg_d8_memory.sh${*:+ $*}"
{ echo "<!-- $cmd -->"; .venv/bin/iai eval checkpoints/linreg-d8-memory --steps 64 --out "$out"; } \
  > "$out/eval-stdout.md"
sed -i "1i <!-- $cmd -->" "$out/eval.md"
.venv/bin/python benchmarks/memory_row.py --out "$out/row" > /dev/null
r=benchmarks/results
mkdir -p $r/long-stream $r/memory-cost $r/curvature-cost
.venv/bin/python benchmarks/long_stream.py checkpoints/linreg-d8-memory \
  > $r/long-stream/linreg-d8-memory.md
.venv/bin/python benchmarks/memory_cost.py > $r/memory-cost/cost.md
.venv/bin/python benchmarks/curvature_cost.py > $r/curvature-cost/curvature-cost.md
