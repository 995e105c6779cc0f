"""The table prior (iai.tasks.tabular) and the tabular learner (iai.learners.tabular): samples
that are finite, seeded and standardized as iai.sklearn standardizes; and the learner, with its
network's output at zero, against exact ridge regression and Bayesian linear regression
computed here in float64."""

from pathlib import Path

import pytest
import torch

import iai
from iai.errors import InvalidConfig, InvalidInput
from iai.learners.tabular import DampedSolve, TabularConfig, TabularLearner
from iai.tasks import TaskConfig
from iai.tasks.objective import Regression
from iai.tasks.tabular import CLIP, Tabular, scale_of, standardize

KINDS = ("regression", "classification")


def prior(kind: str, dim: int = 20, classes: int = 5) -> Tabular:
    sizes = {"classes": classes} if kind == "classification" else {}
    return Tabular(TaskConfig(name=f"tabular_{kind}", dim=dim, **sizes))


# --- the prior -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_samples_are_finite_and_seeded(kind):
    def draw(seed: int):
        return prior(kind).sample(8, 40, 10, generator=torch.Generator().manual_seed(seed))

    a, b, c = draw(0), draw(0), draw(1)
    for name in ("x_train", "y_train", "x_query", "y_query"):
        assert torch.equal(getattr(a, name), getattr(b, name)), name
        assert torch.isfinite(getattr(a, name).float()).all(), name
    assert a.x_train.shape[:2] == (8, 40) and a.x_query.shape[:2] == (8, 10)
    assert a.x_train.shape != c.x_train.shape or not torch.equal(a.x_train, c.x_train)


def test_feature_count_varies_within_one_to_dim():
    """d is drawn per call, log-uniform in 1 … dim (shared by the call's tasks)."""
    g = torch.Generator().manual_seed(0)
    p = prior("regression", dim=20)
    counts = [p.sample(2, 4, 1, generator=g).x_train.shape[-1] for _ in range(40)]
    assert min(counts) >= 1 and max(counts) <= 20
    assert len(set(counts)) >= 8  # 15 distinct values in these 40 calls
    fixed = Tabular(p.cfg, features=7)  # a fixed width, for measurements
    assert {fixed.sample(2, 4, 1, generator=g).x_train.shape[-1] for _ in range(5)} == {7}


def test_classification_labels_lie_in_range_and_most_tasks_show_two_classes():
    """Over 320 tasks of 32 rows: labels in 0 … classes - 1, and at least two classes in
    99.7 % of tasks (class imbalance and sharp labels make an occasional one-class task)."""
    g = torch.Generator().manual_seed(0)
    p = prior("classification", dim=10, classes=4)
    two = []
    for _ in range(20):
        tasks = p.sample(16, 32, 8, generator=g)
        for y in (tasks.y_train, tasks.y_query):
            assert y.dtype == torch.int64 and y.min() >= 0 and y.max() <= 3
        two += [len(torch.unique(y)) >= 2 for y in tasks.y_train]
    assert sum(two) / len(two) > 0.95


@pytest.mark.parametrize("kind", KINDS)
def test_train_features_are_standardized_per_task_column(kind):
    """Each task's training columns have mean 0 and (unbiased) std 1, constant ones are 0.
    Clipping at ± 10 cannot touch 64 rows: a standardized value is at most (n - 1) / √n ≈ 7.9.
    Regression targets are standardized by the training rows too."""
    g = torch.Generator().manual_seed(0)
    for _ in range(10):
        tasks = prior(kind).sample(8, 64, 16, generator=g)
        x = tasks.x_train.double()
        mean, std = x.mean(1), x.std(1)
        constant = std < 1e-6
        assert torch.allclose(mean, torch.zeros_like(mean), atol=1e-5)
        assert torch.allclose(std[~constant], torch.ones_like(std[~constant]), atol=1e-5)
        assert (x.transpose(1, 2)[constant] == 0).all()
        if kind == "regression":
            y = tasks.y_train.double()
            assert torch.allclose(y.mean(1), torch.zeros(8, dtype=y.dtype), atol=1e-5)
            assert torch.allclose(y.std(1), torch.ones(8, dtype=y.dtype), atol=1e-5)


