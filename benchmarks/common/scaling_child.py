"""One (method, N) measurement of `benchmarks/scaling.py`, in a fresh process on one CPU thread:
what the cost benchmarks that compare a few of its methods side by side run."""

import json
import os
import subprocess
import sys
from pathlib import Path

SCALING = Path(__file__).resolve().parents[1] / "scaling.py"


def measure(name: str, n: int) -> dict:
    """scaling.py's record for method `name` adapting to n points."""
    cmd = [sys.executable, str(SCALING), "--child", name, str(n)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
    return json.loads(done.stdout.splitlines()[-1])
