#!/usr/bin/env bash
# The two explicit recipes as they now stand (learner.first_order = true, train.precision
# "auto"), trained from their seeds in two one-thread lanes, their times recorded; then the
# generative one's sample quality, and both beside the committed checkpoints (second order,
# float32) by benchmarks/first_order.py.
#   bash benchmarks/first_order.sh     (about 15 minutes on two cores)
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1
out=benchmarks/results/first-order
mkdir -p "$out" runs/first-order
one() {  # one <recipe> <name>
  rm -rf "runs/first-order/$2"
  echo "Command: bash benchmarks/first_order.sh" > "$out/train-time-$2.txt"
  /usr/bin/time -f "%e s wall, %U s user" -a -o "$out/train-time-$2.txt" \
    .venv/bin/iai train "$1" --out "runs/first-order/$2" --quiet
  cp "runs/first-order/$2/metrics.jsonl" "$out/metrics-$2.jsonl"
}
one configs/linreg-d8-explicit.toml linreg-d8-explicit &
one configs/generative/gmm-2d-explicit.toml gmm-2d-explicit
wait
.venv/bin/python benchmarks/generative.py quality gmm-2d-explicit --root runs/first-order --out "$out"
.venv/bin/python benchmarks/first_order.py quality > "$out/quality.md"