def test_standardize_clips_fills_missing_and_keeps_constant_columns():
    x = torch.tensor([[1e6, float("nan"), 3.0], [-1e6, 4.0, 3.0], [2.0, 6.0, 4.0]])
    mean = torch.tensor([0.0, 5.0, 3.0])
    std = torch.tensor([1.0, 2.0, 0.0])  # the third column was constant where it was measured
    z = standardize(x, mean, std)
    expected = torch.tensor([[CLIP, 0.0, 0.0], [-CLIP, -0.5, 0.0], [2.0, 0.5, 1.0]])
    assert torch.equal(z, expected)
    assert torch.equal(scale_of(std), torch.tensor([1.0, 2.0, 1.0]))


# --- the learner ---------------------------------------------------------------------------


def untrained(dim: int = 6) -> TabularLearner:
    """A learner whose network outputs zero (its last layer starts at zero): α = exp(α₀) per
    group and no step correction, in float64."""
    return TabularLearner(TabularConfig(), dim, Regression()).double()


def read(learner: TabularLearner, x: torch.Tensor, y: torch.Tensor, batch: int):
    """The state after reading x (T, n, d), y (T, n) in consecutive batches."""
    state = learner.init(x[:, :1])
    with torch.no_grad():
        for i in range(0, x.shape[1], batch):
            state = learner.step(state, x[:, i : i + batch], y[:, i : i + batch])
    return state


