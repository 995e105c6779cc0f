#!/usr/bin/env bash
# Ablation over the token memory's size (0, 1, 4, 16 tokens) at equal training budget
# (configs/linreg-d8-tokens.toml: width 64, 1000 iterations, as the learned optimizer
# linreg-d8-grad and the curvature-memory learner linreg-d8-memory), one CPU thread each,
# then every size on the same fresh tasks beside the exact posterior, differences paired to
# the size-0 learner.
#   bash benchmarks/memory_ablation.sh      (about an hour of one core)
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1
out=benchmarks/results/memory-ablation
mkdir -p "$out"
echo "Command: bash benchmarks/memory_ablation.sh" > "$out/train-time.txt"
for m in 0 1 4 16; do
  rm -rf "runs/memory-ablation/m$m"
  /usr/bin/time -f "memory=$m: %e s wall, %U s user" -a -o "$out/train-time.txt" \
    .venv/bin/iai train configs/linreg-d8-tokens.toml --out "runs/memory-ablation/m$m" --quiet --set train.precision=float32 \
    --set learner.memory=$m
done
.venv/bin/python benchmarks/memory_row.py runs/memory-ablation/m{0,1,4,16} --out "$out" > /dev/null
