"""evaluate: the reference is the evaluated prior's, the prior must fit the learner, and a
learner of a prior defined in Python is evaluated on that prior."""

import pytest
import torch

import iai
from iai.evaluation.config import EvalConfig
from iai.evaluation.evaluate import evaluate
from iai.experiment import prior_signature
from iai.tasks import TaskConfig, make_prior, variant_prior
from iai.tasks.linear import LinearRegression

SMALL = EvalConfig(tasks=30, steps=3, queries=8, ood=(), baselines=False, batch_size=4)


@pytest.mark.parametrize("variant", ["id", "noisy", "wide_prior"])
def test_the_exact_reference_is_the_evaluated_priors_posterior(make_learner, variant):
    """Under `noisy` and `wide_prior` the Bayes posterior itself changes (noise variance, weight
    prior): the reference must be that variant's, computed here on the same tasks."""
    learner, _ = make_learner()
    result = evaluate(learner, SMALL, variant)
    prior = variant_prior(learner.config.task, variant)
    tasks = prior.sample(30, 3 * 4, 8, generator=torch.Generator().manual_seed(SMALL.seed))
    expected = [
        (
            prior.bayes(tasks.x_train[:, : 4 * k], tasks.y_train[:, : 4 * k], tasks.x_query)
            - tasks.y_query
        )
        .square()
        .mean()
        .item()
        for k in range(4)
    ]
    torch.testing.assert_close(torch.tensor(result.curve("bayes").mean), torch.tensor(expected))


def test_a_prior_that_does_not_fit_the_learner_is_named(make_learner):
    learner, _ = make_learner()  # a 3-d regression learner
    other = make_prior(TaskConfig(name="linear_regression", dim=2))
    with pytest.raises(iai.InvalidInput, match=r"dim 2 \(the learner's: 3\)"):
        evaluate(learner, SMALL, prior=other)
    labels = make_prior(TaskConfig(name="linear_classification", dim=3, classes=3))
    with pytest.raises(iai.InvalidInput, match="kind 'classification'"):
        evaluate(learner, SMALL, prior=labels)


class Shifted(LinearRegression):
    """A user's variation on a shipped family: y has an offset of 2. It keeps a TaskConfig
    named linear_regression, and must not be mistaken for the shipped family."""

    def sample(self, n_tasks, n_points, n_query, *, generator):
        t = super().sample(n_tasks, n_points, n_query, generator=generator)
        return type(t)(t.x_train, t.y_train + 2, t.x_query, t.y_query + 2)

    def bayes(self, x_train, y_train, x_query):
        return super().bayes(x_train, y_train - 2, x_query) + 2


def test_a_learner_of_a_prior_defined_in_python_is_evaluated_on_it(make_cfg, tmp_path):
    prior = Shifted(TaskConfig(name="linear_regression", dim=3))
    assert not prior_signature(prior)["shipped"]
    assert prior_signature(make_prior(TaskConfig(dim=3)))["shipped"]
    overrides = ["train.iterations=2", "task.dim=3", "learner.width=16", "learner.depth=1"]
    iai.train(None, tmp_path, prior=prior, overrides=overrides, progress=False)
    learner = iai.load(tmp_path)
    assert learner.prior is None and learner.config.task.name == "Shifted"
    with pytest.raises(iai.InvalidInput, match="pass it as evaluate"):
        evaluate(learner, SMALL)
    result = evaluate(learner, SMALL, prior=prior)
    assert "bayes" in result.methods  # the user's own reference, from the prior given
    assert result.curve("bayes").mean[-1] < result.curve("bayes").mean[0]
    with pytest.raises(iai.InvalidInput, match="needs a shipped family"):
        evaluate(learner, SMALL, "noisy", prior=prior)
