"""Which columns of a table wider than the linear learner's width it reads.

The shipped linear learner reads at most 100 features, and the foundation model, which reads
any width, falls to chance on 300- and 1,000-feature tables with 20 informative ones
(benchmarks/results/tabular-tokens/wide.md), while the linear learner on the 100 columns of
highest univariate F-statistic beats logistic and ridge regression on 10 of 12 of them. So
the default estimator reads a wider table through those columns: scikit-learn's `f_classif`
(ANOVA F between classes) or `f_regression` (correlation with the target), computed on the
rows that set the scale (all of `fit`'s; a stream's first `scaling_rows`). The scores are
taken on each column divided by a power of two near its largest value (exact, as in
`iai.sklearn_scaling`), so no magnitude overflows them; missing values count as the column's
mean, and a constant column scores 0.
"""

import warnings

import numpy as np
from sklearn.feature_selection import f_classif, f_regression


def informative_columns(X: np.ndarray, y: np.ndarray, k: int, regression: bool) -> np.ndarray:
    """The indices (sorted) of the k columns of X (n, d > k) with the highest F-statistic
    against y (targets, or class indices); ties go to the earlier column."""
    top = np.where(np.isnan(X), 0.0, np.abs(X)).max(0, initial=0.0)
    x = np.ldexp(X, -np.frexp(top)[1])  # |x| < 1
    count = (~np.isnan(x)).sum(0)
    mean = np.where(count > 0, np.nansum(x, 0) / np.maximum(count, 1), 0.0)
    x = np.where(np.isnan(x), mean, x)
    if regression:
        t = np.ldexp(y, -np.frexp(np.abs(y).max(initial=0.0))[1])
        score = f_regression if np.ptp(t) > 0 else None
    else:
        t = y
        score = f_classif if len(np.unique(t)) > 1 else None
    if score is None:  # one target value or one class so far: no column tells them apart
        return np.arange(k)
    with warnings.catch_warnings():  # constant columns: a 0/0 F, read as 0 below
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", UserWarning)
        f = np.nan_to_num(score(x, t)[0], nan=0.0, posinf=np.finfo(np.float64).max)
    return np.sort(np.argsort(-f, kind="stable")[:k])
