"""Issue 11's measurements: generative learners beside the truth, EM and each other.

    python benchmarks/generative.py quality   # metrics per step, in distribution and out
    python benchmarks/generative.py em        # the mixture learner and the flows beside EM
    python benchmarks/generative.py cost      # sampling time, explicit against implicit
    python benchmarks/generative.py letters   # a letter classifier reads the generated clouds
    python benchmarks/generative.py figures   # docs/generative-samples.png, -metrics.png

Each writes JSON and markdown under benchmarks/results/generative/ (figures under docs/);
`figures` reads the quality-*.json; `letters` asks a classifier trained on true clouds
(benchmarks/common/letters.py) which letter each generated cloud is. Every learner
reads the very same context points, drawn by `iai.evaluation.sampling.draw` from one seeded
generator per (family, variant); samples are compared with as many fresh true samples
(`iai.evaluation.sampling.sample_quality`).
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

import iai
from common import letters as letter_classifier
from common.command import markdown_header, with_command, without_command
from common.generative import LEARNERS, B, K, floor_alone, read_quality
from iai.evaluation import sampling
from iai.evaluation.em import fit_em
from iai.evaluation.sample_metrics import energy_distance
from iai.evaluation.sampling import draw, sample_quality, to_json
from iai.tasks import variant_prior

OUT = Path("benchmarks/results/generative")
STEPS = [0, 1, 2, 5, 10, 20, 40]  # 40: four times the trained horizon
NLL_STEPS = [1, 10]  # flows' densities need an ODE solve with autograd: two steps only
METRICS = ("energy", "mmd", "w2", "excess_nll")


ROOT = Path("checkpoints")


def load(name: str):
    return iai.load(ROOT / name)


def data_for(learner, variant: str, tasks: int, samples: int, seed: int):
    """The same draw for every learner of a family: the seed depends on the family and variant."""
    cfg = learner.config.task
    prior = variant_prior(cfg, variant)
    return draw(prior, tasks, max(STEPS) * B, samples, samples, seed)


def quality(args) -> None:
    """Each learner's results go to quality-<name>.json, so learners can run in parallel."""
    for name in args.learners or list(LEARNERS):
        result = {}
        learner = load(name)
        one_step = learner.config.train.steps == 1
        # the one-step model at step k attends over all 32·k points at once, at each of the
        # ODE's evaluations: 40 (1,280 points) would cost more than every other step together
        steps = [k for k in STEPS if k <= 20] if one_step else STEPS
        is_flow = not learner.exact_density  # a flow: its density costs an ODE solve
        for variant in LEARNERS[name]:
            data = data_for(
                learner, variant, args.tasks, args.samples, seed=hash_seed(name, variant)
            )
            clock = time.perf_counter()
            q = sample_quality(
                learner,
                data,
                steps,
                batch_size=B,
                nll_steps=NLL_STEPS if is_flow else STEPS,
                one_step=one_step,
            )
            seconds = time.perf_counter() - clock
            result[variant] = {"seconds": seconds, **to_json(q)}
            print(f"{name} {variant}: {seconds:.0f} s", file=sys.stderr, flush=True)
        (OUT / f"quality-{name}.json").write_text(json.dumps(with_command(result), indent=1))
    (OUT / "quality.md").write_text(markdown_header() + "\n" + quality_table(read_quality(OUT)))


def hash_seed(name: str, variant: str) -> int:
    """One seed per (family, variant): every learner of a family reads the same tasks."""
    family = "letters" if name.startswith("letters") else "gmm"
    return {"gmm": 100, "letters": 200}[family] + [
        "id",
        "many_components",
        "wide_prior",
        "held_out_letters",
        "serif",
    ].index(variant)


def quality_table(results: dict) -> str:
    lines = [
        "# Sample quality per step (mean ± s.e. over tasks; lower is better)",
        "",
        f"`python benchmarks/generative.py quality`: each learner reads the same context "
        f"points in mini-batches of {B} (trained on {K} steps; 40 is four times that); its "
        "samples are compared with as many fresh samples of the true distribution. Energy: "
        "energy distance; MMD: squared, Gaussian kernels at bandwidths 0.1, 0.3, 1; W2: exact "
        "2-Wasserstein; excess NLL: nats per point over the true density (mixtures). The "
        "one-step learner reads the first k · 32 points in one step.",
        "",
    ]
    for name, variants in results.items():
        lines += [f"## {name}", ""]
        rows = {v: {m: r[m] for m in METRICS if m in r} for v, r in variants.items()}
        typed = {v: sampling.quality_from_json(r) for v, r in rows.items()}
        lines += [sampling.quality_table(typed), ""]
    return "\n".join(lines)