def table(T: int = 2, n: int = 80, d: int = 4, seed: int = 0):
    """Two tasks of 4 features (fewer than the learner's dim 6) with nonlinear targets."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(T, n, d, generator=g, dtype=torch.float64)
    y = torch.sin(2 * x[..., 0]) + x[..., 1] + 0.3 * torch.randn(T, n, generator=g).double()
    return x, y


def ridge(learner: TabularLearner, x: torch.Tensor, d: int):
    """(Φ, A = ΦᵀΦ + diag α): the features and the posterior precision of the rows x."""
    phi = learner.features(x)  # (T, n, P)
    alpha = learner.log_alpha0.detach().exp()[learner.groups(d)].double()
    return phi, phi.transpose(1, 2) @ phi + torch.diag(alpha)


def test_untrained_learner_is_exact_ridge_regression():
    """The docstring's claim: with α fixed the update is recursive least squares, so after 5
    batches θ = (ΦᵀΦ + diag α)⁻¹ Φᵀ y, solved here in one go."""
    learner, (x, y) = untrained(), table()
    state = read(learner, x, y, batch=16)
    phi, A = ridge(learner, x, 4)
    theta = torch.linalg.solve(A, phi.transpose(1, 2) @ y[..., None])[..., 0]  # (T, P)
    assert state.seen == 80 and state.steps == 5
    torch.testing.assert_close(state.theta[:, 0].detach(), theta, rtol=0, atol=1e-9)


def test_noise_and_predictive_std_are_bayesian_linear_regression():
    """The state's noise is the mean of the squared residuals of each batch before it is read,
    divided by their predictive variance factor 1 + φᵀ A⁻¹ φ (A of the rows before), with a
    prior pseudo-observation of 1: (1 + Σ r² / v) / (n + 1). predict_std is then
    √(σ² (1 + φᵀ A⁻¹ φ)) under the final A."""
    learner, (x, y) = untrained(), table()
    B = 16
    state = read(learner, x, y, batch=B)
    phi, _ = ridge(learner, x, 4)
    total = torch.ones(2, dtype=torch.float64)
    for i in range(0, 80, B):
        _, A = ridge(learner, x[:, :i], 4)
        theta = torch.linalg.solve(A, phi[:, :i].transpose(1, 2) @ y[:, :i, None])
        now = phi[:, i : i + B]
        r = y[:, i : i + B] - (now @ theta)[..., 0]
        v = 1 + (now @ torch.linalg.inv(A) * now).sum(-1)
        total += (r.square() / v).sum(1)
    noise = total / 81
    torch.testing.assert_close(state.noise, noise, rtol=1e-10, atol=0)

    x_query = torch.randn(2, 7, 4, generator=torch.Generator().manual_seed(1)).double()
    q, A = learner.features(x_query), ridge(learner, x, 4)[1]
    expected = (state.noise[:, None] * (1 + (q @ torch.linalg.inv(A) * q).sum(-1))).sqrt()
    with torch.no_grad():
        got = learner.predict_std(state, x_query)
    assert got.shape == (2, 7)
    torch.testing.assert_close(got, expected, rtol=1e-10, atol=0)


def test_damped_solve_gradients():
    """The hand-written backward (b̄ = u, λ̄ = -u ⊙ x) against finite differences."""
    g = torch.Generator().manual_seed(0)
    M = torch.randn(2, 3, 5, 5, generator=g, dtype=torch.float64)
    S = M @ M.transpose(-1, -2) / 5  # positive semi-definite, as a Gauss–Newton mean is
    lam = (0.5 + torch.rand(2, 3, 5, generator=g, dtype=torch.float64)).requires_grad_()
    b = torch.randn(2, 3, 5, generator=g, dtype=torch.float64).requires_grad_()
    assert torch.autograd.gradcheck(lambda lam, b: DampedSolve.apply(S, lam, b)[0], (lam, b))


def test_width_is_checked_and_the_public_api_takes_any_width_up_to_the_maximum():
    """The tabular learner is one learner for every width: iai.predict_steps takes tables of
    1 … dim features (the fixed-width learners refuse any other), and refuses dim + 1."""
    with pytest.raises(InvalidConfig, match="features"):
        Tabular(TaskConfig(name="tabular_regression", dim=10), features=11)
    learner = iai.load(Path(iai.__file__).parent / "pretrained" / "tabular-regression")
    g = torch.Generator().manual_seed(0)
    for d in (1, 7, 100):
        tasks = Tabular(TaskConfig(name="tabular_regression", dim=100), features=d).sample(
            2, 64, 16, generator=g
        )
        preds = iai.predict_steps(
            learner, tasks.x_train, tasks.y_train, tasks.x_query, batch_size=32
        )
        assert preds.shape == (3, 2, 16) and torch.isfinite(preds).all()
    with pytest.raises(InvalidInput, match="1 to 100"):
        iai.predict_steps(
            learner, torch.randn(1, 8, 101), torch.randn(1, 8), torch.randn(1, 2, 101)
        )


def test_classification_step_is_a_damped_newton_step_per_class():
    """Two steps of the untrained classifier against torch.func: the mean gradient of the
    objective's own loss, and per-class blocks of the Gauss–Newton matrix from the exact
    Hessian of the loss in the logits."""
    from torch.func import grad, hessian

    from iai.tasks.objective import Classification

    torch.manual_seed(0)
    C, d, B, R = 4, 3, 16, 12
    obj = Classification(C)
    learner = TabularLearner(TabularConfig(features=R), 6, obj).double()
    g = torch.Generator().manual_seed(0)
    batches = [
        (
            torch.randn(1, B, d, generator=g, dtype=torch.float64),
            torch.randint(0, C, (1, B), generator=g),
        )
        for _ in range(2)
    ]
    P = 1 + d + R
    alpha = learner.log_alpha0.exp()[learner.groups(d)].detach()
    theta, S, n = (
        torch.zeros(C, P, dtype=torch.float64),
        torch.zeros(C, P, P, dtype=torch.float64),
        0,
    )
    with torch.no_grad():
        state = learner.init(batches[0][0][:, :1])
    for x, y in batches:
        with torch.no_grad():
            state = learner.step(state, x, y)
        phi = learner.features(x)[0].detach()
        labels = y[0]
        g_ = grad(lambda th, phi=phi, labels=labels: obj.loss(phi @ th.T, labels).mean())(theta)
        H = hessian(lambda o, labels=labels: obj.loss(o, labels).sum())(phi @ theta.T)
        ggn = torch.stack(
            [
                sum(H[b, c, b, c] * torch.outer(phi[b], phi[b]) for b in range(B)) / B
                for c in range(C)
            ]
        )
        S = (n * S + B * ggn) / (n + B)
        n += B
        theta = torch.stack(
            [
                theta[c] + (B / n) * torch.linalg.solve(S[c] + torch.diag(alpha) / n, -g_[c])
                for c in range(C)
            ]
        )
        torch.testing.assert_close(state.theta[0], theta, atol=1e-10, rtol=0)
        torch.testing.assert_close(state.curvature[0], S, atol=1e-12, rtol=0)


def test_zero_features_are_refused_by_the_public_api():
    learner = iai.load(Path(iai.__file__).parent / "pretrained" / "tabular-regression")
    x = torch.randn(1, 8, 0)
    with pytest.raises(InvalidInput, match="1 to 100"):
        iai.predict_steps(learner, x, torch.randn(1, 8), x[:, :2])


def test_iai_eval_runs_on_a_shipped_tabular_learner(tmp_path):
    """`iai eval` on the shipped learner (its config turns the fixed-width SGD / Adam
    references off, and asking for them is refused by name)."""
    from iai.cli import main

    shipped = str(Path(iai.__file__).parent / "pretrained" / "tabular-regression")
    assert main(["eval", shipped, "--tasks", "8", "--steps", "2", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "eval.json").exists()


def test_classes_no_row_labels_share_one_slot_and_change_nothing(monkeypatch):
    """A step computes the never-labeled classes once (`TabularLearner._shared`): against the
    step over every class, on the shipped classifier (its network is not zero, so the means
    over classes weigh the shared slot by its count), through a class's first label (its slot
    splits off) and through the gradients of a loss read after the steps."""
    learner = iai.load(Path(iai.__file__).parent / "pretrained" / "tabular-classification")
    learner = learner.double()
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, 6 * 32, 5, generator=g, dtype=torch.float64)
    y = (x[..., 0] > 0).long() * 3  # classes 0 and 3 of 10, then class 7 from the 4th batch
    y[0, 3 * 32 + 5] = 7
    state = full = learner.init(x[:, :1])
    with torch.no_grad():
        for i in range(0, x.shape[1], 32):
            xb, yb = x[:, i : i + 32], y[:, i : i + 32]
            keep, _ = learner._shared(state, yb)  # 0, 3, (7,) and one for the 7 or 8 others
            assert len(keep) == (3 if i < 3 * 32 else 4)
            state, full = learner.step(state, xb, yb), learner._step(full, xb, yb, None)
            torch.testing.assert_close(state.theta, full.theta, atol=1e-12, rtol=0)
            torch.testing.assert_close(state.curvature, full.curvature, atol=1e-12, rtol=0)
            torch.testing.assert_close(state.frequency, full.frequency, atol=1e-14, rtol=0)

    def loss_grads():
        s = learner.init(x[:, :1])
        for i in range(0, 64, 32):
            s = learner.step(s, x[:, i : i + 32], y[:, i : i + 32])
        loss = learner.objective.loss(learner.predict(s, x[:, 64:96]), y[:, 64:96]).mean()
        return torch.autograd.grad(loss, [p for p in learner.parameters() if p.requires_grad])

    shared = loss_grads()
    monkeypatch.setattr(TabularLearner, "_shared", lambda self, state, y: None)
    for a, b in zip(shared, loss_grads(), strict=True):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=1e-8)
