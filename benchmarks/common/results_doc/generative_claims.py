"""Issue 11's claims and tables from benchmarks/generative.py's results."""

from common import generative
from common.command import strip_header
from common.generative import Quality
from common.results_doc.cells import RESULTS, verdict, verdict_all
from iai.evaluation import sampling
from iai.evaluation.results import Curve

GENERATIVE = RESULTS / "generative"
IAI_GENERATIVE = (
    "gmm-2d",
    "gmm-2d-explicit",
    "gmm-2d-parametric",
    "gmm-2d-tokens-learned",
    "gmm-2d-tokens-nofloor",
    "gmm-2d-tokens",
    "letters",
    "letters-explicit",
    "letters-tokens",
    "letters-tokens-nofloor",
)


def _at(curve: Curve, k: int) -> tuple[float, float]:
    """(mean, s.e.) after step k."""
    i = curve.at().index(k)
    return curve.mean[i], curve.se[i]


def _below(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """a lower than b by more than two standard errors of the difference (taken as
    independent: the tasks are the same, so this is the stricter test)."""
    return b[0] - a[0] > 2 * (a[1] ** 2 + b[1] ** 2) ** 0.5


def _quality_claims(quality: dict[str, dict[str, Quality]]) -> list[tuple[str, str, str]]:
    """Sample quality falls from step 1 to 10 and holds to step 40."""
    out = []
    falls, stays, missed, rose = 0, 0, [], []
    triples = [
        (name, variant, metric, curve)
        for name in IAI_GENERATIVE
        for variant, r in quality.get(name, {}).items()
        for metric, curve in r.curves.items()
    ]
    for name, variant, metric, curve in triples:
        if _below(_at(curve, generative.K), _at(curve, 1)):
            falls += 1
        else:
            missed.append(f"{name}/{variant}/{metric}")
        if 40 in curve.at():
            if not _below(_at(curve, generative.K), _at(curve, 40)):
                stays += 1
            else:
                rose.append(f"{name}/{variant}/{metric}")
    n, n40 = len(triples), sum(40 in c.at() for *_, c in triples)
    out.append(
        (
            "Generative IAI (paper Fig. 2): sample quality improves from step 1 to 10 in every "
            "family and regime, in and out of distribution, and does not worsen by step 40",
            f"{falls} of {n} (learner, distribution, metric) triples lower at step 10 than at "
            f"step 1 by more than two s.e.; not: {', '.join(missed) or 'none'}. At step 40, "
            f"{stays} of {n40} not higher than at step 10 by more than two s.e.; higher: "
            f"{', '.join(rose) or 'none'} (`python benchmarks/generative.py quality`)",
            verdict_all(falls + stays, n + n40),
        )
    )
    return out


def _one_step_claims(quality: dict[str, dict[str, Quality]]) -> list[tuple[str, str, str]]:
    """The implicit flow after 10 steps against the one-step flow."""
    out = []
    one, iai_ = quality.get("gmm-2d-onestep"), quality.get("gmm-2d")
    if not (one and iai_):
        return out
    rows, wins, losses = [], 0, 0
    for variant in iai_:
        for metric in ("energy", "excess_nll"):
            k = generative.K
            a, b = _at(iai_[variant].curves[metric], k), _at(one[variant].curves[metric], k)
            wins, losses = wins + _below(a, b), losses + _below(b, a)
            rows.append(f"{variant} {metric} {a[0]:.4f} vs {b[0]:.4f}")
    out.append(
        (
            "Implicit generative IAI after 10 steps of 32 samples beats the one-step "
            "model reading all 320 at once",
            f"step 10, IAI vs one-step: {'; '.join(rows)}; IAI lower by more than two "
            f"s.e. on {wins} of {len(rows)}, higher by as much on {losses}",
            verdict(wins, len(rows)),
        )
    )
    return out


def _letters_claims() -> list[tuple[str, str, str]]:
    """Generated letters a classifier trained on true clouds recognizes."""
    out = []
    letters = generative.letters(GENERATIVE).get("letters")
    if not letters:
        return out
    rec = {v: r.curve for v, r in letters.items()}
    at10 = {v: _at(r, generative.K)[0] for v, r in rec.items()}
    at1 = {v: _at(r, 1)[0] for v, r in rec.items()}
    ok = at10["id"] >= 0.9 and at10.get("held_out_letters", 0) >= 0.7
    ok &= all(at1[v] < at10[v] for v in rec)
    out.append(
        (
            "Letters: a classifier trained on true clouds recognizes ≥ 90 % of "
            "generated A–T clouds and ≥ 70 % of held-out U–Z at step 10, fewer at step 1",
            "; ".join(
                f"{v}: step 1 {100 * at1[v]:.1f} %, step 10 {100 * at10[v]:.1f} %" for v in rec
            )
            + " (implicit, `letters`; letters.md has the explicit learner beside it)",
            "yes" if ok else "no",
        )
    )
    return out


def _em_claims(em: generative.EM) -> list[tuple[str, str, str]]:
    """The mixture learner and the flows beside EM."""
    out = []
    m = em.methods
    iai_m, bic = m["IAI parametric (10 steps)"], m["EM, K by BIC (1 … 8)"]
    ok = iai_m.nll <= bic.nll and iai_m.seconds < bic.seconds
    out.append(
        (
            "Gaussian mixtures, 320 points: the parametric learner's held-out NLL is at or "
            "below EM's with the BIC-chosen number of components, in less wall time",
            f"NLL {iai_m.nll:.4f} vs {bic.nll:.4f} ({iai_m.nll - bic.nll:+.4f} nats) "
            f"(true K: {m['EM, true K'].nll:.4f}; the truth {em.true_nll:.4f}); "
            f"{iai_m.seconds:.2f} s vs {bic.seconds:.2f} s for {em.tasks} tasks, ratio "
            f"{bic.seconds / iai_m.seconds:.0f}× (`python benchmarks/generative.py em`)",
            "yes" if ok else "no",
        )
    )
    flows = {n: v for n, v in em.flows_energy_step10.items() if n in ("gmm-2d", "gmm-2d-explicit")}
    ratios = {n: v / bic.energy[0] for n, v in flows.items()}
    out.append(
        (
            "The flows' energy distance at step 10 is within 1.5× that of samples from the "
            "EM (BIC) fit on the same 320 points",
            "; ".join(f"{n}: {flows[n]:.4f} ({r:.2f}×)" for n, r in ratios.items())
            + f"; EM (BIC) {bic.energy[0]:.4f}",
            verdict(sum(r <= 1.5 for r in ratios.values()), len(ratios)),
        )
    )
    return out


def _cost_claims(cost: dict[int, dict[str, float]]) -> list[tuple[str, str, str]]:
    """Sampling time, the implicit flow against the explicit one."""
    out = []
    text = "; ".join(
        f"N = {n}: implicit {t['gmm-2d']:.2f} s, explicit {t['gmm-2d-explicit']:.2f} s "
        f"({t['gmm-2d'] / t['gmm-2d-explicit']:.1f}×)"
        for n, t in cost.items()
    )
    out.append(
        (
            "Sampling cost: the implicit flow, which re-reads its context at every evaluation "
            "of the field, against the explicit one, whose cost after adapting does not "
            "depend on the context size",
            text + " (`python benchmarks/generative.py cost`: adapting to the N samples "
            "and drawing 64 for 4 tasks, the explicit flow's time being mostly its "
            "adaptation at N = 10,240)",
            "measured",
        )
    )
    return out


def generative_claims() -> list[tuple[str, str, str]]:
    """Issue 11's claims from benchmarks/generative.py's results."""
    quality, em = generative.quality(GENERATIVE), generative.em(GENERATIVE)
    cost = generative.cost(GENERATIVE)
    out = []
    if quality:
        out += _quality_claims(quality) + _one_step_claims(quality) + _letters_claims()
    if em:
        out += _em_claims(em)
    if cost:
        out += _cost_claims(cost)
    return out


def generative_section() -> list[str]:
    """Issue 11's tables: sample quality per step for every generative learner, the letters
    a classifier recognizes, EM and the sampling cost, as benchmarks/generative.py wrote them."""
    quality = generative.quality(GENERATIVE)
    if not quality:
        return []
    lines = [
        "## Generative IAI: samples refined mini-batch by mini-batch",
        "",
        "2-D Gaussian mixtures (1–5 components; out of distribution: 6–8 components, "
        "`many_components`, or means twice as spread, `wide_prior`) and letters (A–T in DejaVu "
        "Sans Bold; out: held-out U–Z, `held_out_letters`, and DejaVu Serif Bold, `serif`). "
        "Each learner reads the same context points of 200 fresh tasks per distribution, 32 per "
        "step (trained on 10 steps; step 40 is four times that), and its 64 samples per task "
        "are compared with 64 fresh samples of the true distribution; mean ± s.e. over tasks, "
        "lower is better (`python benchmarks/generative.py quality`). The metrics "
        "(`iai.evaluation.sample_metrics`): **energy**, the energy distance "
        "2 E‖X−Y‖ − E‖X−X'‖ − E‖Y−Y'‖ (unbiased within-set terms, so it can dip just below 0 "
        "when the distributions agree); **mmd**, squared MMD with the sum of Gaussian kernels "
        "at bandwidths 0.1, 0.3 and 1 (unbiased); **w2**, the exact 2-Wasserstein distance "
        "between the two sample sets (POT); **excess_nll**, the mean over fresh true samples of "
        "log p_true − log p_learner in nats (a KL divergence estimate; mixtures only, through "
        "the ODE for flows). The learners: **gmm-2d** / **letters** implicit flow matching (the "
        "paper's), **-explicit** a latent z and a learned field, **gmm-2d-parametric** a "
        "mixture of 8 Gaussians refined by h_φ, **gmm-2d-onestep** the implicit flow trained "
        "to read all 320 points in one step (at step k it reads the first 32·k at once).",
        "",
    ]
    for name, variants in quality.items():
        rows = {
            v: {m: c for m, c in r.curves.items() if m in METRIC_ROWS} for v, r in variants.items()
        }
        lines += [f"### {name}", "", sampling.quality_table(rows).replace("### ", "#### "), ""]
    for extra in ("letters.md", "em.md", "cost.md"):
        path = GENERATIVE / extra
        if path.exists():
            text = strip_header(path.read_text()).replace("# ", "### ", 1)
            lines += [text, ""]
    return lines


METRIC_ROWS = ("energy", "mmd", "w2", "excess_nll")
