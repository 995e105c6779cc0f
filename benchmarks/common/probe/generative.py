"""`iai.sample_steps` and `iai.log_prob_steps` probed: things that are not learners, sample
counts up to 2²⁰⁰, odd steps, batch sizes and generators, and contexts of every shape, dtype
and magnitude (hypothesis draws, derandomized, beside the targeted cases)."""

from functools import partial
from pathlib import Path

import numpy as np
import torch
from hypothesis import given
from hypothesis import strategies as st

import iai
from common.probe.harness import Case, generated

CHECKPOINTS = ("gmm-2d", "gmm-2d-explicit", "gmm-2d-parametric", "gmm-2d-tokens-learned", "letters")
SURFACE = "generative"


def _samples_ok(shape):
    def check(out):
        if not isinstance(out, torch.Tensor) or tuple(out.shape) != shape:
            return f"shape {tuple(getattr(out, 'shape', ()))}, expected {shape}"
        return None if torch.isfinite(out).all() else "non-finite values"

    return check


def targeted(root: Path) -> list[Case]:
    gmm = iai.load(root / "checkpoints" / "gmm-2d")
    x = torch.randn(2, 16, 2, generator=torch.Generator().manual_seed(0))
    cases = []
    for thing in (str(root / "checkpoints" / "gmm-2d"), root / "checkpoints" / "gmm-2d", None, 7):
        cases += [
            Case(
                SURFACE, f"sample_steps({thing!r:.30})", lambda t=thing: iai.sample_steps(t, x, 4)
            ),
            Case(
                SURFACE,
                f"log_prob_steps({thing!r:.30})",
                lambda t=thing: iai.log_prob_steps(t, x, x),
            ),
        ]
    for n in (10**6, 10**9, 10**12, 2**63, 2**64, 2**200, -(2**63), 0, -1):
        cases.append(
            Case(
                SURFACE,
                f"n_samples={n}",
                lambda n=n: iai.sample_steps(gmm, x, n),
                expect_error=True,  # below 1, or beyond the bound on samples a call draws
            )
        )
    for n in (1.5, float("nan"), float("inf"), "5", None, True, np.int64(3), torch.tensor(3)):
        good = isinstance(n, np.integer | torch.Tensor)
        check = _samples_ok((2, 2, 3, 2)) if good else None
        cases.append(
            Case(
                SURFACE,
                f"n_samples={n!r}",
                lambda n=n: iai.sample_steps(gmm, x, n, steps=[0, 1]),
                check=check,
                expect_error=not good,
            )
        )
    K = -(-x.shape[1] // gmm.trained_batch_size)
    for steps, expect in (
        *(([], True), ([-1], True), ([K + 1], True), ([1.0], True), (["1"], True)),
        *(([2**64], True), ("12", True), (3, True), ([True], None)),  # a bool may read as 1
        *((None, False), ([np.int64(1)], False), ([K, 0, K], False)),
    ):
        shape = (K + 1 if steps is None else len(steps) if expect is False else 1, 2, 5, 2)
        cases.append(
            Case(
                SURFACE,
                f"steps={steps!r}",
                lambda s=steps: iai.sample_steps(gmm, x, 5, steps=s),
                check=_samples_ok(shape),
                expect_error=expect,
            )
        )
    for gen in (torch.Generator(), 0, "cpu", torch.Generator(device="meta") if False else object()):
        good = isinstance(gen, torch.Generator)
        cases.append(
            Case(
                SURFACE,
                f"generator={type(gen).__name__}",
                lambda g=gen: iai.sample_steps(gmm, x, 3, steps=[1], generator=g),
                check=_samples_ok((1, 2, 3, 2)),
                expect_error=not good,
            )
        )
    for bs in (0, -1, 1, 10**18, 2**64, 1.5, "8", True):
        good = isinstance(bs, int) and not isinstance(bs, bool) and 1 <= bs
        cases.append(
            Case(
                SURFACE,
                f"batch_size={bs!r}",
                lambda b=bs: iai.log_prob_steps(gmm, x, x, batch_size=b, steps=[1]),
                check=_samples_ok((1, 2, 16)),
                expect_error=not good,
            )
        )
    return cases


# in the domain more often than not (repeats weight the choices), so both sides are probed
CONTEXT = st.tuples(
    st.integers(0, 3),  # tasks
    st.integers(0, 40),  # samples
    st.sampled_from([1, 2, 2, 2, 2, 3]),  # dimensions (the learners take 2)
    st.sampled_from(["float32"] * 4 + ["float64", "float16", "int64", "bool", "complex64"]),
    st.sampled_from(["normal"] * 6 + ["nan", "inf", "1e30", "1e300", "zeros", "1e-300"]),
)


def _context(spec, seed: int) -> torch.Tensor:
    T, N, D, dtype, values = spec
    x = torch.randn(T, N, D, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    if values in ("nan", "inf") and x.numel():
        x.view(-1)[0] = float(values)
    elif values.startswith("1e"):
        x = x * float(values)
    elif values == "zeros":
        x = torch.zeros_like(x)
    if dtype == "complex64":
        return x.to(torch.complex64)
    return x.to(getattr(torch, dtype))


def drawn(root: Path, examples: int) -> list[Case]:
    learners = {name: iai.load(root / "checkpoints" / name) for name in CHECKPOINTS}
    cases: list[Case] = []

    @generated(examples)
    @given(
        st.sampled_from(CHECKPOINTS),
        CONTEXT,
        CONTEXT,
        st.integers(1, 12),
        st.one_of(
            st.none(),
            st.lists(st.integers(0, 2), min_size=1, max_size=3),
            st.lists(st.integers(-1, 6), max_size=3),
        ),
        st.booleans(),
        st.sampled_from([True, True, True, False]),
    )
    def one(name, spec, eval_spec, n, steps, sampling, same_tasks):
        if same_tasks:  # x_eval mostly for the context's tasks
            eval_spec = (spec[0], *eval_spec[1:])
        learner, x = learners[name], _context(spec, len(cases))
        T, N, D, dtype, values = spec
        K = -(-N // learner.trained_batch_size)
        # outside the domain a call must refuse; inside it must answer well (float16 and int64
        # are read as floats, as every user tensor is)
        fine = T and N and D == 2 and dtype in ("float32", "float64", "float16", "int64")
        fine = (
            fine
            and values in ("normal", "zeros", "1e-300", "1e30")
            and (steps is None or (steps and all(0 <= k <= K for k in steps)))
        )
        # must answer inside the domain; may refuse (non-finite outputs) at 1e30
        expect = None if fine and values == "1e30" else not fine
        S = K + 1 if steps is None else len(steps or [])
        if sampling:
            call = partial(
                iai.sample_steps, learner, x, n, steps=steps, generator=torch.Generator()
            )
            check, label = _samples_ok((S, T, n, 2)), "sample_steps"
        else:
            x_eval = _context(eval_spec, len(cases) + 1)
            ok_eval = eval_spec[0] == T and eval_spec[1] and eval_spec[2] == 2
            ok_eval = ok_eval and eval_spec[3] != "bool" and eval_spec[3] != "complex64"
            ok_eval = ok_eval and eval_spec[4] in ("normal", "zeros", "1e-300", "1e30")
            if eval_spec[4] == "1e30" and expect is False:
                expect = None
            expect = True if not ok_eval else expect
            call = partial(iai.log_prob_steps, learner, x, x_eval, steps=steps)
            check, label = _samples_ok((S, T, eval_spec[1])), "log_prob_steps"
        cases.append(
            Case(
                SURFACE,
                f"{label} {name} {spec} n={n} steps={steps}",
                call,
                check=check,
                expect_error=expect,
            )
        )

    one()
    return cases
