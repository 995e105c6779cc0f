"""The learners `iai.sklearn`'s estimators read tables with, and how each reads a row.

Two kinds are shipped in `iai/pretrained/`, by name: the linear learner (`tabular-regression`,
`tabular-classification`: `iai.learners.tabular`, Bayesian linear regression on random Fourier
features with a learned prior, at most 100 features) and the tabular foundation model
(`tabular-tokens-regression`, `tabular-tokens-classification`: `iai.learners.tabular_tokens`,
latent tokens over column-equivariant row tokens, any number of columns up to 4,096). An
estimator's `learner` parameter names one of them or gives the path of a checkpoint of either
kind; by default it is the linear learner (measured the better of the two on the small-data
tables, benchmarks/results/tabular-tokens/), or the foundation model for a table wider than
100 features. The linear learner reads float64 (its solves need it at large n), the foundation model
float32; the foundation model also reads where a value is missing (NaN), which the linear
learner reads as the column's mean.
"""

import copy
import os
from importlib import resources
from pathlib import Path

import numpy as np
import torch

from iai.api import load
from iai.learners.base import PredictiveLearner
from iai.learners.tabular import TabularLearner
from iai.learners.tabular_mode import MAX_ROWS, MIN_ROWS, posterior_mode
from iai.learners.tabular_tokens import TabularTokensLearner
from iai.models.row_embedding import MAX_COLUMNS
from iai.sklearn_ensemble import spread
from iai.sklearn_scaling import ColumnScale, features
from iai.tasks.objective import Classification

KINDS = (TabularLearner, TabularTokensLearner)
LINEAR_COLUMNS = 100  # the shipped linear learners' width; the default for wider tables: tokens
SHIPPED = ("tabular-regression", "tabular-classification")
SHIPPED += ("tabular-tokens-regression", "tabular-tokens-classification")
# loaded learners by path, once per process
_LOADED: dict[str, PredictiveLearner] = {}


def shipped_path(name: str) -> str:
    return str(resources.files("iai") / "pretrained" / name)


def load_learner(spec, default: str, objective: type) -> PredictiveLearner:
    """The learner `spec` names (one of SHIPPED, a checkpoint path, or None: `default`), loaded
    once per process; a ValueError unless it is a tabular learner of `objective`."""
    if spec is None or (isinstance(spec, str) and spec in SHIPPED):
        path = shipped_path(default if spec is None else spec)
    elif isinstance(spec, str | os.PathLike):
        path = os.fspath(spec)
    else:  # checked at fit, as scikit-learn checks parameters
        raise TypeError(
            f"learner must be None (the default shipped learner), one of {list(SHIPPED)} or the "
            f"path of a checkpoint directory (str or os.PathLike), got {type(spec).__name__} "
            f"{spec!r}"
        )
    if path not in _LOADED:
        learner = load(Path(path))
        _LOADED[path] = learner.double() if isinstance(learner, TabularLearner) else learner
    learner = _LOADED[path]
    if not isinstance(learner, KINDS) or not isinstance(learner.objective, objective):
        found = learner.config.learner.kind, learner.objective.kind
        raise ValueError(
            f"learner={spec!r} is a {found[0]} learner for {found[1]}; this estimator needs a "
            f"tabular or tabular_tokens learner for {objective.kind} (configs/tabular/)"
        )
    return learner


def column_limit(learner: PredictiveLearner) -> int:
    """The most columns `learner` reads: its prior's width (linear), the code bank's (tokens)."""
    return learner.dim if isinstance(learner, TabularLearner) else MAX_COLUMNS


def rows(learner: PredictiveLearner, X: np.ndarray, scale: ColumnScale) -> torch.Tensor:
    """(n, d) rows -> (1, n, d) as `learner` reads them: standardized and clipped
    (`iai.sklearn_scaling.features`), in its dtype; for the foundation model NaN where missing."""
    x = features(X, scale)
    if isinstance(learner, TabularLearner):
        return x
    x = x.float()
    missing = torch.from_numpy(np.isnan(scale.pick(X)))[None]
    return x.masked_fill(missing, float("nan")) if missing.any() else x


