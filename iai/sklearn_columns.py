"""Categorical and string columns of a pandas DataFrame, read by the estimators as codes.

Why codes and not one-hot columns: the foundation model's prior draws categorical columns as
integer codes in a shuffled order (`iai.tasks.tabular_scm.with_categories`), so a code column
is what it learned to read, and a table keeps its width. A column is categorical when its
dtype is pandas' `category` (codes in the order of its declared categories, then any met
later) or holds strings or other objects (codes in the order the values are met). `fit`
starts the codes afresh; `partial_fit` extends them with values it has not met; `predict`
reads a value never met in training, or a missing one (None, NaN, pd.NA), as missing (NaN),
which the foundation model reads as missing and the linear learner as the column's mean.
Without pandas imported, no input can be a DataFrame: nothing here imports it.
"""

import sys

import numpy as np


class CategoryCodes:
    """The categories met so far, per categorical column (by name), in the order of their codes."""

    def __init__(self) -> None:
        self.categories: dict[object, list] = {}

    def encode(self, X, grow: bool):
        """X with every categorical column of a DataFrame replaced by float codes (NaN where
        missing or, unless `grow`, never met); anything else as it is."""
        pd = sys.modules.get("pandas")
        if pd is None or not isinstance(X, pd.DataFrame):
            return X
        columns = [c for c in X.columns if _categorical(pd, X[c])]
        if not columns:
            return X
        X = X.copy()
        for c in columns:
            X[c] = self._codes(pd, c, X[c], grow)
        return X

    def _codes(self, pd, name, column, grow: bool) -> np.ndarray:
        known = self.categories.setdefault(name, []) if grow else self.categories.get(name, [])
        if grow:
            categorical = isinstance(column.dtype, pd.CategoricalDtype)
            declared = list(column.cat.categories) if categorical else []
            met = set(known)
            for value in [*declared, *pd.unique(column.dropna())]:
                if value not in met:
                    known.append(value)
                    met.add(value)
        index = {v: float(i) for i, v in enumerate(known)}
        # a value missing or never met maps to NaN
        return column.astype(object).map(index).to_numpy(dtype=np.float64, na_value=np.nan)


def _categorical(pd, column) -> bool:
    return isinstance(column.dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(column)
