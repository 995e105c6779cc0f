"""What targets the estimators accept, checked before numpy or scikit-learn would fail on them
in their own words: numbers for `IAIRegressor`, labels of one sortable type for
`IAIClassifier`."""

import numpy as np
from sklearn.utils.multiclass import check_classification_targets

from iai.errors import InvalidInput


def numeric_targets(y) -> None:
    """Refuse regression targets that are not numbers by name, before numpy's conversion
    ends in its own error: strings are labels (IAIClassifier), or numbers to convert first."""
    if y is None:
        return
    a = np.asarray(y)
    if a.dtype.kind in "US" or (
        a.dtype.kind == "O" and any(isinstance(v, str | bytes) for v in a.ravel())
    ):
        raise InvalidInput(
            "IAIRegressor needs numeric targets; y holds strings: for class labels use "
            "IAIClassifier, for numbers stored as text convert them first (y.astype(float))"
        )


def sorted_labels(y) -> np.ndarray:
    """The sorted labels of y, after scikit-learn's checks: continuous targets and labels
    that cannot be sorted together ("a" beside 2, which scikit-learn's own checks let
    through to numpy's sort) are refused by name."""
    y = np.asarray(y)
    try:
        classes = np.unique(y)
    except TypeError as e:
        kinds = sorted({type(v).__name__ for v in y.ravel()})
        raise InvalidInput(
            f"IAIClassifier needs labels of one sortable type; these mix {kinds} ({e}): "
            "convert them first, e.g. y.astype(str)"
        ) from e
    check_classification_targets(y)
    return classes


def label_indices(classes: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Each label's index in the sorted `classes`; a ValueError naming the labels not among
    them."""
    index = np.searchsorted(classes, y)
    inside = index.clip(0, len(classes) - 1)
    unknown = (index >= len(classes)) | (classes[inside] != y)
    if unknown.any():
        raise ValueError(
            f"y holds labels not among classes_ {classes!r}: {np.unique(y[unknown])!r}"
        )
    return index
