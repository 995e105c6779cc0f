"""The explicit flow with a token state against EM on Gaussian mixtures (issue 21, item 4):
energy distance of samples to the truth after 320 context points, in distribution and out
(6–8 components; means twice as spread), beside the other generative learners, the token
flow with its mixture floor fitted by online EM (gmm-2d-tokens), with the mixture learner's
update as its floor instead (gmm-2d-tokens-learned), without a floor, and each floor alone
(the tokens' correction set to zero).

    OMP_NUM_THREADS=1 python benchmarks/generative_tokens.py \
        > benchmarks/results/generative-tokens/gmm.md   (and gmm.json beside it)

Every method reads the same 320 context points per task (the learners in 10 mini-batches of
32, the trained horizon; EM fits all of them, scikit-learn's GaussianMixture, full
covariances, the number of components 1 … 8 chosen per task by BIC) and draws SAMPLES points,
compared with as many fresh true samples of the same task (the same for every method). Why
a separate run from `generative.py quality`: there 64 samples per task leave EM's energy
distance (about 0.005) within one standard error of zero, so a ratio to it means nothing;
here 1,024 samples and the ratio's s.e. from the paired per-task differences. The implicit
flow, which re-reads its context at each of the ODE's evaluations, would cost more than all
the rest together at this size: its energy at 64 samples is in generative/quality.md.
"""

import json
import statistics
import sys
from pathlib import Path

import torch

import iai
from common.command import markdown_header, with_command
from common.generative import floor_alone
from iai.evaluation.em import fit_em
from iai.evaluation.sample_metrics import energy_distance
from iai.evaluation.sampling import draw
from iai.tasks import variant_prior

ROOT = Path(__file__).resolve().parents[1] / "checkpoints"
OUT = Path(__file__).resolve().parent / "results" / "generative-tokens" / "gmm.json"
TASKS, SAMPLES, B, K = 200, 1024, 32, 10
LEARNERS = {  # label -> checkpoint
    "flow, token state, online-EM floor": "gmm-2d-tokens",
    "flow, token state, learned floor": "gmm-2d-tokens-learned",
    "flow, token state, no floor": "gmm-2d-tokens-nofloor",
    "flow, explicit (one latent)": "gmm-2d-explicit",
    "mixture learner": "gmm-2d-parametric",
}
FLOOR_ALONE = {  # the token flows whose floor alone is measured too -> its label
    "flow, token state, online-EM floor": "flow, token state, online-EM floor: its floor alone",
    "flow, token state, learned floor": "flow, token state, learned floor: its floor alone",
}
VARIANTS = {"id": 300, "many_components": 301, "wide_prior": 302}  # variant -> seed


def mean_se(v: torch.Tensor) -> tuple[float, float]:
    return v.mean().item(), (v.std() / v.numel() ** 0.5).item()


def main() -> None:
    learners = {label: iai.load(ROOT / c) for label, c in LEARNERS.items() if (ROOT / c).exists()}
    for label, ablated in FLOOR_ALONE.items():
        if label in learners:
            learners[ablated] = floor_alone(learners[label])
    cfg = learners["flow, token state, online-EM floor"].config.task
    print(markdown_header())
    print("# Token-state flow against EM (BIC) on Gaussian mixtures, 320 context points\n")
    print(__doc__.split("\n\n", 2)[2].strip() + "\n")
    print(f"{TASKS} tasks per distribution, {SAMPLES} samples per task.\n")
    results = {}
    for variant, seed in VARIANTS.items():
        data = draw(variant_prior(cfg, variant), TASKS, K * B, SAMPLES, 1, seed)
        context = data.context[:, : K * B]
        fit = fit_em(context, data.held_out, SAMPLES, "bic", seed=0)
        em = energy_distance(fit.samples, data.truth)  # (T,)
        rows = {"EM, K by BIC (1 … 8)": (em, None)}
        for label, learner in learners.items():
            g = torch.Generator().manual_seed(seed)
            s = iai.sample_steps(learner, context, SAMPLES, batch_size=B, steps=[1, K], generator=g)
            rows[label] = (energy_distance(s[1], data.truth), energy_distance(s[0], data.truth))
            print(f"{variant} {label} done", file=sys.stderr, flush=True)
        results[variant] = table(rows, em)
        print(f"## {variant}\n")
        print("| method | energy, step 10 | energy, step 1 | step 10 / EM (± s.e.) |")
        print("|---|---|---|---|")
        for label, r in results[variant].items():
            first = "" if "step_1" not in r else "{:.4f} ± {:.4f}".format(*r["step_1"])
            ratio = "" if "ratio" not in r else "{:.2f} ± {:.2f}".format(*r["ratio"])
            last = "{:.4f} ± {:.4f}".format(*r["step_10"])
            print(f"| {label} | {last} | {first} | {ratio} |")
        print()
    OUT.write_text(json.dumps(with_command(results), indent=1))


def table(rows: dict, em: torch.Tensor) -> dict:
    """label -> energy after steps 10 and 1 (mean, s.e.) and, for the learners, the ratio of
    their step-10 mean to EM's, with its s.e. by the delta method on the paired tasks."""
    out = {}
    for label, (e10, e1) in rows.items():
        out[label] = {"step_10": mean_se(e10)}
        if e1 is not None:
            r = e10.mean().item() / em.mean().item()
            resid = (e10 - r * em) / em.mean()
            se = statistics.pstdev(resid.tolist()) / TASKS**0.5
            out[label] |= {"step_1": mean_se(e1), "ratio": (r, se)}
    return out


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
