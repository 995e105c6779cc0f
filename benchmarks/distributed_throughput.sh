#!/usr/bin/env bash
# Training throughput on this machine's cores: one process with 2 threads against two torchrun
# processes with 1 thread each, same config and the same global batch (2 task shards).
#   bash benchmarks/distributed_throughput.sh \
#     > benchmarks/results/distributed-throughput/distributed-throughput.md
#   bash benchmarks/distributed_throughput.sh --set train.iterations=4 --set train.log_every=1
#     (extra --set overrides after the defaults: a quick check at a smaller size)
set -euo pipefail
cd "$(dirname "$0")/.."
sets=(--set train.iterations=60 --set train.shards=2 --set train.log_every=10 --set train.checkpoint_every=60 "$@")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
OMP_NUM_THREADS=2 .venv/bin/iai train configs/demo.toml --out "$tmp/one" --quiet "${sets[@]}" > /dev/null
OMP_NUM_THREADS=1 .venv/bin/torchrun --standalone --nproc_per_node 2 -m iai.cli train configs/demo.toml \
  --out "$tmp/two" --quiet "${sets[@]}" > /dev/null 2>&1
echo "<!-- bash benchmarks/distributed_throughput.sh${*:+ $*} -->"
.venv/bin/python - "$tmp" <<'PY'
import json, sys
from pathlib import Path

import iai

def rate(run):
    """Tasks per second from the first log record on (past start-up) to the last."""
    path = Path(sys.argv[1]) / run
    tasks = iai.load(path).config.train.tasks  # per iteration, over both shards
    rows = [json.loads(line) for line in (path / "metrics.jsonl").read_text().splitlines()]
    first, last = rows[0], rows[-1]
    return (last["step"] - first["step"]) * tasks / (last["seconds"] - first["seconds"])

one, two = rate("one"), rate("two")
tasks = iai.load(Path(sys.argv[1]) / "one").config.train.tasks
print(f"# Distributed training throughput, configs/demo.toml, {tasks} tasks per iteration in 2 shards\n")
print("| run | tasks / s |\n|---|---|")
print(f"| 1 process, 2 threads | {one:.1f} |\n| 2 processes (torchrun, gloo), 1 thread each | {two:.1f} |")
print(f"\n2-process / 1-process throughput: {two / one:.2f}x")
PY
