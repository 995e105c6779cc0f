"""The posterior mode `IAIClassifier.fit` ends at (iai.learners.tabular_mode): a stationary
point of the MAP objective, for two classes at one of the evidence's scales; where it applies
and where not."""

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning

import iai.learners.tabular_mode as mode
from iai.sklearn import IAIClassifier
from iai.sklearn_learners import rows


def table(n: int, classes: int, seed: int = 0):
    return make_classification(
        n, 6, n_informative=4, n_redundant=0, n_classes=classes, n_clusters_per_class=1,
        random_state=seed,
    )  # fmt: skip


def read(est) -> torch.Tensor:
    """The θ (T, C, P) `est` predicts from."""
    return est._current()[0].theta


def objective(est, X, y, theta, scale: float):
    """The MAP objective's gradient (K, P) at θ (K, P) under s α₀, and its value."""
    learner = est.learner_
    phi = learner.features(rows(learner, X, est.scale_[0]))[0].double()
    alpha = scale * learner.log_alpha0.exp()[learner.groups(X.shape[1])].double().detach()
    theta = theta.double().clone().requires_grad_(True)
    labels = torch.from_numpy(est._labels(y))
    loss = torch.nn.functional.cross_entropy(phi @ theta.T, labels, reduction="sum")
    loss = loss + 0.5 * (alpha * theta.square()).sum()
    (grad,) = torch.autograd.grad(loss, theta)
    return grad, float(loss.detach())


def test_more_classes_end_at_the_mode_under_the_learned_prior():
    X, y = table(200, 3)
    passed = IAIClassifier(refine=False).fit(X, y)
    fitted = IAIClassifier().fit(X, y)
    start, start_loss = objective(passed, X, y, read(passed)[0, :3], 1.0)
    end, end_loss = objective(fitted, X, y, read(fitted)[0, :3], 1.0)
    assert end_loss < start_loss
    assert end.norm() < 1e-3 * start.norm()


def test_two_classes_end_at_the_mode_of_one_scale_antisymmetric():
    X, y = table(120, 2)
    fitted = IAIClassifier().fit(X, y)
    theta = read(fitted)[0, :2]
    torch.testing.assert_close(theta[0], -theta[1])
    norms = [objective(fitted, X, y, theta, s)[0].norm() for s in mode.SCALES]
    start = objective(IAIClassifier(refine=False).fit(X, y), X, y, theta * 0, 1.0)[0].norm()
    assert min(norms) < 1e-4 * start


def test_the_mode_is_only_fit_s_over_every_row():
    X, y = table(300, 3)  # past scaling_rows: partial_fit then reads them into a state
    passed = read(IAIClassifier(refine=False).fit(X, y))
    assert not torch.equal(read(IAIClassifier().fit(X, y)), passed)
    windowed = read(IAIClassifier(window=50).fit(X, y))
    assert torch.equal(windowed, read(IAIClassifier(window=50, refine=False).fit(X, y)))
    streamed = read(IAIClassifier().partial_fit(X, y, classes=[0, 1, 2]))
    assert torch.equal(streamed, read(IAIClassifier(refine=False).partial_fit(X, y, [0, 1, 2])))


@pytest.mark.parametrize("n", [mode.MIN_ROWS - 1, 100])
def test_outside_min_and_max_rows_fit_keeps_the_pass(monkeypatch, n):
    monkeypatch.setattr("iai.sklearn_learners.MAX_ROWS", 99)
    X, y = table(n, 3)
    kept = read(IAIClassifier().fit(X, y))
    assert torch.equal(kept, read(IAIClassifier(refine=False).fit(X, y)))
    X, y = table(mode.MIN_ROWS, 3)
    moved = read(IAIClassifier().fit(X, y))
    assert not torch.equal(moved, read(IAIClassifier(refine=False).fit(X, y)))


def test_the_tokens_learner_is_left_as_its_pass():
    X, y = table(60, 2)
    name = "tabular-tokens-classification"
    a = IAIClassifier(learner=name).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(
        a, IAIClassifier(learner=name, refine=False).fit(X, y).predict_proba(X)
    )


@pytest.mark.parametrize("refine", ["yes", 1, None])
def test_refine_must_be_a_bool(refine):
    X, y = table(40, 2)
    with pytest.raises(ValueError, match="refine must be True or False"):
        IAIClassifier(refine=refine).fit(X, y)
    assert IAIClassifier(refine=np.bool_(False)).fit(X, y).score(X, y) > 0.5  # numpy's bool


def test_a_mode_that_stops_short_is_kept_and_said(monkeypatch):
    X, y = table(200, 3)
    monkeypatch.setattr(mode, "OPTIONS", {**mode.OPTIONS, "maxiter": 2})
    with pytest.warns(ConvergenceWarning, match="L-BFGS stopped short"):
        short = IAIClassifier().fit(X, y)
    passed = IAIClassifier(refine=False).fit(X, y)
    _, short_loss = objective(short, X, y, read(short)[0, :3], 1.0)
    assert short_loss < objective(passed, X, y, read(passed)[0, :3], 1.0)[1]


@pytest.mark.parametrize("classes", [2, 3])
def test_while_its_first_rows_set_the_scale_partial_fit_predicts_as_fit(classes):
    """Rows all at hand are read as fit reads them, to the mode; once the scale is set, the
    stream goes on from the pass."""
    X, y = table(120, classes)
    streamed = IAIClassifier().partial_fit(X, y, classes=list(range(classes)))
    assert streamed.state_ is None  # 120 rows < scaling_rows: kept, read afresh to predict
    fitted = IAIClassifier().fit(X, y)
    np.testing.assert_allclose(streamed.predict_proba(X), fitted.predict_proba(X), atol=1e-4)
    passed = IAIClassifier(refine=False).fit(X, y)
    assert np.abs(passed.predict_proba(X) - fitted.predict_proba(X)).max() > 1e-3


def test_after_fit_a_stream_goes_on_from_the_pass():
    X, y = table(200, 3)
    fitted = IAIClassifier().fit(X[:100], y[:100])
    passed = IAIClassifier(refine=False).fit(X[:100], y[:100])
    assert not torch.equal(read(fitted), read(passed))
    fitted.partial_fit(X[100:], y[100:])
    passed.partial_fit(X[100:], y[100:])
    assert torch.equal(read(fitted), read(passed))


def test_a_class_declared_but_not_shown_leaves_the_mode_to_the_classes_shown():
    """river declares every class it may meet; the mode is over the classes the rows show, so
    two shown of three declared are solved as two, and the third keeps probability 0."""
    X, y = table(120, 2)
    streamed = IAIClassifier().partial_fit(X, y, classes=[0, 1, 2])
    proba = streamed.predict_proba(X)
    assert np.all(proba[:, 2] == 0)
    np.testing.assert_allclose(proba[:, :2], IAIClassifier().fit(X, y).predict_proba(X), atol=1e-4)
