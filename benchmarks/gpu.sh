#!/usr/bin/env bash
# The one prepared GPU run (issue 22; ../shared/GPU.md), under 10 minutes on one H200:
#  0. the throughput table on the GPU: benchmarks/throughput.py --device cuda (FLOPs per
#     iteration and the fraction of the card's measured matmul peak, MFU in bfloat16);
#  1. the precision table on the GPU: benchmarks/precision.py --device cuda (float32 and
#     bfloat16 iterations/s of every committed recipe, and linreg-d8's quality in both);
#  2. the grid's learned cells at ten times the CPU budget, in bfloat16
#     (configs/grid/gpu-10x.toml; a cell finished is kept, so a second run completes a grid
#     the time limit cut short).
# Everything lands in benchmarks/results/gpu/ (OUT_DIR), each file naming the card.
#   bash benchmarks/gpu.sh                  # on the GPU machine (needs torch with CUDA and
#                                           # iai's dependencies; no network there)
#   GPU_REHEARSAL=1 bash benchmarks/gpu.sh  # on the CPU at a tiny size: the same steps
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"  # iai from this tree, installed or not
grid=configs/grid/gpu-10x.toml
if [ -n "${GPU_REHEARSAL:-}" ]; then
  out=${OUT_DIR:-benchmarks/results/gpu-rehearsal}
  precision_args=(--iterations 4 --rounds 0.1 --tasks 20)
  throughput_args=(--rounds 0.1 configs/linreg-d8.toml)
  tmp=$(mktemp -d)
  cp configs/grid/base.toml "$tmp/"
  sed -e 's/"train.tasks=640", "train.device=cuda",/"train.tasks=4", "train.iterations=3", "train.warmup=1", "eval.tasks=10", "eval.steps=3",/' \
      -e 's/"linear_regression", "nonlinear_regression",/"linear_regression",/' \
      -e 's/  "linear_classification", "nonlinear_classification", "digits",/  "digits",/' \
      "$grid" > "$tmp/gpu-10x.toml"
  grid=$tmp/gpu-10x.toml
  runs=runs/gpu-10x-rehearsal
  rm -rf "$runs"
else
  out=${OUT_DIR:-benchmarks/results/gpu}
  precision_args=(--device cuda)
  throughput_args=(--device cuda --rounds 0.5)
  runs=runs/gpu-10x
fi
header="bash benchmarks/gpu.sh${GPU_REHEARSAL:+ (GPU_REHEARSAL=1)}"
mkdir -p "$out"
"$PYTHON" - <<'PY'
import importlib, sys
missing = [m for m in ("torch", "safetensors", "torchdiffeq", "sklearn", "scipy", "tqdm")
           if importlib.util.find_spec(m) is None]
if missing:
    sys.exit(f"benchmarks/gpu.sh: missing {', '.join(missing)}: install iai's dependencies first")
PY
card=$("$PYTHON" -c 'import torch; print(torch.__version__, torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu")')
echo "gpu.sh on: $card" >&2
start=$(date +%s)
status=0
timeout "${THROUGHPUT_LIMIT_S:-120}" "$PYTHON" benchmarks/throughput.py "${throughput_args[@]}" \
  > "$out/throughput.md.partial" || status=$?
mv "$out/throughput.md.partial" "$out/throughput.md"
{ echo "Command: $header"
  echo "throughput: $(( $(date +%s) - start )) s wall, exit $status; $card"; } > "$out/time.txt"
start=$(date +%s)
status=0
timeout "${PRECISION_LIMIT_S:-180}" "$PYTHON" benchmarks/precision.py "${precision_args[@]}" \
  > "$out/precision.md.partial" || status=$?
mv "$out/precision.md.partial" "$out/precision.md"
echo "precision: $(( $(date +%s) - start )) s wall, exit $status; $card" >> "$out/time.txt"
start=$(date +%s)
status=0
timeout "${GRID_LIMIT_S:-270}" "$PYTHON" -m iai.cli grid "$grid" --out "$runs" --quiet \
  > /dev/null || status=$?
echo "grid: $(( $(date +%s) - start )) s wall, exit $status (124: cut short; run again to finish)" >> "$out/time.txt"
if [ -f "$runs/grid.md" ]; then
  { echo "<!-- $header -->"; echo "Card: $card"; echo; cat "$runs/grid.md"; } > "$out/grid.md"
  cp "$runs/grid.json" "$out/"
fi
cat "$out/time.txt" >&2
