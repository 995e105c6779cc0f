"""The token learners' floors against the same floors at an earlier commit, interleaved round
by round in one process: what carrying the posterior covariance by Woodbury's identity
(`iai.models.fourier_basis.FourierBasis.update_covariance`) saves over refactoring the sums by
Cholesky at every step, in training and in adaptation; and what forming the mixture field's
S_k⁻¹ once per ODE time rather than per sample (`iai.models.mixture_field`) saves the token
flow's sampling.

    OMP_NUM_THREADS=1 python benchmarks/floor_step.py [--base 3f45036] [--rounds 5]

The base's `iai/models/{fourier_basis,feature_bayes,feature_laplace,mixture_field}.py` and
`iai/learners/{tokens,tokens_flow}.py` are loaded from git (`git show BASE:…`) and lent to the
very same learner objects (their classes swapped for the round), so both read the same
weights, tasks and points. Workloads: a training iteration of configs/gp-tokens.toml (float32;
each variant its own learner and task stream from the same seed); 64 adaptation steps of 16
tasks (B = 16) plus 128 query predictions by the cost benchmark's learner
(configs/linreg-d8-latents.toml, width 128, untrained) and by the same learner on linear
classification (the Laplace floor); a training iteration of
configs/generative/gmm-2d-tokens-learned.toml; and 1,024 samples for each of 16 tasks at step
10 by checkpoints/gmm-2d-tokens-learned (`iai.sample_steps`). The last column is the largest
difference between what the two computed: the training loss (the two runs' weights part by
rounding as they train, so it grows with the rounds), the predictions after the 64 steps, or
the samples. One thread. Writes benchmarks/results/tokens-cost/floor.md.
"""

import argparse
import importlib.util
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

import iai
from common.command import write_markdown
from common.interleaved import interleaved
from iai.config import load_config
from iai.experiment import build
from iai.learners.tokens import TokensLearner
from iai.learners.tokens_flow import TokensFlow
from iai.models.feature_bayes import FeatureBayes
from iai.models.feature_laplace import FeatureLaplace
from iai.training.loop import iterations

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "tokens-cost"
MODULES = {  # module -> its file; loaded together, each importing the others' base versions
    "iai.models.fourier_basis": "iai/models/fourier_basis.py",
    "iai.models.feature_bayes": "iai/models/feature_bayes.py",
    "iai.models.feature_laplace": "iai/models/feature_laplace.py",
    "iai.models.mixture_field": "iai/models/mixture_field.py",
    "iai.learners.tokens": "iai/learners/tokens.py",
    "iai.learners.tokens_flow": "iai/learners/tokens_flow.py",
}
COST = "configs/linreg-d8-latents.toml"
CLASSES = '[task]\nname = "linear_classification"\ndim = 8\n'  # the cost learner's task swapped


