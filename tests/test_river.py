"""iai.river: river's interface over the estimators."""

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("river")

from river import evaluate, metrics, stream  # noqa: E402

from iai.river import IAIRiverClassifier, IAIRiverRegressor  # noqa: E402
from iai.sklearn import IAIClassifier, IAIRegressor  # noqa: E402


def rows(n: int, seed: int = 0):
    X = np.random.default_rng(seed).normal(size=(n, 3))
    return X, (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)


def test_a_separable_stream_is_learned_one_row_at_a_time():
    X, y = rows(120)
    acc = evaluate.progressive_val_score(
        stream.iter_array(X, y), IAIRiverClassifier(), metrics.Accuracy()
    )
    assert acc.get() > 0.8


def test_every_prediction_reads_the_rows_still_waiting_for_a_batch():
    X, y = rows(40)
    model = IAIRiverClassifier(batch_size=32)
    for x, t in stream.iter_array(X[:5], y[:5]):
        model.learn_one(x, t)
    proba = model.predict_proba_one(dict(enumerate(X[5])))
    assert set(proba) == set(y[:5].tolist()) and abs(sum(proba.values()) - 1) < 1e-9
    ahead = model.predict_proba_one(dict(enumerate(X[5])))
    assert proba == ahead  # reading the waiting rows into a copy changes nothing learned


def test_learn_many_and_a_regressor():
    X, y = rows(100)
    model = IAIRiverRegressor()
    model.learn_many(pd.DataFrame(X), pd.Series(X @ [1.0, 2.0, 0.0]))
    pred = model.predict_one(dict(enumerate([1.0, 1.0, 0.0])))
    assert abs(pred - 3.0) < 0.5


def test_n_estimators_reaches_the_estimator_and_predicts_as_it_does():
    X, y = rows(300, seed=1)
    target = X @ [1.0, -2.0, 0.5] + np.sin(3 * X[:, 0])
    classifier, regressor = IAIRiverClassifier(n_estimators=3), IAIRiverRegressor(n_estimators=3)
    for i, x in enumerate(X[:288]):  # 9 full batches: nothing waits
        classifier.learn_one(dict(enumerate(x)), int(y[i]))
        regressor.learn_one(dict(enumerate(x)), float(target[i]))
    c = IAIClassifier(n_estimators=3)
    r = IAIRegressor(n_estimators=3)
    for i in range(0, 288, 32):
        c.partial_fit(X[i : i + 32], y[i : i + 32], classes=np.arange(10))
        r.partial_fit(X[i : i + 32], target[i : i + 32])
    for x in X[288:]:
        proba = classifier.predict_proba_one(dict(enumerate(x)))
        expected = c.predict_proba(x[None])[0]
        assert abs(proba[1] - expected[1]) < 1e-9 and abs(proba[0] - expected[0]) < 1e-9
        assert abs(regressor.predict_one(dict(enumerate(x))) - r.predict(x[None])[0]) < 1e-9
    assert classifier.estimator.n_estimators == 3 == regressor.estimator.n_estimators


def test_bad_rows_and_labels_are_named():
    model = IAIRiverClassifier(max_classes=2)
    model.learn_one({"a": 1.0}, "x")
    with pytest.raises(ValueError, match="'b' was not in the first row"):
        model.learn_one({"a": 1.0, "b": 2.0}, "x")
    with pytest.raises(ValueError, match="not a number"):
        model.learn_one({"a": "red"}, "x")
    model.learn_one({"a": 2.0}, "y")
    with pytest.raises(ValueError, match="max_classes = 2"):
        model.learn_one({"a": 3.0}, "z")
