"""`iai.sklearn` probed: tiny tables of separable classes (the classifier must be as accurate
as a standardized logistic regression and never name a class with no example while one has
examples),
magnitudes from 1e-200 to 1e300 (the regressor's predictions must scale with its targets),
constant and string targets, odd parameters, and (hypothesis, derandomized) random tables."""

from functools import partial
from importlib import resources

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from common.probe.harness import Case, generated
from iai.sklearn import IAIClassifier, IAIRegressor

SURFACE = "iai.sklearn"
REGRESSOR = str(resources.files("iai") / "pretrained" / "tabular-regression")
SKLEARN = (ValueError, TypeError)  # scikit-learn's conventions for bad data and parameters


def _separable(n: int, classes: int, seed: int, gap: float = 6.0):
    """n rows (and 300 test rows) of `classes` Gaussian classes `gap` standard deviations
    apart, every class present once n ≥ classes."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    centers = rng.normal(size=(classes, 3))
    centers *= gap / np.linalg.norm(centers[0] - centers[1 % classes] + 1e-9)
    y_test = rng.integers(0, min(n, classes), 300)
    return (
        centers[y] + rng.normal(size=(n, 3)),
        y,
        centers[y_test] + rng.normal(size=(300, 3)),
        y_test,
    )


def _classifier_vs_logistic(n: int, classes: int, seed: int):
    X, y, X_test, y_test = _separable(n, classes, seed)
    ours = IAIClassifier().fit(X, y)
    # the baseline of benchmarks/tabular.py: standardized, as IAI standardizes (a logistic
    # regression on the raw features is ahead at 2-8 rows of several features: see
    # benchmarks/results/untrusted/small-rows.txt)
    logistic = make_pipeline(StandardScaler(), LogisticRegression())
    theirs = logistic.fit(X, y) if len(set(y)) > 1 else None
    return ours, theirs, X, y, X_test, y_test


def _no_worse_than_logistic(result) -> str | None:
    ours, theirs, X, y, X_test, y_test = result
    seen = set(y.tolist())
    predicted = set(ours.predict(np.vstack([X, X_test])).tolist())
    if predicted - seen:
        return f"predicts classes {sorted(predicted - seen)} with no example"
    if theirs is None:
        return None
    a, b = (m.score(X_test, y_test) for m in (ours, theirs))
    a_fit, b_fit = (m.score(X, y) for m in (ours, theirs))
    if a_fit < b_fit or a < b - 0.05:
        return (
            f"accuracy {a_fit:.2f} / {a:.2f} (fit / test) against logistic's {b_fit:.2f} / {b:.2f}"
        )
    return None


def _partial_fit_one_class():
    X, y, X_test, _ = _separable(1, 3, 0)
    model = IAIClassifier().partial_fit(X[:1], [0], classes=[0, 1, 2])
    return model.predict(np.vstack([X, X_test[:6]]))


def _scaled(x_scale: float, y_scale: float, constant: float | None = None):
    """Predictions of data scaled by (x_scale, y_scale), and of the same data unscaled."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 4))
    y = X @ rng.normal(size=4) + 0.1 * rng.normal(size=120)
    if constant is not None:
        y = np.full(120, constant)
        return IAIRegressor().fit(X, y).predict(X[:20], return_std=True), (y[:20], None), 1.0
    scaled = IAIRegressor().fit(X * x_scale, y * y_scale).predict(X[:20] * x_scale, return_std=True)
    plain = IAIRegressor().fit(X, y).predict(X[:20], return_std=True)
    return scaled, plain, y_scale


def _scales_with_targets(result) -> str | None:
    (mean, std), (plain_mean, plain_std), y_scale = result
    if not (np.isfinite(mean).all() and np.isfinite(std).all()):
        return "non-finite predictions or std"
    want = plain_mean * y_scale
    spread = np.abs(want).max() or 1.0
    if np.abs(mean - want).max() > 1e-3 * spread:
        return f"predictions off by {np.abs(mean - want).max() / spread:.2g} of their range"
    if plain_std is not None and np.abs(std - plain_std * y_scale).max() > 1e-3 * spread:
        return "std does not scale with the targets"
    return None


