#!/usr/bin/env bash
# Issue 14's linear-regression row: train checkpoints/linreg-d8-memory (the curvature memory, at
# the learned optimizer's budget: about 10 minutes of one core) and checkpoints/linreg-d8-tokens
# (4 learned memory tokens, linreg-d8's recipe: about an hour), evaluate the memory learner to
# step 64 beside the references, compare every learner of the row on the same tasks, stream
# both to N = 2^16, and measure what the memory costs.
#   bash benchmarks/linreg_d8_memory.sh            (train, then measure)
#   bash benchmarks/linreg_d8_memory.sh --no-train (measure the committed checkpoints)
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1
out=benchmarks/results/linreg-d8-memory
mkdir -p "$out"
if [ "${1:-}" != "--no-train" ]; then
  for name in linreg-d8-memory linreg-d8-tokens; do
    rm -rf "runs/$name"
    /usr/bin/time -f "%e s wall, %U s user" -o "$out/train-time-$name.txt" \
      .venv/bin/iai train "configs/$name.toml" --out "runs/$name" --quiet
    mkdir -p "checkpoints/$name"
    cp "runs/$name/model.safetensors" "runs/$name/config.json" "checkpoints/$name/"
    cp "runs/$name/metrics.jsonl" "$out/metrics-$name.jsonl"
  done
fi
.venv/bin/iai eval checkpoints/linreg-d8-memory --steps 64 --out "$out" > "$out/eval-stdout.md"
.venv/bin/python benchmarks/memory_row.py checkpoints/linreg-d8-grad checkpoints/linreg-d8 \
  checkpoints/linreg-d8-tokens checkpoints/linreg-d8-memory --out "$out/row" > /dev/null
for name in linreg-d8-memory linreg-d8-tokens; do
  .venv/bin/python benchmarks/long_stream.py "checkpoints/$name" > "$out/long-stream-$name.md"
done
.venv/bin/python benchmarks/memory_cost.py > "$out/cost.md"
