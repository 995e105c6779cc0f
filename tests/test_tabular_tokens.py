"""The tabular foundation model (learner.kind = "tabular_tokens") and the prior it trains on."""

import math

import numpy as np
import pytest
import torch

from iai.checkpoint import save_learner
from iai.config import load_config, to_dict
from iai.experiment import build, prior_signature
from iai.learners.tabular_tokens import TabularTokensLearner
from iai.sklearn import IAIClassifier, IAIRegressor
from iai.tasks.tabular import Tabular, TabularClassificationConfig, TabularRegressionConfig

SMALL = ["learner.width=16", "learner.hidden=16", "learner.latents=4", "learner.basis=8"]


def tiny(kind: str = "classification", *more: str):
    sets = [f"task.name=tabular_{kind}", "task.dim=6", "learner.kind=tabular_tokens", *SMALL]
    if kind == "classification":
        sets.append("task.classes=4")
    cfg = load_config(None, [*sets, *more])
    learner, prior = build(cfg)
    with torch.no_grad():  # the zero-initialised heads: give the tokens something to say
        for p in learner.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=torch.Generator().manual_seed(p.numel())))
    return learner.eval(), prior, cfg


def test_the_shares_draw_missing_values_categories_and_scm_tables():
    cfg = TabularClassificationConfig(dim=12, classes=5, scm=1.0, categorical=1.0, missing=1.0)
    t = Tabular(cfg).sample(16, 64, 32, generator=torch.Generator().manual_seed(0))
    assert t.x_train.isnan().any() and not t.x_train.isinf().any()
    assert 0 <= t.y_train.min() and t.y_train.max() < 5
    levels = [torch.unique(c[~c.isnan()]).numel() for c in t.x_train[0].T]
    assert min(levels) <= 10  # some column is categorical (at most 10 levels)
    plain = Tabular(TabularClassificationConfig(dim=12, classes=5))
    assert not plain.sample(16, 64, 32, generator=torch.Generator()).x_train.isnan().any()


def test_at_zero_shares_the_prior_draws_as_before_the_shares_existed():
    """The linear learners' prior is unchanged draw for draw: the same generator state after a
    call, whatever share is 0 and whether the field is named."""
    draws = []
    for cfg in (TabularRegressionConfig(dim=8), TabularRegressionConfig(dim=8, drift=0.0)):
        g = torch.Generator().manual_seed(3)
        t = Tabular(cfg).sample(4, 16, 8, generator=g)
        draws.append((t.y_train, torch.rand(1, generator=g)))
    assert torch.equal(draws[0][0], draws[1][0]) and torch.equal(draws[0][1], draws[1][1])


@pytest.mark.parametrize("kind", ["regression", "classification"])
def test_a_table_of_any_width_with_missing_values_predicts(kind):
    learner, prior, _ = tiny(kind)
    x = torch.randn(2, 40, 50)  # 50 columns: wider than the prior's 6
    x[x > 1.5] = math.nan
    y = torch.randn(2, 40) if kind == "regression" else torch.randint(0, 4, (2, 40))
    state = learner.step(learner.init(x[:, :8]), x[:, :32], y[:, :32])
    out = learner.predict(state, x[:, 32:])
    assert torch.isfinite(out).all()
    filled = learner.predict(state, x[:, 32:].nan_to_num())
    assert not torch.allclose(out, filled)  # missing is read as missing, not as 0


def test_permuting_columns_with_their_codes_permutes_nothing():
    learner, _, _ = tiny()
    x, y = torch.randn(2, 24, 7), torch.randint(0, 4, (2, 24))
    perm = torch.randperm(7, generator=torch.Generator().manual_seed(0))
    outs = []
    for order in (torch.arange(7), perm):
        state = learner.init(x[:, :4, order], columns=torch.arange(7)[order])
        state = learner.step(state, x[:, :16, order], y[:, :16])
        outs.append(learner.predict(state, x[:, 16:, order]))
    torch.testing.assert_close(outs[0], outs[1], rtol=1e-5, atol=1e-5)


def test_training_draws_the_columns_codes_from_the_data_reproducibly():
    learner, _, _ = tiny()
    x = torch.randn(2, 8, 5)
    learner.train()
    a, b = learner.rows.columns(5, x), learner.rows.columns(5, x.clone())
    assert torch.equal(a, b) and not torch.equal(a, torch.arange(5))
    assert not torch.equal(a, learner.rows.columns(5, x + 1))
    learner.eval()
    assert torch.equal(learner.rows.columns(5, x), torch.arange(5))


def test_the_state_stays_flat_in_the_rows_read():
    learner, _, _ = tiny("regression")
    x, y = torch.randn(1, 512, 3), torch.randn(1, 512)
    state, sizes = learner.init(x[:, :1]), []
    for i in range(0, 512, 32):
        state = learner.step(state, x[:, i : i + 32], y[:, i : i + 32])
        sizes.append(
            state.tokens.z.numel()
            + sum(
                t.numel()
                for t in state.tokens.stats.detach().__dict__.values()
                if isinstance(t, torch.Tensor)
            )
        )
    assert len(set(sizes)) == 1


@pytest.mark.parametrize("kind", ["regression", "classification"])
def test_the_estimators_read_a_foundation_model_checkpoint(tmp_path, kind):
    learner, prior, cfg = tiny(kind)
    save_learner(tmp_path / "m", learner, to_dict(cfg), step=1, prior=prior_signature(prior))
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 120))  # more columns than the linear learner's 100
    X[rng.random(X.shape) < 0.1] = np.nan
    if kind == "regression":
        target = rng.normal(size=60)
        est = IAIRegressor(learner=str(tmp_path / "m")).fit(X[:60], target)
        mean, std = est.predict(X[60:], return_std=True)
        assert np.isfinite(mean).all() and (std > 0).all()
    else:
        y = rng.integers(0, 12, 90)  # 12 classes for a learner of 4 outputs: output codes
        est = IAIClassifier(learner=str(tmp_path / "m")).fit(X[:60], y[:60])
        proba = est.predict_proba(X[60:])
        assert proba.shape == (30, 12) and np.allclose(proba.sum(1), 1)
    assert isinstance(est.learner_, TabularTokensLearner)


def test_the_learners_own_prior_with_missing_cells_read_as_zero_does_not_warn():
    """The prior draws missing cells (NaN): the input check's reference statistics are those of
    the cells present, so the prior's own tables (NaN made 0, as the API needs) look like it."""
    import warnings

    import iai

    learner, prior, _ = tiny("classification", "task.missing=0.5")
    tasks = prior.sample(4, 64, 8, generator=torch.Generator().manual_seed(1))
    assert tasks.x_train.isnan().any()
    x, q = tasks.x_train.nan_to_num(), tasks.x_query.nan_to_num()
    with warnings.catch_warnings():
        warnings.simplefilter("error", iai.InputWarning)
        iai.predict_steps(learner, x, tasks.y_train, q, batch_size=16)
