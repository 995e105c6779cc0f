"""Arguments of the public calls read as untrusted: anything but a loaded learner, sample counts
beyond what one call can hold, and user priors whose later draws break the promise of their
first (issue 24, findings 9, 11 and 12). Each is an iai error that names the problem, never a
foreign exception from deep inside."""

import math
from pathlib import Path

import pytest
import torch
from conftest import DEMO, TINY
from hypothesis import given
from hypothesis import strategies as st

import iai
from iai.generative import MAX_SAMPLES
from iai.tasks import Tasks

ROOT = Path(__file__).resolve().parents[1]
GMM = ROOT / "checkpoints" / "gmm-2d"
LINREG = ROOT / "checkpoints" / "linreg-d8"


@pytest.fixture(scope="module")
def gmm():
    return iai.load(GMM)


@pytest.mark.parametrize("thing", [str(GMM), GMM, None, 3, object()])
def test_generative_calls_refuse_what_is_not_a_learner(thing):
    x = torch.randn(1, 8, 2)
    for call in (
        lambda: iai.sample_steps(thing, x, 5),
        lambda: iai.log_prob_steps(thing, x, x),
    ):
        with pytest.raises(iai.InvalidInput, match="takes a learner .* got") as e:
            call()
        if isinstance(thing, str | Path):  # a path: the message says how to load it
            assert "iai.load(" in str(e.value)


@pytest.mark.parametrize("thing", [str(LINREG), LINREG, None, 1.5])
def test_predictive_calls_refuse_what_is_not_a_learner(thing):
    x, y = torch.randn(1, 8, 8), torch.randn(1, 8)
    for call in (
        lambda: iai.adapt(thing, x, y),
        lambda: iai.predict_steps(thing, x, y, x),
        lambda: iai.stream(thing, [(x, y)], x),
        lambda: iai.predict(thing, None, x),
    ):
        with pytest.raises(iai.InvalidInput, match="takes a learner"):
            call()


@pytest.mark.parametrize("n", [MAX_SAMPLES + 1, 10**9, 10**12, 2**63, 2**200])
def test_sample_counts_beyond_the_bound_are_named(gmm, n):
    with pytest.raises(iai.InvalidInput, match=f"beyond the {MAX_SAMPLES:,}"):
        iai.sample_steps(gmm, torch.randn(1, 8, 2), n)


def test_the_bound_counts_samples_over_all_tasks(gmm):
    """Tasks × n_samples is what the flow holds at once: many tasks reach the bound sooner."""
    n = MAX_SAMPLES // 4 + 1
    with pytest.raises(iai.InvalidInput, match="4 tasks"):
        iai.sample_steps(gmm, torch.randn(4, 8, 2), n)


# counts below 1, small enough to draw quickly, beyond the bound, and not integers at all
COUNTS = (
    st.integers(-(2**70), 0)
    | st.integers(1, 64)
    | st.integers(MAX_SAMPLES + 1, 2**70)
    | st.floats()
    | st.booleans()
)


@given(COUNTS)
def test_any_sample_count_is_samples_or_a_named_error(gmm, n):
    try:
        out = iai.sample_steps(gmm, torch.randn(1, 4, 2), n, steps=[0])
    except iai.InvalidInput:
        return
    assert out.shape == (1, 1, n, 2) and torch.isfinite(out).all()


CONTEXTS = st.tuples(
    st.integers(0, 3),  # tasks
    st.integers(0, 20),  # samples
    st.sampled_from([1, 2, 2, 3]),  # coordinates: the learner takes 2
    st.sampled_from([torch.float32, torch.float64, torch.float16, torch.int64, torch.bool]),
    st.sampled_from([1.0, 1.0, 0.0, 1e-300, 1e30, 1e300, float("nan"), float("inf")]),
)


def _context(spec) -> torch.Tensor:
    T, N, D, dtype, scale = spec
    x = torch.randn(T, N, D, generator=torch.Generator().manual_seed(N), dtype=torch.float64)
    if math.isfinite(scale):
        x = x * scale
    elif x.numel():
        x.view(-1)[0] = scale
    return x.to(dtype)


