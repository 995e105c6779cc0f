#!/usr/bin/env bash
# Train the linear-regression row of the taxonomy (configs/linreg-d8-*.toml) into
# checkpoints/linreg-d8-<name>, two one-thread lanes side by side on a two-core machine.
#   bash benchmarks/taxonomy_row.sh [name ...]    (default: the whole row, about 40 minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(maml implicit icl cnp data grad explicit onestep metasgd)
out=benchmarks/results/taxonomy-row-train  # the evaluation: benchmarks/taxonomy_row.py
mkdir -p "$out"
one() {
  rm -rf "runs/linreg-d8-$1"
  echo "Command: bash benchmarks/taxonomy_row.sh $1" > "$out/train-time-$1.txt"
  /usr/bin/time -f "%e s wall, %U s user" -a -o "$out/train-time-$1.txt" \
    .venv/bin/iai train "configs/linreg-d8-$1.toml" --out "runs/linreg-d8-$1" --quiet --set train.precision=float32
  mkdir -p "checkpoints/linreg-d8-$1"
  cp "runs/linreg-d8-$1/model.safetensors" "runs/linreg-d8-$1/config.json" \
    "checkpoints/linreg-d8-$1/"
  cp "runs/linreg-d8-$1/metrics.jsonl" "$out/metrics-$1.jsonl"
}
lane() { for n in "$@"; do one "$n"; done; }
half=$(( (${#names[@]} + 1) / 2 ))
lane "${names[@]:0:$half}" &
lane "${names[@]:$half}"
wait
