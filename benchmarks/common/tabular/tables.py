"""The bundled tables (scikit-learn and statsmodels, nothing downloaded) and their seeded
train / test splits."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_iris,
    load_wine,
)
from sklearn.model_selection import train_test_split

from common.tabular.learners import CLASSIFICATION, REGRESSION, Kind

ALL = "all"  # the training size "all rows but a 20 % test split"
SIZES, SPLITS, TEST_CAP = (16, 32, 64, 128, 256, ALL), 20, 1000


@dataclass(frozen=True)
class Table:
    name: str
    kind: Kind
    target: str
    X: np.ndarray  # (N, D) float64
    y: np.ndarray  # (N,) float64 targets or int64 labels

    @property
    def classes(self) -> int:
        return len(np.unique(self.y)) if self.kind.classifies else 0

    def describe(self) -> str:
        d, c = self.X.shape[1], f", {self.classes} classes" if self.kind.classifies else ""
        return f"{len(self.y)} rows × {d} feature{'s' * (d > 1)}{c}; target: {self.target}"


def _sklearn(loader: Callable[..., Any], **kw: Any) -> tuple[pd.DataFrame, pd.Series]:
    data = loader(as_frame=True, **kw)
    return data.data, data.target


def _statsmodels(name: str, target: str, drop: tuple[str, ...] = ()) -> tuple[Any, Any]:
    d = getattr(sm.datasets, name).load_pandas().data
    return d.drop(columns=[target, *drop]), d[target]


def _fair() -> tuple[pd.DataFrame, pd.Series]:
    """statsmodels' fair, its nominal occupation codes one-hot (the other codes are ordinal)."""
    X, y = _statsmodels("fair", "affairs")
    return pd.get_dummies(X, columns=["occupation", "occupation_husb"], dtype=float), y


def _fair_any() -> tuple[pd.DataFrame, pd.Series]:
    X, y = _fair()
    return X, y > 0


def _star98() -> tuple[pd.DataFrame, pd.Series]:
    X, above = _statsmodels("star98", "NABOVE", ("NBELOW",))
    d = sm.datasets.star98.load_pandas().data
    return X, above / (above + d.NBELOW)


# name -> (kind, what the target is, builder of (features, target))
TABLES: dict[str, tuple[Kind, str, Callable[[], tuple[Any, Any]]]] = {
    "diabetes": (
        REGRESSION,
        "disease progression after a year (sklearn, unscaled features)",
        lambda: _sklearn(load_diabetes, scaled=False),
    ),
    "star98": (REGRESSION, "share of pupils above the national math median", _star98),
    "engel": (
        REGRESSION,
        "household food expenditure from income",
        lambda: _statsmodels("engel", "foodexp"),
    ),
    "ccard": (
        REGRESSION,
        "average monthly credit-card spending (AVGEXP)",
        lambda: _statsmodels("ccard", "AVGEXP"),
    ),
    "fair": (REGRESSION, "time spent in affairs (`affairs`)", _fair),
    "randhie": (
        REGRESSION,
        "outpatient visits (`mdvis`)",
        lambda: _statsmodels("randhie", "mdvis"),
    ),
    "spector": (
        CLASSIFICATION,
        "grade improved (`GRADE`)",
        lambda: _statsmodels("spector", "GRADE"),
    ),
    "iris": (CLASSIFICATION, "species", lambda: _sklearn(load_iris)),
    "wine": (CLASSIFICATION, "cultivar", lambda: _sklearn(load_wine)),
    "breast_cancer": (CLASSIFICATION, "malignant or benign", lambda: _sklearn(load_breast_cancer)),
    "anes96": (
        CLASSIFICATION,
        "1996 vote, Clinton or Dole (`vote`; `logpopul` dropped as a copy of `popul`)",
        lambda: _statsmodels("anes96", "vote", ("logpopul",)),
    ),
    "fair_any": (CLASSIFICATION, "any time in affairs (`affairs` > 0)", _fair_any),
    "digits": (CLASSIFICATION, "digit 0-9 from 8×8 pixels", lambda: _sklearn(load_digits)),
}
STREAM_TABLES = ("diabetes", "fair", "randhie", "breast_cancer", "anes96", "digits", "fair_any")


def load(name: str) -> Table:
    kind, target, build = TABLES[name]
    X, y = build()
    table = Table(
        name,
        kind,
        target,
        np.asarray(X, np.float64),
        np.asarray(y).astype(np.int64 if kind.classifies else np.float64),
    )
    if table.X.shape[1] > 100 or table.classes > 10:
        raise ValueError(f"{name}: {table.describe()} is past IAI's 100 features or 10 classes")
    return table


def split(table: Table, size: int | str, seed: int) -> tuple[Any, ...]:
    """(X_train, X_test, y_train, y_test, stratified): `size` training rows and the rest (at most
    TEST_CAP rows), or ALL: 80 / 20. Classes are stratified where every class can be split."""
    n = len(table.y)
    train, test = (None, 0.2) if size == ALL else (size, min(TEST_CAP, n - size))
    args = dict(train_size=train, test_size=test, random_state=seed)
    if table.kind.classifies:
        try:
            return *train_test_split(table.X, table.y, stratify=table.y, **args), True
        except ValueError:  # some class has too few rows to stratify at this size
            pass
    return *train_test_split(table.X, table.y, **args), False


def sizes(table: Table, wanted: tuple[int | str, ...]) -> list[int | str]:
    """The wanted sizes that leave at least 20 % of the table to test on."""
    return [s for s in wanted if s == ALL or s <= 0.8 * len(table.y)]