def em(args) -> None:
    """320 context points (the trained 10 × 32), 200 tasks, in distribution."""
    parametric = load("gmm-2d-parametric")
    data = data_for(parametric, "id", args.tasks, args.samples, seed=hash_seed("gmm-2d", "id"))
    context = data.context[:, : K * B]
    used = data.params["components"]  # the true number of components of each task
    rows = {}
    for run in range(args.repeats):  # alternate the methods, so a noisy machine slows them alike
        clock = time.perf_counter()
        lp = iai.log_prob_steps(parametric, context, data.held_out, batch_size=B, steps=[K])[0]
        took = time.perf_counter() - clock
        rows.setdefault("IAI parametric (10 steps)", []).append((lp, took, None))
        for label, comps in (("EM, true K", used), ("EM, K by BIC (1 … 8)", "bic")):
            fit = fit_em(context, data.held_out, args.samples, comps, seed=run)
            rows.setdefault(label, []).append((fit.log_prob, fit.seconds, fit.samples))
    out = {"tasks": args.tasks, "context": K * B, "repeats": args.repeats, "methods": {}}
    for label, runs in rows.items():
        lp, _, samples = runs[0]
        excess = (data.true_log_prob - lp).mean(-1)
        entry = {
            "excess_nll": [excess.mean().item(), (excess.std() / excess.numel() ** 0.5).item()],
            "nll": -lp.mean().item(),
            "seconds": statistics.median(r[1] for r in runs),
        }
        if samples is not None:
            e = energy_distance(samples, data.truth)
            entry["energy"] = [e.mean().item(), (e.std() / e.numel() ** 0.5).item()]
        out["methods"][label] = entry
    out["true_nll"] = -data.true_log_prob.mean().item()
    quality_json = read_quality(OUT)
    out["flows_energy_step10"] = {
        n: quality_json[n]["id"]["energy"]["mean"][STEPS.index(K)]
        for n in LEARNERS
        if n.startswith("gmm") and n in quality_json
    }
    (OUT / "em.json").write_text(json.dumps(with_command(out), indent=1))
    lines = [
        "# The mixture learner beside EM (scikit-learn GaussianMixture), 320 context points",
        "",
        f"`python benchmarks/generative.py em`: {args.tasks} tasks in distribution, the same "
        f"points for every method; held-out NLL on {args.samples} fresh true samples per task; "
        f"time: median of {args.repeats} alternating runs, all tasks, one process (IAI: adapt "
        "and score; EM: the fits alone, BIC selection included).",
        "",
        f"True distribution's NLL: {out['true_nll']:.4f} nats per point.",
        "",
        "| method | NLL | excess NLL (± s.e.) | energy distance (± s.e.) | seconds |",
        "|---|---|---|---|---|",
    ]
    for label, e in out["methods"].items():
        energy = f"{e['energy'][0]:.4f} ± {e['energy'][1]:.4f}" if "energy" in e else ""
        lines.append(
            f"| {label} | {e['nll']:.4f} | {e['excess_nll'][0]:.4f} ± {e['excess_nll'][1]:.4f} "
            f"| {energy} | {e['seconds']:.3f} |"
        )
    lines += ["", "Energy distance at step 10 of each learner (quality-*.json, same tasks):", ""]
    lines += [f"- {n}: {v:.4f}" for n, v in out["flows_energy_step10"].items()]
    (OUT / "em.md").write_text("\n".join([markdown_header(), *lines]) + "\n")
    print("\n".join(lines))


