"""What benchmarks/generative.py's results are keyed by, and how they are read back: as the
plain JSON it writes (`read_quality`, for the script itself) and as typed values (the rest,
for docs/results.md's generator)."""

import copy
import json
from dataclasses import dataclass
from pathlib import Path

import torch

from common.command import without_command
from iai.evaluation.results import Curve
from iai.evaluation.sampling import quality_from_json

B, K = 32, 10  # the trained batch size and steps
# checkpoint -> (family, variants); the one-step baseline reads k batches in one step
LEARNERS = {
    "gmm-2d": ["id", "many_components", "wide_prior"],
    "gmm-2d-explicit": ["id", "many_components", "wide_prior"],
    "gmm-2d-parametric": ["id", "many_components", "wide_prior"],
    "gmm-2d-onestep": ["id", "many_components", "wide_prior"],
    "gmm-2d-tokens-learned": ["id", "many_components", "wide_prior"],
    "gmm-2d-tokens-nofloor": ["id", "many_components", "wide_prior"],
    "gmm-2d-tokens": ["id", "many_components", "wide_prior"],
    "letters": ["id", "held_out_letters", "serif"],
    "letters-explicit": ["id", "held_out_letters", "serif"],
    "letters-tokens": ["id", "held_out_letters", "serif"],
    "letters-tokens-nofloor": ["id", "held_out_letters", "serif"],
}


def floor_alone(learner):
    """The token flow with its tokens' correction to the field set to zero: it samples the
    exact field of its mixture floor, so the rows beside it say what the tokens add."""
    ablated = copy.deepcopy(learner)
    with torch.no_grad():
        ablated.field.out.weight.zero_()
        ablated.field.out.bias.zero_()
    return ablated


def read_quality(out: Path) -> dict:
    """Every learner's quality-<name>.json, in the order of LEARNERS."""
    paths = {n: out / f"quality-{n}.json" for n in LEARNERS}
    return {n: without_command(json.loads(p.read_text())) for n, p in paths.items() if p.exists()}


@dataclass(frozen=True)
class Quality:
    """One learner's samples on one distribution (`generative.py quality`, which writes
    {"seconds": s, **iai.evaluation.sampling.to_json(q)})."""

    curves: dict[str, Curve]  # metric -> mean and s.e. over tasks at the steps sampled
    seconds: float  # the wall time of sampling and scoring them

    @staticmethod
    def from_json(data: dict) -> "Quality":
        tables = {k: v for k, v in data.items() if k != "seconds"}
        return Quality(quality_from_json(tables), float(data["seconds"]))


def quality(out: Path) -> dict[str, dict[str, Quality]]:
    """`read_quality` typed: learner -> distribution -> its Quality."""
    return {
        name: {v: Quality.from_json(r) for v, r in variants.items()}
        for name, variants in read_quality(out).items()
    }


@dataclass(frozen=True)
class Recognized:
    """The share of one learner's generated letter clouds that a classifier trained on true
    clouds reads as the task's letter (`generative.py letters`), on one distribution."""

    curve: Curve  # after each step sampled, mean and s.e. over tasks
    true_clouds: float  # the classifier's share on fresh true clouds of the same tasks

    @staticmethod
    def from_json(data: dict) -> "Recognized":
        r = data["recognized"]
        table = {k: v for k, v in r.items() if k != "true_clouds"}
        return Recognized(quality_from_json({"recognized": table})["recognized"], r["true_clouds"])


def letters(out: Path) -> dict[str, dict[str, Recognized]]:
    """letters.json typed: learner -> distribution -> Recognized ({} where not run)."""
    path = out / "letters.json"
    if not path.exists():
        return {}
    data = without_command(json.loads(path.read_text()))
    return {n: {v: Recognized.from_json(r) for v, r in vs.items()} for n, vs in data.items()}


@dataclass(frozen=True)
class Fit:
    """One method of `generative.py em` on the same tasks and 320 context points."""

    excess_nll: tuple[float, float]  # held-out NLL over the truth's: mean, s.e. over tasks
    nll: float  # mean held-out NLL, nats per point
    seconds: float  # wall time over every task, the median of the repeats
    energy: tuple[float, float] | None = None  # energy distance of its samples (EM's only)


@dataclass(frozen=True)
class EM:
    """em.json: the parametric mixture learner beside EM, and the flows' energy at step 10."""

    tasks: int
    context: int
    repeats: int
    methods: dict[str, Fit]
    true_nll: float  # the truth's own held-out NLL
    flows_energy_step10: dict[str, float]  # learner -> mean energy distance at step K

    @staticmethod
    def from_json(data: dict) -> "EM":
        methods = {
            name: Fit(**{k: tuple(v) if isinstance(v, list) else v for k, v in m.items()})
            for name, m in data["methods"].items()
        }
        return EM(**{**data, "methods": methods})


def em(out: Path) -> EM | None:
    path = out / "em.json"
    return EM.from_json(without_command(json.loads(path.read_text()))) if path.exists() else None


def cost(out: Path) -> dict[int, dict[str, float]]:
    """cost.json: context size N -> learner -> median seconds to adapt and sample ({} where
    not run)."""
    path = out / "cost.json"
    if not path.exists():
        return {}
    data = without_command(json.loads(path.read_text()))
    return {int(n): {name: float(s) for name, s in t.items()} for n, t in data.items()}
