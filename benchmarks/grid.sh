#!/usr/bin/env bash
# Run grid configs one after the other on one CPU thread and keep their tables:
#   bash benchmarks/grid.sh [configs/grid/NAME.toml ...]   (default: the reduced grid, then the ablations)
# Each writes runs/<name>/ (resumable) and benchmarks/results/grid/<name>/{grid.md,grid.json,time.txt}.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1
configs=("$@")
[ ${#configs[@]} -gt 0 ] || configs=(configs/grid/reduced.toml configs/grid/ablation-*.toml)
for config in "${configs[@]}"; do
  name=$(basename "$config" .toml)
  out=benchmarks/results/grid/$name
  mkdir -p "$out"
  echo "Command: bash benchmarks/grid.sh $config" > "$out/time.txt"
  /usr/bin/time -f "%e s wall, %U s user" -a -o "$out/time.txt" \
    .venv/bin/iai grid "$config" --out "runs/$name" --quiet > /dev/null
  { echo "<!-- bash benchmarks/grid.sh $config -->"; cat "runs/$name/grid.md"; } > "$out/grid.md"
  cp "runs/$name/grid.json" "$out/"
done
