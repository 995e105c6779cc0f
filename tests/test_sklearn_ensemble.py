"""`n_estimators`: E column orders read as E tasks of one batch are the E separate fits."""

import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_wine, make_classification

from iai.sklearn import IAIClassifier, IAIRegressor
from iai.sklearn_ensemble import column_orders

E = 4


def orders(d: int) -> list[np.ndarray]:
    return list(column_orders(d, E).numpy())


def test_the_first_order_is_the_tables_own_and_each_is_a_permutation():
    got = column_orders(7, 5).numpy()
    assert (got[0] == np.arange(7)).all()
    assert all(sorted(o) == list(range(7)) for o in got) and len({tuple(o) for o in got}) == 5


def test_classifier_members_are_the_separate_fits_on_permuted_columns_averaged():
    X, y = load_wine(return_X_y=True)  # 3 classes, 64 rows: the posterior mode per member
    ensemble = IAIClassifier(n_estimators=E).fit(X[:64], y[:64]).predict_proba(X[64:])
    separate = [
        IAIClassifier().fit(X[:64][:, p], y[:64]).predict_proba(X[64:][:, p]) for p in orders(13)
    ]
    np.testing.assert_allclose(ensemble, np.mean(separate, 0), atol=1e-10)
    assert not np.allclose(separate[0], separate[1], atol=1e-3)  # the orders differ


def test_regressor_is_the_members_gaussian_mixture():
    X, y = load_diabetes(return_X_y=True)
    mean, std = IAIRegressor(n_estimators=E).fit(X[:100], y[:100]).predict(X[100:], True)
    fits = [(IAIRegressor().fit(X[:100][:, p], y[:100]), p) for p in orders(10)]
    mu, sd = np.array([f.predict(X[100:][:, p], return_std=True) for f, p in fits]).transpose(
        1, 0, 2
    )
    np.testing.assert_allclose(mean, mu.mean(0), rtol=1e-10)
    mixture = np.sqrt((sd**2 + mu**2).mean(0) - mu.mean(0) ** 2)
    np.testing.assert_allclose(std, mixture, rtol=1e-8)
    assert (std >= sd.min(0) - 1e-9).all()  # the members' spread only widens it


def test_a_stream_of_an_ensemble_is_its_members_streams():
    X, y = make_classification(400, 6, random_state=0)
    ensemble, members = IAIClassifier(n_estimators=3), []
    for i in range(0, 400, 50):
        ensemble.partial_fit(X[i : i + 50], y[i : i + 50], classes=[0, 1])
    for p in list(column_orders(6, 3).numpy()):
        m = IAIClassifier()
        for i in range(0, 400, 50):
            m.partial_fit(X[i : i + 50][:, p], y[i : i + 50], classes=[0, 1])
        members.append(m.predict_proba(X[:20][:, p]))
    np.testing.assert_allclose(ensemble.predict_proba(X[:20]), np.mean(members, 0), atol=1e-10)


def test_more_classes_than_outputs_through_codes_sum_to_one():
    X, y = make_classification(300, 8, n_informative=6, n_classes=12, random_state=0)
    est = IAIClassifier(learner="tabular-tokens-classification", n_estimators=2).fit(X, y)
    proba = est.predict_proba(X[:50])
    assert proba.shape == (50, 12)
    np.testing.assert_allclose(proba.sum(1), 1, atol=1e-9)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "4"])
def test_n_estimators_must_be_a_whole_number_named(bad):
    with pytest.raises(ValueError, match="n_estimators must be an integer"):
        IAIRegressor(n_estimators=bad).fit(np.ones((20, 2)), np.arange(20.0))
