"""The estimators each target is measured with: IAI, scikit-learn's usual defaults and the
online learners (scikit-learn partial_fit and river), and how a target is scored."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from river import forest, linear_model, metrics, preprocessing, tree
from sklearn.compose import TransformedTargetRegressor
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression, RidgeCV, SGDClassifier, SGDRegressor
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from iai.sklearn import IAIClassifier, IAIRegressor

TOL = 0.05  # "near the best baseline": RMSE ≤ 1.05 × best, accuracy ≥ 0.95 × best


class Online:
    """A partial_fit model behind its own StandardScaler, each updated by partial_fit before the
    model (sklearn's Pipeline has no partial_fit); regression scales the target the same way."""

    def __init__(self, model: Any, scale_target: bool) -> None:
        self.model, self.x = model, StandardScaler()
        self.y = StandardScaler() if scale_target else None

    def partial_fit(self, X: np.ndarray, y: np.ndarray, **kw: Any) -> "Online":
        self.x.partial_fit(X)
        if self.y is not None:
            y = self.y.partial_fit(y[:, None]).transform(y[:, None])[:, 0]
        self.model.partial_fit(self.x.transform(X), y, **kw)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        pred = self.model.predict(self.x.transform(X))
        return pred if self.y is None else self.y.inverse_transform(pred[:, None])[:, 0]


def _regression_baselines(seed: int) -> dict[str, Any]:
    # The MLP also gets a standardized target, as IAI standardizes its own: with raw-unit targets
    # its default step size and 200 epochs underfit. The other baselines are scale-equivariant.
    mlp = make_pipeline(StandardScaler(), MLPRegressor(random_state=seed))
    return {
        "ridge": make_pipeline(StandardScaler(), RidgeCV()),
        "kNN": make_pipeline(StandardScaler(), KNeighborsRegressor()),
        "random forest": RandomForestRegressor(random_state=seed, n_jobs=1),
        "hist GB": HistGradientBoostingRegressor(random_state=seed),
        "MLP": TransformedTargetRegressor(mlp, transformer=StandardScaler()),
    }


def _classification_baselines(seed: int) -> dict[str, Any]:
    return {
        "logistic": make_pipeline(StandardScaler(), LogisticRegression()),
        "kNN": make_pipeline(StandardScaler(), KNeighborsClassifier()),
        "random forest": RandomForestClassifier(random_state=seed, n_jobs=1),
        "hist GB": HistGradientBoostingClassifier(random_state=seed),
        "MLP": make_pipeline(StandardScaler(), MLPClassifier(random_state=seed)),
    }


def _regression_online(seed: int, classes: int, learner: str | None = None) -> dict[str, Any]:
    # PassiveAggressiveRegressor is deprecated in scikit-learn 1.8; this is its stated successor.
    pa = SGDRegressor(
        loss="epsilon_insensitive", penalty=None, learning_rate="pa1", eta0=1.0, random_state=seed
    )
    return {
        "IAI": IAIRegressor(learner=learner),
        "SGD": Online(SGDRegressor(random_state=seed), True),
        "MLP": Online(MLPRegressor(random_state=seed), True),
        "PA (SGD pa1)": Online(pa, True),
        # river's linear model learns by SGD too, so it gets the same target scaling.
        "river linear": preprocessing.TargetStandardScaler(
            preprocessing.StandardScaler() | linear_model.LinearRegression()
        ),
        "river HAT": tree.HoeffdingAdaptiveTreeRegressor(seed=seed),
        "river ARF": forest.ARFRegressor(seed=seed),
    }


def _classification_online(seed: int, classes: int, learner: str | None = None) -> dict[str, Any]:
    # PassiveAggressiveClassifier is deprecated in scikit-learn 1.8; this is its stated successor.
    pa = SGDClassifier(loss="hinge", penalty=None, learning_rate="pa1", eta0=1.0, random_state=seed)
    linear = linear_model.LogisticRegression() if classes == 2 else linear_model.SoftmaxRegression()
    return {
        "IAI": IAIClassifier(learner=learner),
        "SGD": Online(SGDClassifier(random_state=seed), False),
        "MLP": Online(MLPClassifier(random_state=seed), False),
        "PA (SGD pa1)": Online(pa, False),
        "river linear": preprocessing.StandardScaler() | linear,
        "river HAT": tree.HoeffdingAdaptiveTreeClassifier(seed=seed),
        "river ARF": forest.ARFClassifier(seed=seed),
    }


@dataclass(frozen=True)
class Kind:
    """What a target asks for: the IAI estimator, the baselines, the online learners, the metric."""

    name: str
    classifies: bool
    iai: Callable[..., Any]  # the estimator class: IAIRegressor or IAIClassifier
    baselines: Callable[[int], dict[str, Any]]  # seed -> unfitted estimators
    # seed, classes, IAI's `learner` (None: the default) -> partial_fit or river learners
    online: Callable[..., dict[str, Any]]

    @property
    def metric(self) -> str:
        return "accuracy" if self.classifies else "RMSE"

    def score(self, y: np.ndarray, pred: np.ndarray) -> float:
        if self.classifies:
            return float(np.mean(pred == y))
        return float(np.sqrt(np.mean((pred - y) ** 2)))

    def better(self, a: float, b: float) -> bool:
        return a > b if self.classifies else a < b

    def best(self, scores: list[float]) -> float:
        return max(scores) if self.classifies else min(scores)

    def near(self, score: float, best: float) -> bool:
        return score >= (1 - TOL) * best if self.classifies else score <= (1 + TOL) * best

    @property
    def error_name(self) -> str:
        return "error rate" if self.classifies else "RMSE"

    def error(self, score: float) -> float:
        """The stream's error: RMSE, or the error rate 1 - accuracy."""
        return 1 - score if self.classifies else score

    def river_metric(self) -> metrics.base.Metric:
        return metrics.Accuracy() if self.classifies else metrics.RMSE()

    def partial_kw(self, y: np.ndarray) -> dict[str, Any]:
        return {"classes": np.unique(y)} if self.classifies else {}


REGRESSION = Kind("regression", False, IAIRegressor, _regression_baselines, _regression_online)
CLASSIFICATION = Kind(
    "classification", True, IAIClassifier, _classification_baselines, _classification_online
)
