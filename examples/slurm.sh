#!/bin/bash
# Train on several nodes under SLURM: one torchrun per node, meeting at the allocation's first
# node. Usage: sbatch examples/slurm.sh configs/linreg-d8.toml [--set key=value ...]
#SBATCH --job-name=iai
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=1
#SBATCH --gpus-per-node=4
#SBATCH --cpus-per-task=16
#SBATCH --time=04:00:00
set -euo pipefail
config=${1:?usage: sbatch examples/slurm.sh CONFIG [--set key=value ...]}
shift
head=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)
gpus=${SLURM_GPUS_PER_NODE:-4}
shards=$((SLURM_NNODES * gpus))
srun torchrun \
  --nnodes "$SLURM_NNODES" --nproc_per_node "$gpus" \
  --rdzv_backend c10d --rdzv_endpoint "$head:29500" --rdzv_id "$SLURM_JOB_ID" \
  -m iai.cli train "$config" --out "runs/$(basename "$config" .toml)-$SLURM_JOB_ID" \
  --set train.shards="$shards" --set train.device=cuda "$@"
