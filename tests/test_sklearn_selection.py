"""Tables wider than the linear learner's 100 features: the default estimators read them
through their most informative columns (`iai.sklearn_selection`)."""

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.feature_selection import f_classif

from iai.sklearn import IAIClassifier, IAIRegressor
from iai.sklearn_selection import informative_columns


def wide_regression(n: int, d: int, informative: tuple[int, ...], seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    return X, X[:, list(informative)].sum(1) + 0.1 * rng.normal(size=n)


def test_the_columns_that_carry_the_target_are_kept_at_any_magnitude_and_with_gaps():
    X, y = wide_regression(200, 300, (7, 150, 299))
    keep = informative_columns(X, y, 100, regression=True)
    assert len(keep) == 100 and np.all(np.diff(keep) > 0)
    assert {7, 150, 299} <= set(keep.tolist())
    # the F-statistic is invariant to each column's scale: 1e300 or 1e-300 picks alike
    scales = np.where(np.arange(300) % 2 == 0, 1e300, 1e-300)
    assert np.array_equal(informative_columns(X * scales, y * 1e300, 100, True), keep)
    X[::3, 150] = np.nan  # missing cells count as the column's mean
    X[:, 0] = 5.0  # a constant column scores 0
    gaps = informative_columns(X, y, 100, regression=True)
    assert {7, 150, 299} <= set(gaps.tolist()) and 0 not in gaps


def test_the_classifier_picks_as_scikit_learns_f_classif():
    X, y = make_classification(300, 250, n_informative=10, random_state=0)
    keep = informative_columns(X, y, 100, regression=False)
    assert np.array_equal(keep, np.sort(np.argsort(-f_classif(X, y)[0], kind="stable")[:100]))


def test_one_class_or_one_target_value_keeps_the_first_columns():
    X = np.random.default_rng(0).normal(size=(20, 150))
    assert np.array_equal(informative_columns(X, np.zeros(20), 100, True), np.arange(100))
    assert np.array_equal(informative_columns(X, np.zeros(20, int), 100, False), np.arange(100))


def test_a_wide_table_is_fit_and_streamed_through_its_informative_columns():
    """300 features, 3 of them the target: the default regressor keeps all 3 and predicts far
    better than the mean (R² > 0.9), from fit and from a stream past its scaling rows."""
    X, y = wide_regression(800, 300, (3, 100, 250))
    fit = IAIRegressor().fit(X[:400], y[:400])
    assert {3, 100, 250} <= set(fit.scale_[0].columns.tolist())
    assert fit.score(X[400:], y[400:]) > 0.9
    stream = IAIRegressor()
    for i in range(0, 400, 50):
        stream.partial_fit(X[i : i + 50], y[i : i + 50])
        assert stream.predict(X[400:405]).shape == (5,)  # also before the scale is set
    assert stream.score(X[400:], y[400:]) > 0.9


def test_a_wide_classification_table_beats_the_majority_class():
    X, y = make_classification(1300, 1000, n_informative=10, random_state=1)
    model = IAIClassifier().fit(X[:300], y[:300])
    assert len(model.scale_[0].columns) == 100
    assert model.score(X[300:], y[300:]) > 0.6  # the majority class: about 0.5


@pytest.mark.parametrize("learner", ["tabular-regression", "tabular-tokens-regression"])
def test_a_named_learner_reads_every_column_or_refuses(learner):
    X, y = wide_regression(40, 120, (0,))
    if learner == "tabular-regression":
        with pytest.raises(ValueError, match="at most 100 features"):
            IAIRegressor(learner=learner).fit(X, y)
    else:
        assert IAIRegressor(learner=learner).fit(X, y).scale_[0].columns is None