def targeted() -> list[Case]:
    cases = []
    for n in (1, 2, 3, 4, 6, 8, 12, 16):
        for classes in (2, 3):
            for seed in (0, 1):
                cases.append(
                    Case(
                        SURFACE,
                        f"classifier {n} rows, {classes} classes, seed {seed}",
                        partial(_classifier_vs_logistic, n, classes, seed),
                        _no_worse_than_logistic,
                        False,
                        SKLEARN,
                    )
                )
    cases.append(
        Case(
            SURFACE,
            "partial_fit one row of 3 classes",
            _partial_fit_one_class,
            lambda p: None if set(p.tolist()) == {0} else f"predicts {sorted(set(p))}",
            False,
            SKLEARN,
        )
    )
    for x_scale, y_scale in (
        (1, 1e155),
        (1e160, 1),
        (1e-200, 1),
        (1, 1e-170),
        (1e150, 1e150),
        (1e-150, 1e-150),
        (1, 1e300),
        (1e300, 1),
    ):
        cases.append(
            Case(
                SURFACE,
                f"regressor X×{x_scale:g}, y×{y_scale:g}",
                partial(_scaled, x_scale, y_scale),
                _scales_with_targets,
                None,
                SKLEARN,
            )
        )
    for c in (1e300, -1e300, 0.0, 1e-300, 5.0):
        cases.append(
            Case(
                SURFACE,
                f"regressor constant y = {c:g}",
                partial(_scaled, 1, 1, c),
                _scales_with_targets,
                False,
                SKLEARN,
            )
        )
    X = np.random.default_rng(0).normal(size=(20, 3))
    y = X[:, 0]
    for name, make in (
        ("string targets", lambda: IAIRegressor().fit(X, y.astype(str))),
        ("object targets", lambda: IAIRegressor().fit(X, np.array([object()] * 20))),
        ("learner=123", lambda: IAIRegressor(learner=123).fit(X, y)),
        ("learner=a missing path", lambda: IAIRegressor(learner="/nonexistent").fit(X, y)),
        (
            "classifier over the regressor's learner",
            lambda: IAIClassifier(learner=REGRESSOR).fit(X, y > 0),
        ),
        ("batch_size=0", lambda: IAIRegressor(batch_size=0).fit(X, y)),
        ("max_steps=-1", lambda: IAIRegressor(max_steps=-1).fit(X, y)),
        (
            "scaling_rows=2**70",
            lambda: IAIRegressor(scaling_rows=2**70).partial_fit(X, y).predict(X),
        ),
        ("X of 101 features", lambda: IAIRegressor().fit(np.zeros((5, 101)), np.zeros(5))),
        ("12 classes", lambda: IAIClassifier().fit(np.zeros((12, 2)), np.arange(12))),
        ("y of NaN", lambda: IAIRegressor().fit(X, np.full(20, np.nan))),
        ("X all NaN", lambda: IAIRegressor().fit(np.full((20, 3), np.nan), y).predict(X)),
    ):
        cases.append(Case(SURFACE, name, make, _finite_output, None, SKLEARN))
    return cases


def _finite_output(result) -> str | None:
    if isinstance(result, np.ndarray):
        return None if np.isfinite(result).all() else "non-finite predictions"
    return None


TABLE = st.tuples(
    st.integers(1, 40),
    st.integers(1, 6),
    st.integers(-200, 200),
    st.integers(-200, 200),
    st.sampled_from(["regression", "int labels", "str labels", "bool labels"]),
    st.floats(0, 0.5),
    st.integers(0, 2**16),
)


def _random_table(spec):
    n, d, x_exp, y_exp, kind, missing, seed = spec
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * 10.0**x_exp
    X[rng.random((n, d)) < missing] = np.nan
    score = np.nan_to_num(X / 10.0**x_exp) @ rng.normal(size=d)
    if kind == "regression":
        return X, (score + 0.1 * rng.normal(size=n)) * 10.0**y_exp
    labels = np.digitize(score, np.quantile(score, [0.33, 0.66])) if n > 2 else np.arange(n) % 2
    return X, {"int labels": labels, "str labels": labels.astype(str), "bool labels": labels > 0}[
        kind
    ]


def drawn(examples: int) -> list[Case]:
    cases: list[Case] = []

    @generated(examples)
    @given(TABLE)
    def one(spec):
        X, y = _random_table(spec)
        if spec[4] == "regression":
            run = partial(lambda X, y: IAIRegressor().fit(X, y).predict(X, return_std=True), X, y)
            check = _finite_pair
        else:
            run = partial(lambda X, y: (IAIClassifier().fit(X, y).predict(X), y), X, y)
            check = _only_seen_classes
        cases.append(Case(SURFACE, f"drawn table {spec}", run, check, None, SKLEARN))

    one()
    return cases


def _finite_pair(result) -> str | None:
    mean, std = result
    ok = np.isfinite(mean).all() and np.isfinite(std).all() and (std > 0).all()
    return None if ok else "non-finite predictions or std ≤ 0"


def _only_seen_classes(result) -> str | None:
    predicted, y = result
    unseen = set(predicted.tolist()) - set(np.asarray(y).tolist())
    return f"predicts classes {sorted(unseen)} with no example" if unseen else None
