#!/usr/bin/env bash
# Train and evaluate parametric IAI on the other task families, one CPU thread each, and
# keep what `iai eval` printed under benchmarks/results/tasks/<config>/.
#   bash benchmarks/tasks.sh [config names…]   (default: the three below)
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1
for name in "${@:-nonlinear-regression gp-regression linear-classification}"; do
  for cfg in $name; do
    out=benchmarks/results/tasks/$cfg
    mkdir -p "$out"
    echo "Command: bash benchmarks/tasks.sh $cfg" > "$out/train-time.txt"
    /usr/bin/time -f "%e s wall, %U s user" -a -o "$out/train-time.txt" \
      .venv/bin/iai train "configs/$cfg.toml" --out "runs/$cfg" --quiet --set train.precision=float32
    cp "runs/$cfg/metrics.jsonl" "$out/metrics.jsonl"
    { echo "<!-- bash benchmarks/tasks.sh $cfg -->"; .venv/bin/iai eval "runs/$cfg" --out "$out"; } \
      > "$out/eval-stdout.md"
    sed -i "1i <!-- bash benchmarks/tasks.sh $cfg -->" "$out/eval.md"
  done
done
