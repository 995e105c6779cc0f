#!/usr/bin/env bash
# Trains checkpoints/gp-tokens and the learners compared with it at the same budget (issue 21):
# the one-step tokens learner, parametric IAI with an MLP f, the learned optimizer, ICL; all on
# configs/gp-tokens.toml's task and training table, two at a time on one thread each.
#   bash benchmarks/gp_tokens.sh [extra --set overrides for every run]
# The tokens learners without the exact floor (learner.basis=0), as trained before it existed:
#   GP_TOKENS_NOFLOOR=1 bash benchmarks/gp_tokens.sh   (gp-tokens-nofloor, -pooled: CMANP's
#     pooled attention, -onestep-nofloor)
#   GP_TOKENS_LONG=1 bash benchmarks/gp_tokens.sh   (checkpoints/gp-tokens-3x: 3,000 iterations)
#   GP_TOKENS_LATENTS=1 bash benchmarks/gp_tokens.sh   (checkpoints/gp-tokens-m64: 64 latents)
# Some of the default runs only, by name (the others' recipes unchanged, their weights kept):
#   GP_TOKENS_ONLY="gp-tokens gp-tokens-onestep" bash benchmarks/gp_tokens.sh
# then: OMP_NUM_THREADS=1 python benchmarks/gp_tokens.py > benchmarks/results/gp-tokens/gp-tokens.md
set -euo pipefail
cd "$(dirname "$0")/.."
out=benchmarks/results/gp-tokens
mkdir -p "$out"
one_step=('train.batch_size=128' 'train.steps=1' 'eval.mode="context"' 'eval.batch_size=16')
run() {  # name, then --set overrides
  local name=$1; shift
  local args=()
  for s in "$@"; do args+=(--set "$s"); done
  rm -rf "runs/$name"
  { echo "Command: bash benchmarks/gp_tokens.sh ($name)"
    /usr/bin/time -f "%e s wall, %U s user" env OMP_NUM_THREADS=1 .venv/bin/iai train \
      configs/gp-tokens.toml --out "runs/$name" --threads 1 --quiet --set train.precision=float32 "${args[@]}"
  } > "$out/train-$name.txt" 2>&1
  mkdir -p "checkpoints/$name"  # the weights and the config; the run's history stays in runs/
  cp -L "runs/$name/model.safetensors" "runs/$name/config.json" "checkpoints/$name/"
  cp "runs/$name/metrics.jsonl" "$out/metrics-$name.jsonl"
}
extra=("$@")
jobs_=(
  "gp-tokens"
  "gp-tokens-onestep ${one_step[*]}"
  'gp-parametric learner={kind="parametric",model="mlp",signal="both",width=64,depth=3}'
  'gp-optimizer learner={kind="parametric",model="mlp",signal="grad",width=64,depth=3}'
  "gp-icl learner={kind=\"implicit\",width=64,depth=3} ${one_step[*]}"
)
if [ "${GP_TOKENS_NOFLOOR:-}" = 1 ]; then
  jobs_=(
    "gp-tokens-nofloor learner.basis=0"
    "gp-tokens-pooled learner.basis=0 learner.pooled=true"
    "gp-tokens-onestep-nofloor learner.basis=0 ${one_step[*]}"
  )
fi
if [ "${GP_TOKENS_LONG:-}" = 1 ]; then  # without the floor, three times the budget alone
  jobs_=("gp-tokens-3x learner.basis=0 train.iterations=3000")
fi
if [ "${GP_TOKENS_LATENTS:-}" = 1 ]; then  # without the floor, four times the latents
  jobs_=("gp-tokens-m64 learner.basis=0 learner.latents=64")
fi
for job in "${jobs_[@]}"; do
  read -ra words <<< "$job"
  if [ -n "${GP_TOKENS_ONLY:-}" ] && [[ " $GP_TOKENS_ONLY " != *" ${words[0]} "* ]]; then
    continue
  fi
  while [ "$(jobs -rp | wc -l)" -ge 2 ]; do wait -n; done
  run "${words[@]}" ${extra[@]+"${extra[@]}"} &
done
wait