def base_modules(rev: str) -> dict[str, object]:
    """The modules of MODULES as they were at `rev`, under names of their own."""
    folder, loaded = Path(tempfile.mkdtemp()), {}
    for name, file in MODULES.items():
        source = subprocess.run(
            ["git", "show", f"{rev}:{file}"], cwd=ROOT, check=True, capture_output=True, text=True
        ).stdout
        for other in MODULES:  # the base's own versions of one another
            source = re.sub(rf"\b{re.escape(other)}\b", "base_" + other.replace(".", "_"), source)
        alias = "base_" + name.replace(".", "_")
        path = folder / f"{alias}.py"
        path.write_text(source)
        spec = importlib.util.spec_from_file_location(alias, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[alias] = module
        spec.loader.exec_module(module)
        loaded[name] = module
    return loaded


def timed(learner, classes: dict[type, type], work) -> tuple[float, object]:
    """Seconds of `work()` with the learner's and its floor's classes swapped by `classes`, and
    what it returned."""
    own = [(m, m.__class__) for m in (learner, learner.floor)]
    for m, cls in own:
        m.__class__ = classes.get(cls, cls)
    try:
        clock = time.perf_counter()
        out = work()
        return time.perf_counter() - clock, out
    finally:
        for m, cls in own:
            m.__class__ = cls


def adaptation(learner, seed: int):
    """64 steps of 16 tasks, then the queries' predictions: what the work returns."""
    prior = learner.prior
    tasks = prior.sample(16, 16, 128, generator=torch.Generator().manual_seed(seed))

    def work():
        with torch.inference_mode():
            state = learner.init(tasks.x_query)
            for _ in range(64):
                state = learner.step(state, tasks.x_train, tasks.y_train)
            return learner.predict(state, tasks.x_query)

    return work


def training(recipe: str) -> list:
    """One learner and task stream per variant, from the same seed: a training iteration each."""
    cfg = load_config(ROOT / recipe, ["train.precision=float32"])
    pair = []
    for _ in range(2):
        learner, prior = build(cfg)
        stream = iterations(cfg, learner, prior)
        pair.append((learner, lambda s=stream: next(s).detach()))
    return pair


def workloads() -> list[tuple[str, list]]:
    """(name, [(learner, work)] for the base and now variants)."""
    out = [
        (
            "gp-tokens training iteration (64 tasks, 8 steps of 16)",
            training("configs/gp-tokens.toml"),
        )
    ]
    for name, task in (("regression", None), ("classification", CLASSES)):
        path = ROOT / COST
        if task is not None:
            path = Path(tempfile.mkdtemp()) / "classes.toml"
            path.write_text(re.sub(r"\[task\][^\[]*", task + "\n", (ROOT / COST).read_text()))
        learner = build(load_config(path, ["learner.width=128"]))[0].eval()
        out.append(
            (f"cost learner, {name}: 64 steps of 16 tasks", [(learner, adaptation(learner, 0))] * 2)
        )
    gmm = training("configs/generative/gmm-2d-tokens-learned.toml")
    out.append(("gmm-2d-tokens-learned training iteration (32 tasks, 10 steps of 32)", gmm))
    learner = iai.load(ROOT / "checkpoints/gmm-2d-tokens-learned")
    x = learner.prior.sample(16, 320, 1, generator=torch.Generator().manual_seed(0)).x_train

    def sample():
        generator = torch.Generator().manual_seed(1)
        return iai.sample_steps(learner, x, 1024, steps=[10], generator=generator)

    out.append(
        ("gmm-2d-tokens-learned: 1,024 samples of 16 tasks at step 10", [(learner, sample)] * 2)
    )
    return out


def difference(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a.double() - b.double()).abs().max().item()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", default="3f45036", help="the commit to compare against")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    old = base_modules(args.base)  # lent as they are: a subclass's super() would reach today's
    base = {
        FeatureBayes: old["iai.models.feature_bayes"].FeatureBayes,
        FeatureLaplace: old["iai.models.feature_laplace"].FeatureLaplace,
        TokensLearner: old["iai.learners.tokens"].TokensLearner,
        TokensFlow: old["iai.learners.tokens_flow"].TokensFlow,
    }
    rows = []
    for name, pair in workloads():
        (learner_b, work_b), (learner_n, work_n) = pair
        variants = {
            "base": lambda lb=learner_b, wb=work_b: timed(lb, base, wb),
            "now": lambda ln=learner_n, wn=work_n: timed(ln, {}, wn),
        }
        medians, apart = interleaved(variants, args.rounds, difference)
        b, n = medians["base"], medians["now"]
        rows.append(f"| {name} | {b:.4f} | {n:.4f} | {b / n:.2f} | {apart:.1e} |")
        print(rows[-1], flush=True)
    cmd = "OMP_NUM_THREADS=1 python benchmarks/floor_step.py"
    cmd += f" --base {args.base} --rounds {args.rounds}"
    text = [
        f"`{cmd}`, {time.strftime('%Y-%m-%d %H:%M')}; torch {torch.__version__}; one thread; "
        f"median seconds of {args.rounds} interleaved rounds after one warm-up. base: the "
        f"floors and token learners at {args.base} (the sums refactored by Cholesky at every "
        "step, the mixture field's solves per sample); now: this tree's (the covariance "
        "carried by Woodbury's identity, S_k⁻¹ once per time).",
        "",
        "| workload | base s | now s | speed-up | largest difference |",
        "|---|---|---|---|---|",
        *rows,
    ]
    write_markdown(
        OUT / "floor.md", cmd, "The token learner's floors against an earlier commit's", text
    )


if __name__ == "__main__":
    main()