def for_classes(learner: PredictiveLearner, classes: int) -> PredictiveLearner:
    """`learner` reading `classes` classes: itself when they fit its outputs or it is not
    equivariant over classes (the foundation model: `output_codes` then), else the same
    weights under Classification(classes). Measured beside the output codes on 15 and 40
    classes (benchmarks/results/tabular-tokens/wide.md): read natively, every class is a
    task's class of its own and the others its rivals, as in training."""
    if classes <= learner.objective.out_dim or not learner.any_classes:
        return learner
    wide = copy.copy(learner)  # shares the weights; only the objective differs
    wide.objective = Classification(classes)
    return wide


def output_codes(classes: int, outputs: int) -> np.ndarray:
    """(R, classes) the group of each class in R codings of `outputs` groups each: the
    identity (R = 1) when the classes fit the learner's outputs, else R = ⌈C / (L - 1)⌉
    codings, coding r giving its own group to classes r(L - 1) … (r + 1)(L - 1) - 1 and
    the last group to all the others. The classifier reads each coding as a task of its own
    and scores a class by the sum of its groups' log-probabilities. Measured beside R = 2
    ⌈log C / log L⌉ balanced random codings (benchmarks/results/tabular-tokens/wide.md): on
    40 classes as many codings (5 against 4) read far better, since each task tells up to
    L - 1 classes apart from the rest rather than unions of unrelated classes from each other."""
    if classes <= outputs:
        return np.arange(classes)[None]
    alone = outputs - 1
    rest = np.arange(classes) // alone  # the coding in which each class has a group of its own
    return np.stack(
        [np.where(rest == r, np.arange(classes) % alone, alone) for r in range(rest[-1] + 1)]
    )


def posterior_state(
    learner: PredictiveLearner, state, X: np.ndarray, labels: np.ndarray, scale, members: int = 1
):
    """The state `IAIClassifier` predicts from rows all at hand: for the linear learner, rows
    of two classes or more and MIN_ROWS … MAX_ROWS of them, θ at the posterior mode given
    the rows X (n, d) and labels (n,), over the classes they show (a class declared but not
    shown has probability 0 anyway), `iai.learners.tabular_mode`, for each of `members`
    column orders (`iai.sklearn_ensemble`); else `state`."""
    shown, index = np.unique(labels, return_inverse=True)
    sized = MIN_ROWS <= len(X) <= MAX_ROWS
    if not isinstance(learner, TabularLearner) or not sized or len(shown) < 2:
        return state
    x = spread(rows(learner, X, scale), members)  # (E, n, d)
    y = torch.from_numpy(index.reshape(-1))[None].expand(members, -1)
    return posterior_mode(learner, state, x, y, torch.from_numpy(shown))


def code_probabilities(out: torch.Tensor, codes: np.ndarray, class_count: np.ndarray) -> np.ndarray:
    """(n, C) class probabilities from raw outputs (R, n, L) of R codings `codes` (R, C) into
    L groups: a class's score is the sum of its groups' log-probabilities. A class with no
    example yet (`class_count` 0) gets probability 0 (see iai.sklearn's docstring); every fit
    has read a row, so some class has one."""
    codes = torch.from_numpy(codes)
    used = torch.zeros(out.shape[0], out.shape[2], dtype=torch.bool)
    used.scatter_(1, codes, True)  # (R, L): the groups some class falls in
    logp = out.masked_fill(~used[:, None], -torch.inf).log_softmax(-1)
    score = logp.gather(2, codes[:, None].expand(-1, out.shape[1], -1)).sum(0)  # (n, C)
    unseen = torch.from_numpy(class_count == 0)
    return score.masked_fill(unseen, -torch.inf).softmax(-1).numpy()
