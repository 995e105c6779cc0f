#!/usr/bin/env bash
# Issue 11's committed generative learners: train each named one from
# configs/generative/<name>.toml on one CPU thread, record its training time, and copy it to
# checkpoints/<name>. Measurements: benchmarks/generative.py.
#   bash benchmarks/generative_train.sh gmm-2d gmm-2d-parametric ...
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1
out=benchmarks/results/generative-train
mkdir -p "$out"
for name in "$@"; do
  rm -rf "runs/$name"
  echo "Command: bash benchmarks/generative_train.sh $name" > "$out/train-time-$name.txt"
  /usr/bin/time -f "%e s wall, %U s user" -a -o "$out/train-time-$name.txt" \
    .venv/bin/iai train "configs/generative/$name.toml" --out "runs/$name" --quiet --set train.precision=float32
  mkdir -p "checkpoints/$name"
  cp "runs/$name/model.safetensors" "runs/$name/config.json" "checkpoints/$name/"
  cp "runs/$name/metrics.jsonl" "$out/metrics-$name.jsonl"
done
