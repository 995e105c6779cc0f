"""Estimators for any table: fit, predict with uncertainty, a stream read with partial_fit, and
a Pipeline that encodes a categorical column. Nothing is trained here and nothing downloaded:
the learners ship inside the package and the tables inside scikit-learn.

    python examples/tabular.py
"""

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from iai.sklearn import IAIClassifier, IAIRegressor


def fit_and_predict() -> None:
    """64 rows of a table, and a predictive std for each answer."""
    X, y = load_diabetes(return_X_y=True, scaled=False)
    X_train, X_test, y_train, y_test = train_test_split(X, y, train_size=64, random_state=0)
    reg = IAIRegressor().fit(X_train, y_train)
    mean, std = reg.predict(X_test, return_std=True)
    inside = np.abs(y_test - mean) <= 1.645 * std
    ridge = make_pipeline(StandardScaler(), RidgeCV()).fit(X_train, y_train)
    rmse = np.sqrt(np.mean((mean - y_test) ** 2))
    rmse_ridge = np.sqrt(np.mean((ridge.predict(X_test) - y_test) ** 2))
    print(f"diabetes, 64 training rows: RMSE {rmse:.1f} (RidgeCV {rmse_ridge:.1f}); 90 % intervals")
    print(f"  cover {inside.mean():.0%} of {len(y_test)} held-out targets")


def stream() -> None:
    """Rows arriving in chunks: predict each chunk first, then read it (test, then train)."""
    X, y = load_breast_cancer(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(X))
    X, y = X[order], y[order]
    clf, correct, seen = IAIClassifier(), 0, 0
    for start in range(0, len(X), 50):
        chunk = slice(start, start + 50)
        if start:
            correct += (clf.predict(X[chunk]) == y[chunk]).sum()
            seen += len(y[chunk])
        clf.partial_fit(X[chunk], y[chunk], classes=[0, 1])
    print(f"breast cancer as a stream of 50-row chunks: prequential accuracy {correct / seen:.3f}")
    print(f"  over {seen} rows, state of fixed size after {clf.n_samples_seen_} rows")


def pipeline() -> None:
    """A categorical column one-hot encoded in front of the estimator, cross-validated."""
    X, y = load_diabetes(return_X_y=True, scaled=False)
    table = X.astype(object)
    table[:, 1] = np.where(X[:, 1] == 1, "female", "male")  # column 1 is sex, coded 1 / 2
    encode = ColumnTransformer(
        [("sex", OneHotEncoder(), [1])], remainder="passthrough", sparse_threshold=0
    )
    model = make_pipeline(encode, IAIRegressor())
    scores = cross_val_score(model, table, y, cv=5, scoring="neg_root_mean_squared_error")
    print(f"diabetes with sex as text, one-hot in a Pipeline: 5-fold RMSE {-scores.mean():.1f}")


def main() -> None:
    fit_and_predict()
    stream()
    pipeline()


if __name__ == "__main__":
    main()
