"""`window`: the linear learner forgets, so a stream whose concept changes is followed."""

import numpy as np
import pytest

from iai.river import IAIRiverClassifier
from iai.sklearn import IAIClassifier, IAIRegressor


def flipped_stream(n: int, flip: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two features, the label the sign of the first, reversed from row `flip` on."""
    X = np.random.default_rng(seed).normal(size=(n, 2))
    y = (X[:, 0] > 0).astype(int)
    y[flip:] = 1 - y[flip:]
    return X, y


def streamed(est, X, y, chunk: int = 32):
    for i in range(0, len(X), chunk):
        est.partial_fit(X[i : i + chunk], y[i : i + chunk], classes=[0, 1])
    return est


def test_a_window_follows_a_concept_that_flips_and_no_window_lags():
    X, y = flipped_stream(4000, 3800)  # 200 rows of the new concept after 3,800 of the old
    test_X, test_y = flipped_stream(500, 0, seed=1)  # the concept after the flip
    kept = streamed(IAIClassifier(), X, y).score(test_X, test_y)
    windowed = streamed(IAIClassifier(window=256), X, y).score(test_X, test_y)
    assert windowed > 0.9 and windowed > kept + 0.2, (windowed, kept)


def test_a_window_wider_than_the_rows_read_changes_nothing():
    X, y = flipped_stream(600, 600)
    plain = streamed(IAIClassifier(), X, y).predict_proba(X[:50])
    wide = streamed(IAIClassifier(window=10_000), X, y).predict_proba(X[:50])
    np.testing.assert_array_equal(plain, wide)
    r = np.random.default_rng(2).normal(size=(300, 3))
    t = r @ [1.0, -2.0, 0.5]
    plain = IAIRegressor().fit(r, t).predict(r[:20], return_std=True)
    wide = IAIRegressor(window=10_000).fit(r, t).predict(r[:20], return_std=True)
    np.testing.assert_array_equal(plain[0], wide[0])
    np.testing.assert_array_equal(plain[1], wide[1])


def test_river_passes_the_window_on():
    X, y = flipped_stream(1200, 800)
    model = IAIRiverClassifier(max_classes=2, window=128)
    for row, label in zip(X, y, strict=True):
        model.learn_one({"a": row[0], "b": row[1]}, int(label))
    assert model.estimator.window == 128
    right = [model.predict_one({"a": a, "b": b}) == int(a <= 0) for a, b in X[:200]]
    assert np.mean(right) > 0.9


@pytest.mark.parametrize(
    "est, message",
    [
        (IAIClassifier(window=0), "window must be None or an integer ≥ 1"),
        (IAIRegressor(window=2.5), "window must be None or an integer ≥ 1"),
        (IAIClassifier(window=64, learner="tabular-tokens-classification"), "forgets"),
    ],
)
def test_a_bad_window_is_refused_by_name(est, message):
    X, y = flipped_stream(40, 40)
    with pytest.raises(ValueError, match=message):
        est.fit(X, y)