@pytest.mark.filterwarnings("ignore::iai.InputWarning")  # odd contexts are the point
@given(
    CONTEXTS,
    CONTEXTS,
    st.integers(1, 6),
    st.none() | st.lists(st.integers(-1, 4), max_size=3),
    st.booleans(),
)
def test_generative_calls_answer_finitely_or_refuse_by_name(context, at, n, steps, sampling):
    """Whatever the context, the points, the count and the steps: samples or log densities of
    the promised shape, all finite, or InvalidInput."""
    learner = iai.load(GMM)
    x, x_eval = _context(context), _context(at)
    try:
        if sampling:
            out = iai.sample_steps(learner, x, n, steps=steps, generator=torch.Generator())
        else:
            out = iai.log_prob_steps(learner, x, x_eval, steps=steps)
    except iai.InvalidInput:
        return
    K = -(-x.shape[1] // learner.trained_batch_size)
    S = K + 1 if steps is None else len(steps)
    shape = (S, x.shape[0], n, 2) if sampling else (S, x.shape[0], x_eval.shape[1])
    assert out.shape == shape and torch.isfinite(out).all()
    assert x.dtype != torch.bool and (sampling or x_eval.dtype != torch.bool)


class Drifting:
    """A regression prior whose draws go wrong after the first `good` calls, in one of the
    ways a user's code can: another feature count, float64, targets with an extra axis or one
    target fewer, no targets, no Tasks at all."""

    kind, dim, out_dim = "regression", 3, 1

    def __init__(self, fault: str, good: int = 2) -> None:
        self.fault, self.good, self.calls = fault, good, 0

    def sample(self, n_tasks, n_points, n_query, *, generator):
        self.calls += 1
        n = n_points + n_query
        x = torch.randn(n_tasks, n, self.dim, generator=generator)
        y = x.sum(-1) + 0.1 * torch.randn(n_tasks, n, generator=generator)
        if self.calls <= self.good:
            return Tasks(x[:, :n_points], y[:, :n_points], x[:, n_points:], y[:, n_points:])
        match self.fault:
            case "width":
                x = torch.randn(n_tasks, n, self.dim + 1, generator=generator)
            case "float64":
                x, y = x.double(), y.double()
            case "axis":
                y = y[..., None]
            case "short":
                return Tasks(x[:, :n_points], y[:, 1:n_points], x[:, n_points:], y[:, n_points:])
            case "none":
                return None
            case "no targets":
                return Tasks(x[:, :n_points], None, x[:, n_points:], None)
        return Tasks(x[:, :n_points], y[:, :n_points], x[:, n_points:], y[:, n_points:])


@pytest.mark.parametrize("fault", ["width", "axis", "short", "none", "no targets"])
def test_a_later_bad_draw_of_a_user_prior_is_named(tmp_path, fault):
    prior = Drifting(fault)
    with pytest.raises(iai.InvalidInput, match=r"prior\.sample\(.*at training iteration \d+"):
        iai.train(DEMO, tmp_path / "run", prior=prior, overrides=TINY, progress=False)
    assert prior.calls > 2  # the first draws were fine: it is a later one that is named


def test_a_float64_prior_trains_as_float32(tmp_path):
    """Doubles are read as the default dtype, as every user tensor is, not refused."""
    learner = iai.train(
        DEMO, tmp_path / "run", prior=Drifting("float64", good=0), overrides=TINY, progress=False
    )
    assert all(p.dtype == torch.float32 for p in learner.parameters())


@pytest.mark.parametrize("threads", [10**6, 2**40])
def test_a_thread_count_far_beyond_the_cpus_is_named(tmp_path, threads):
    """A million threads crashed the process (SIGSEGV in OpenMP) before the bound."""
    with pytest.raises(iai.InvalidInput, match="per CPU this process may run on"):
        iai.train(DEMO, tmp_path / "run", overrides=TINY, progress=False, threads=threads)
