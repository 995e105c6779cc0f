"""river's interface over `iai.sklearn`: `learn_one`, `predict_one`, `predict_proba_one` and
`learn_many`, for river's pipelines and `evaluate.progressive_val_score` (river is an optional
extra: `pip install river`).

Rows arrive as dicts. The first row fixes the features, in its keys' order; a later row
without a key reads it as missing (NaN), and a row with a key the first lacked is refused by
name (nothing is dropped in silence). The learner reads `batch_size` rows per learned step, as
it was trained: rows wait in a buffer (at most batch_size - 1 of them) until a batch is full,
and a prediction reads the waiting rows into a copy of the state first, so every prediction
sees every row learned. Classes are met as they come, up to `max_classes` (a new label beyond
them is refused by name); a class not met yet has probability 0. `window=W` forgets, for
streams that drift, and `n_estimators=E` averages E column orders, as `iai.sklearn`'s
estimators do.
"""

import numpy as np
import pandas as pd
from river import base

from iai.sklearn import IAIClassifier, IAIRegressor
from iai.sklearn_ensemble import moments
from iai.sklearn_scaling import restore


class _Rows:
    """What both adapters share: the features' order and the rows waiting for a full batch."""

    def __init__(self, batch_size: int) -> None:
        self.batch_size = batch_size
        self._keys: list | None = None
        self._index: dict = {}  # feature -> column, from the first row
        self._X: list[np.ndarray] = []
        self._y: list = []

    def _row(self, x: dict) -> np.ndarray:
        if self._keys is None:
            self._keys = list(x)
            self._index = {k: i for i, k in enumerate(self._keys)}
        unknown = [k for k in x if k not in self._index]
        if unknown:
            raise ValueError(
                f"feature {unknown[0]!r} was not in the first row (features: {self._keys}); "
                "a learner reads the features of its first row"
            )
        row = np.full(len(self._keys), np.nan)
        for k, v in x.items():
            if not isinstance(v, int | float | np.number | bool) and v is not None:
                raise ValueError(f"feature {k!r} = {v!r} is not a number; encode it first")
            row[self._index[k]] = np.nan if v is None else float(v)
        return row

    def _add(self, x: dict, y) -> None:
        self._X.append(self._row(x))
        self._y.append(y)
        if len(self._X) == self.batch_size:
            self._flush()

    def _flush(self) -> None:
        X, y = self._waiting()
        self.estimator.partial_fit(X, y, **({} if self._fitted() else self._first()))
        self._X, self._y = [], []

    def _waiting(self) -> tuple:
        return (np.array(self._X), self._target(np.array(self._y))) if self._X else ()

    def _fitted(self) -> bool:
        return hasattr(self.estimator, "n_samples_seen_")

    def _raw(self, x: dict):
        """Raw outputs for one row, the waiting rows read into a copy of the state."""
        X = self._row(x)[None]
        if not self._fitted():  # every row so far still waits: read them afresh
            waiting = self._waiting()
            fresh = self._fresh().partial_fit(waiting[0], waiting[1], **self._first())
            return fresh, fresh._outputs(X)
        extra = (self._waiting(),) if self._X else ()
        return self.estimator, self.estimator._outputs(X, extra=extra)

    def learn_many(self, X: pd.DataFrame, y: pd.Series) -> None:
        for (_, row), target in zip(X.iterrows(), y, strict=True):
            self.learn_one(row.to_dict(), target)


class IAIRiverClassifier(_Rows, base.Classifier):
    """IAIClassifier (the shipped learner, or the one `learner` names) as a river classifier."""

    def __init__(
        self,
        batch_size: int = 32,
        max_classes: int = 10,
        learner: str | None = None,
        window: int | None = None,
        n_estimators: int = 1,
    ):
        _Rows.__init__(self, batch_size)
        self.max_classes, self.learner, self.window = max_classes, learner, window
        self.n_estimators = n_estimators
        self.estimator = self._fresh()
        self._labels: list = []

    def _fresh(self) -> IAIClassifier:
        return IAIClassifier(
            batch_size=self.batch_size,
            learner=self.learner,
            window=self.window,
            n_estimators=self.n_estimators,
        )

    def _first(self) -> dict:
        return {"classes": np.arange(self.max_classes)}

    def _target(self, y: np.ndarray) -> np.ndarray:
        return y.astype(np.int64)

    def learn_one(self, x: dict, y) -> None:
        if y not in self._labels:
            if len(self._labels) == self.max_classes:
                raise ValueError(
                    f"label {y!r} is a class beyond max_classes = {self.max_classes} "
                    f"(classes so far: {self._labels}); raise max_classes"
                )
            self._labels.append(y)
        self._add(x, self._labels.index(y))

    def predict_proba_one(self, x: dict) -> dict:
        if not self._labels:
            return {}
        est, (out, _, _) = self._raw(x)
        proba = est._proba(out)[0]
        return {label: float(proba[i]) for i, label in enumerate(self._labels)}


class IAIRiverRegressor(_Rows, base.Regressor):
    """IAIRegressor (the shipped learner, or the one `learner` names) as a river regressor."""

    def __init__(
        self,
        batch_size: int = 32,
        learner: str | None = None,
        window: int | None = None,
        n_estimators: int = 1,
    ):
        _Rows.__init__(self, batch_size)
        self.learner, self.window, self.n_estimators = learner, window, n_estimators
        self.estimator = self._fresh()

    def _fresh(self) -> IAIRegressor:
        return IAIRegressor(
            batch_size=self.batch_size,
            learner=self.learner,
            window=self.window,
            n_estimators=self.n_estimators,
        )

    def _first(self) -> dict:
        return {}

    def _target(self, y: np.ndarray) -> np.ndarray:
        return y.astype(np.float64)

    def learn_one(self, x: dict, y) -> None:
        self._add(x, float(y))

    def predict_one(self, x: dict) -> float:
        if not self._y and not self._fitted():
            return 0.0
        _, (out, _, scale) = self._raw(x)
        mean, _ = moments(out[..., 0], None)  # the members' mean
        return float(restore(mean.numpy(), scale[1])[0])
