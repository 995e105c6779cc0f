#!/usr/bin/env bash
# The tabular foundation model's GPU recipe (issue 23; ../shared/GPU.md, first in line): both
# shipped models retrained on one GPU in at most 10 minutes, then measured beside the CPU ones.
# The two kinds run side by side on the one card, each:
#  1. a probe: PROBE iterations of configs/tabular/tokens-<kind>-gpu.toml, timed from its log;
#  2. training for TRAIN_S seconds (default 270): as many iterations as the probe says fit, so
#     the cosine schedule ends when the budget does (warm-up a tenth of them, at most 100);
#  3. benchmarks/tabular_tokens.py --learner on the new model (the "IAI candidate") beside the
#     shipped linear and tokens learners and the baselines, SPLITS seeded splits (default 3).
# Measurements land in benchmarks/results/tabular-gpu/ (OUT_DIR): time.txt (card, iterations,
# seconds, tables) and small-<kind>.md; the models in checkpoints/tabular-tokens-<kind>-gpu/
# (weights, config.json, metrics.jsonl, hardware.txt; the rehearsal's stay in runs/). A model
# that beats the shipped one is copied into iai/pretrained/tabular-tokens-<kind>/, by hand.
#   bash benchmarks/tabular_gpu.sh                  # on the GPU machine (torch with CUDA and
#                                                   # iai's dependencies; no network there)
#   GPU_REHEARSAL=1 bash benchmarks/tabular_gpu.sh  # on the CPU at a tiny size: the same steps
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"  # iai from this tree, installed or not
if [ -n "${GPU_REHEARSAL:-}" ]; then
  out=${OUT_DIR:-benchmarks/results/tabular-gpu/rehearsal}
  train_s=${TRAIN_S:-20} probe=${PROBE:-3} splits=${SPLITS:-1}
  tiny=(--set train.device=cpu --set train.tasks=8  # bfloat16 kept: autocast's path too
        --set train.draw_threads=2 --set learner.width=16 --set learner.hidden=16
        --set learner.latents=4 --set learner.depth=1 --set train.queries=16)
  runs=runs/tabular-gpu-rehearsal
else
  out=${OUT_DIR:-benchmarks/results/tabular-gpu}
  train_s=${TRAIN_S:-270} probe=${PROBE:-12} splits=${SPLITS:-3}
  tiny=()
  runs=runs/tabular-gpu
fi
header="bash benchmarks/tabular_gpu.sh${GPU_REHEARSAL:+ (GPU_REHEARSAL=1)}"
rm -rf "$runs"
mkdir -p "$out" "$runs"
card=$("$PYTHON" -c 'import torch; print(torch.__version__, torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu")')
echo "tabular_gpu.sh on: $card" >&2

one_kind() {  # $1: classification | regression; writes $runs/$1.txt
  local kind=$1 cfg=configs/tabular/tokens-$1-gpu.toml run=$runs/$1 start status=0
  "$PYTHON" -m iai.cli train "$cfg" --out "$run-probe" --quiet "${tiny[@]}" \
    --set train.iterations="$probe" --set train.log_every=1 --set train.warmup=1 > /dev/null
  # seconds per iteration past the first two (CUDA start-up, autotuning)
  read -r per n warm < <("$PYTHON" - "$run-probe/metrics.jsonl" "$train_s" <<'PY'
import json, sys
log = [json.loads(line) for line in open(sys.argv[1])]
per = (log[-1]["seconds"] - log[1]["seconds"]) / (len(log) - 2)
n = max(len(log), int(float(sys.argv[2]) / per))
print(f"{per:.4f}", n, min(100, max(1, n // 10)))
PY
)
  start=$(date +%s)
  timeout "$(( train_s * 2 ))" "$PYTHON" -m iai.cli train "$cfg" --out "$run" --quiet \
    "${tiny[@]}" --set train.iterations="$n" --set train.warmup="$warm" > /dev/null || status=$?
  local secs=$(( $(date +%s) - start ))
  local tables
  tables=$("$PYTHON" -c "import json; c = json.load(open('$run/config.json')); print(c['step'] * c['config']['train']['tasks'])")
  local resume=""
  [ "$status" = 124 ] && resume=" (cut short: iai train $cfg --out $run --resume --set train.iterations=$n)"
  echo "$kind: probe $per s per iteration; trained $n iterations ($tables tables) in $secs s wall, exit $status$resume; $card" > "$runs/$kind.txt"
  { echo "Command: $header"; cat "$runs/$kind.txt"; } > "$run/hardware.txt"
  timeout "${EVAL_LIMIT_S:-240}" "$PYTHON" benchmarks/tabular_tokens.py --kind "$kind" \
    --splits "$splits" --learner "$run" --out "$out" > /dev/null || echo "$kind: evaluation exit $?" >> "$runs/$kind.txt"
  if [ -z "${GPU_REHEARSAL:-}" ]; then
    rm -rf "checkpoints/tabular-tokens-$kind-gpu"
    mkdir -p "checkpoints/tabular-tokens-$kind-gpu"
    cp "$run"/{model.safetensors,config.json,metrics.jsonl,hardware.txt} \
      "checkpoints/tabular-tokens-$kind-gpu/"
  fi
}

one_kind classification & first=$!
one_kind regression & second=$!
status=0
wait "$first" || status=$?
wait "$second" || status=$?
{ echo "Command: $header"; cat "$runs/classification.txt" "$runs/regression.txt"; } > "$out/time.txt"
cat "$out/time.txt" >&2
exit "$status"
