"""What benchmarks/generative.py's results are keyed by, and how they are read back (by
docs/results.md's generator too)."""

import json
from pathlib import Path

from common.command import without_command

B, K = 32, 10  # the trained batch size and steps
# checkpoint -> (family, variants); the one-step baseline reads k batches in one step
LEARNERS = {
    "gmm-2d": ["id", "many_components", "wide_prior"],
    "gmm-2d-explicit": ["id", "many_components", "wide_prior"],
    "gmm-2d-parametric": ["id", "many_components", "wide_prior"],
    "gmm-2d-onestep": ["id", "many_components", "wide_prior"],
    "letters": ["id", "held_out_letters", "serif"],
    "letters-explicit": ["id", "held_out_letters", "serif"],
}


def read_quality(out: Path) -> dict:
    """Every learner's quality-<name>.json, in the order of LEARNERS."""
    paths = {n: out / f"quality-{n}.json" for n in LEARNERS}
    return {n: without_command(json.loads(p.read_text())) for n, p in paths.items() if p.exists()}