def cost(args) -> None:
    """Adapt to N context points and draw samples: explicit against implicit, side by side."""
    learners = {n: load(n) for n in ("gmm-2d", "gmm-2d-explicit", "gmm-2d-parametric")}
    prior = variant_prior(learners["gmm-2d"].config.task, "id")
    lines = [
        "# Sampling cost: adapt to N samples, then draw 64 per task (4 tasks, one thread)",
        "",
        f"`python benchmarks/generative.py cost`: median of {args.repeats} rounds, the learners "
        "alternating within each round; ratio = implicit / explicit.",
        "",
        "| N | " + " | ".join(f"{n} (s)" for n in learners) + " | implicit / explicit |",
        "|---|" + "---|" * (len(learners) + 1),
    ]
    out = {}
    for N in (320, 10240):
        g = torch.Generator().manual_seed(N)
        context = prior.sample(4, N, 1, generator=g).x_train
        times = {n: [] for n in learners}
        for _ in range(args.repeats):
            for n, learner in learners.items():
                clock = time.perf_counter()
                iai.sample_steps(
                    learner,
                    context,
                    64,
                    batch_size=B,
                    steps=[-(-N // B)],
                    generator=torch.Generator().manual_seed(0),
                )
                times[n].append(time.perf_counter() - clock)
        med = {n: statistics.median(v) for n, v in times.items()}
        out[N] = med
        ratio = med["gmm-2d"] / med["gmm-2d-explicit"]
        lines.append(
            f"| {N} | " + " | ".join(f"{v:.2f}" for v in med.values()) + f" | {ratio:.1f} |"
        )
    (OUT / "cost.json").write_text(json.dumps(with_command(out), indent=1))
    (OUT / "cost.md").write_text("\n".join([markdown_header(), *lines]) + "\n")
    print("\n".join(lines))


def letters(args) -> None:
    """The letter classifier on clouds of 128 samples after steps 1 and 10 (the metrics'
    clouds are smaller: the classifier is trained on clouds of 100 and 500 points)."""
    clf, path = letter_classifier.fit(), OUT / "letters.json"
    out = without_command(json.loads(path.read_text())) if args.learners else {}
    names = args.learners or [n for n in LEARNERS if n.startswith("letters")]
    for name in names:  # named learners are measured again, the others' results kept
        learner = load(name)
        runs = {name: learner}
        if learner.cfg.kind == "flow" and learner.cfg.floor:  # what the tokens add to the floor
            runs[f"{name}: floor alone"] = floor_alone(learner)
        for variant in LEARNERS[name]:
            data = data_for(learner, variant, args.tasks, 128, seed=hash_seed(name, variant))
            for label, run in runs.items():
                q = sample_quality(run, data, LETTER_STEPS, batch_size=B, nll_steps=[])
                out.setdefault(label, {})[variant] = {"recognized": recognized(clf, q, data)}
                print(label, variant, out[label][variant], file=sys.stderr, flush=True)
    path.write_text(json.dumps(with_command(out), indent=1))
    (OUT / "letters.md").write_text(markdown_header() + "\n" + letters_table(out))
    print(letters_table(out))


LETTER_STEPS = [1, 10]


def recognized(clf, q, data) -> dict:
    """The share of generated clouds after each step that the classifier reads as the task's
    letter (mean and s.e. over tasks), and its share on the true clouds of the same tasks."""
    right = [letter_classifier.recognize(clf, c, data.params["letter"]).float() for c in q.samples]
    true = letter_classifier.recognize(clf, data.truth, data.params["letter"]).float()
    return {
        "steps": q.steps,
        "mean": [r.mean().item() for r in right],
        "se": [(r.std() / r.numel() ** 0.5).item() for r in right],
        "true_clouds": true.mean().item(),
    }


def letters_table(results: dict) -> str:
    lines = [
        "# Generated letters a classifier trained on true clouds recognizes",
        "",
        "`python benchmarks/generative.py letters`: the share of generated clouds (128 samples "
        "each) that the classifier of "
        "benchmarks/letter_classifier.py (trained on true clouds of all 26 letters, both fonts) "
        "reads as the task's letter; mean ± s.e. over tasks; 'true': its share on fresh true "
        "clouds of the same tasks.",
        "",
    ]
    header = False
    for name, variants in results.items():
        for variant, r in variants.items():
            if "recognized" not in r:
                continue
            rec = r["recognized"]
            if not header:
                lines.append(
                    "| learner | letters | "
                    + " | ".join(f"step {k}" for k in rec["steps"])
                    + " | true |"
                )
                lines.append("|---|---|" + "---|" * (len(rec["steps"]) + 1))
                header = True
            cells = [
                f"{100 * m:.1f} ± {100 * s:.1f} %"
                for m, s in zip(rec["mean"], rec["se"], strict=True)
            ]
            lines.append(
                f"| {name} | {variant} | "
                + " | ".join(cells)
                + f" | {100 * rec['true_clouds']:.1f} % |"
            )
    return "\n".join(lines) + "\n"


def figures(args) -> None:
    """docs/generative-samples.png and docs/generative-metrics.png."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    _samples_figure(plt)
    _metrics_figure(plt)


def _samples_figure(plt) -> None:
    # samples: truth, step 1, step 10 for four mixtures and four letters
    rows = []
    for name, seed in (("gmm-2d", 7), ("letters", 8)):
        learner = load(name)
        prior = variant_prior(learner.config.task, "id")
        g = torch.Generator().manual_seed(seed)
        tasks = prior.sample(4, K * B, 1, generator=g)
        truth = prior.points(tasks.truth, 1000, generator=g)
        s = iai.sample_steps(
            learner,
            tasks.x_train,
            1000,
            batch_size=B,
            steps=[1, K],
            generator=torch.Generator().manual_seed(0),
        )
        rows += [(name, truth[i], s[0, i], s[1, i]) for i in range(4)]
    # one row per (family, what), one column per task; each task's frame fits its truth
    fig, axes = plt.subplots(6, 4, figsize=(8, 12))
    for i, (name, *clouds) in enumerate(rows):
        family, col = i // 4, i % 4
        lo, hi = clouds[0].min(0).values, clouds[0].max(0).values
        mid, half = (lo + hi) / 2, (hi - lo).max() / 2 + 0.5
        for j, (cloud, what) in enumerate(zip(clouds, ("truth", "step 1", "step 10"), strict=True)):
            ax = axes[3 * family + j, col]
            ax.scatter(cloud[:, 0], cloud[:, 1], s=1, alpha=0.5)
            ax.set(xticks=[], yticks=[], aspect="equal")
            ax.set(xlim=(mid[0] - half, mid[0] + half), ylim=(mid[1] - half, mid[1] + half))
            if col == 0:
                ax.set_ylabel(f"{name}: {what}", fontsize=9)
    fig.tight_layout()
    fig.savefig("docs/generative-samples.png", dpi=90)


def _metrics_figure(plt) -> None:
    # energy distance and W2 against step, ± two standard errors: colour per learner, line
    # style per distribution (energy's unbiased estimate dips below 0 near the truth, hence symlog)
    results = read_quality(OUT)
    styles = {"id": "-", "many_components": "--", "wide_prior": ":"}
    styles |= {"held_out_letters": "--", "serif": ":"}
    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    for row, metric in enumerate(("energy", "w2")):
        for ax, family in zip(axes[row], ("gmm", "letters"), strict=True):
            names = [n for n in results if n.startswith(family)]
            for c, name in enumerate(names):
                for variant, r in results[name].items():
                    curve = r[metric]
                    ax.errorbar(
                        curve["steps"][1:],
                        curve["mean"][1:],
                        yerr=[2 * s for s in curve["se"][1:]],
                        color=f"C{c}",
                        ls=styles[variant],
                        marker="o",
                        ms=3,
                        capsize=2,
                        label=f"{name}, {variant}",
                    )
            ax.set(xscale="log", xlabel="step k (mini-batches of 32 read)", title=family)
            ax.set_ylabel(
                "energy distance to the truth" if metric == "energy" else "W2 to the truth"
            )
            if metric == "energy":
                ax.set_yscale("symlog", linthresh=0.01)
            ax.axvline(K, color="grey", lw=0.5)
            ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig("docs/generative-metrics.png", dpi=90)


def main() -> None:
    global ROOT, OUT
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("what", choices=["quality", "em", "cost", "letters", "figures"])
    parser.add_argument("learners", nargs="*", help="quality, letters: which checkpoints")
    parser.add_argument("--tasks", type=int, default=200)
    # 64 samples per task (and as many true ones): the implicit flow re-reads its context at
    # each of the ODE's 32 evaluations, so steps 0 … 40 cost it 2,496 passes over the tasks
    # per distribution (the seconds each took are in quality-<name>.json)
    parser.add_argument("--samples", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--root", default="checkpoints", help="where the checkpoints are")
    parser.add_argument("--out", default="benchmarks/results/generative")
    args = parser.parse_args()
    ROOT, OUT = Path(args.root), Path(args.out)
    torch.set_num_threads(1)
    OUT.mkdir(parents=True, exist_ok=True)
    run = {"quality": quality, "em": em, "cost": cost, "letters": letters, "figures": figures}
    run[args.what](args)


if __name__ == "__main__":
    main()
