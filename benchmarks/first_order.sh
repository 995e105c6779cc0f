#!/usr/bin/env bash
# `learner.first_order` on the two explicit recipes, each changed in that alone from how its
# committed checkpoint was trained (second order, float32, one thread): linreg-d8-explicit and
# gmm-2d-explicit at their recipes' iterations, and gmm-2d-explicit at twice them (about the
# committed run's time). Two one-thread lanes, their logs copied (with each run's seconds); then
# the flow's sample quality and every run beside the committed checkpoints
# (benchmarks/first_order.py quality; its speed side by side: benchmarks/first_order.py speed).
#   bash benchmarks/first_order.sh     (about 25 minutes on two cores)
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1
out=benchmarks/results/first-order
mkdir -p "$out" runs/first-order
one() {  # one <recipe> <run name> [more --set pairs]
  local recipe=$1 name=$2
  shift 2
  rm -rf "runs/first-order/$name"
  .venv/bin/iai train "$recipe" --out "runs/first-order/$name" --quiet \
    --set train.precision=float32 --set learner.first_order=true "$@"
  cp "runs/first-order/$name/metrics.jsonl" "$out/metrics-$name.jsonl"
}
flow=configs/generative/gmm-2d-explicit.toml
{ one configs/linreg-d8-explicit.toml linreg-d8-explicit; one $flow gmm-2d-explicit; } &
one $flow gmm-2d-explicit-2x --set train.iterations=2400
wait
for name in gmm-2d-explicit gmm-2d-explicit-2x; do
  mkdir -p "runs/first-order/quality/$name"
  ln -sfn "$PWD/runs/first-order/$name" "runs/first-order/quality/$name/gmm-2d-explicit"
  .venv/bin/python benchmarks/generative.py quality gmm-2d-explicit \
    --root "runs/first-order/quality/$name" --out "$out/$name"
done
.venv/bin/python benchmarks/first_order.py quality > "$out/quality.md"
