"""More classes than the learners' 10 outputs: natively (the linear learner) or by output codes
(the foundation model)."""

import numpy as np
import pytest

from iai.sklearn import IAIClassifier
from iai.sklearn_learners import output_codes


def blobs(n: int, classes: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n rows of `classes` features, labelled by the largest."""
    X = np.random.default_rng(seed).normal(size=(n, classes))
    return X, X.argmax(1)


@pytest.mark.parametrize(
    "classes, learner", [(11, None), (15, None), (40, None), (15, "tabular-tokens-classification")]
)
def test_more_classes_than_outputs_are_told_apart(classes, learner):
    """Beyond the learners' 10 outputs (the linear learner natively, the foundation model by
    output codes) every class is still told apart: accuracy on blobs far above chance
    (1 / classes), and probabilities over all the classes."""
    X, y = blobs(60 * classes, classes, seed=1)
    n = 40 * classes
    est = IAIClassifier(learner=learner).fit(X[:n], y[:n])
    assert len(est.codes_) == (1 if learner is None else 2)
    proba = est.predict_proba(X[n:])
    assert proba.shape == (len(X) - n, classes) and np.allclose(proba.sum(1), 1)
    assert est.score(X[n:], y[n:]) > 5 / classes


def test_many_classes_read_natively_are_equivariant_to_their_naming():
    """The linear learner reads 15 classes on one set of weights, every class alike: renaming
    the classes permutes the probabilities' columns and nothing else."""
    X, y = blobs(300, 15, seed=2)
    rename = np.random.default_rng(0).permutation(15)
    first = IAIClassifier().fit(X[:240], y[:240]).predict_proba(X[240:])
    renamed = IAIClassifier().fit(X[:240], rename[y[:240]]).predict_proba(X[240:])
    np.testing.assert_allclose(renamed[:, rename], first, rtol=1e-6, atol=1e-9)


def test_output_codes_tell_every_class_apart():
    """Every class has a group of its own in exactly one coding (none when they fit)."""
    for classes in (2, 10, 11, 19, 40, 300):
        codes = output_codes(classes, 10)
        assert codes.max() < 10 and len({tuple(c) for c in codes.T}) == classes
        assert len(codes) == (1 if classes <= 10 else -(-classes // 9))
        if classes > 10:
            sizes = [np.bincount(c, minlength=10) for c in codes]
            alone = np.array([[s[c[k]] == 1 and c[k] < 9 for k in range(classes)]
                              for s, c in zip(sizes, codes, strict=True)])  # fmt: skip
            assert np.array_equal(alone.sum(0), np.ones(classes))
