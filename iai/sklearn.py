"""scikit-learn estimators over the pretrained tabular learners shipped in the package.

`IAIRegressor` and `IAIClassifier` adapt to a table by reading its rows in mini-batches with
the learned update of `iai.learners.tabular`, no network trained at fit time (the classifier
then solves for its model's posterior mode, `refine`); `partial_fit` keeps reading, in memory
independent of the rows seen (θ, the Gauss–Newton matrix, a noise estimate: P × P per output).

Standardization. `fit` standardizes features (and regression targets) by the mean and std of
all its rows. A stream cannot know those in advance, so `partial_fit` uses the rows of its
first calls, once at least `scaling_rows` have arrived: until then it keeps a copy of them
(bounded memory) and predicts by reading them afresh, as `fit` would; then it fixes the mean
and std and reads them into the state. Standardized features are clipped to ± 10. The mean
and std are taken in units of each column's magnitude (`iai.sklearn_scaling`), so any finite
float64 scale standardizes alike: X · 1e160 or y · 1e-170 predict as X and y do, scaled.
Targets that equal one value predict that value. Regression targets beyond 2^1008 ≈ 2.7e303
in magnitude are refused (their predictions could pass float64's range), as are strings.

Classes with no example (named in `partial_fit(..., classes=...)`) get probability 0 in
`predict_proba` and are never predicted: the learner has no evidence for them. The others
share the probability as the learner gives it; a first example makes a class like the others.

Missing values (NaN) are ignored by the mean and std; the linear learner then reads them as
the column mean (0 after standardizing), the foundation model as missing (`iai.sklearn_learners`).
Which learner (`learner=`), how many classes each reads: `iai.sklearn_learners`. Features: any
number by default, past the linear learner's 100 its 100 most informative
(`iai.sklearn_selection`; `scale_[0].columns`); a named learner reads at most its width, a
ValueError naming the limit beyond. A DataFrame's categorical and string columns are read as
codes (`iai.sklearn_columns`); one-hot columns work too, and sparse input is read densely.
"""

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import unique_labels
from sklearn.utils.validation import check_is_fitted, validate_data

from iai.errors import InvalidInput
from iai.learners.base import PredictiveLearner
from iai.sklearn_columns import CategoryCodes
from iai.sklearn_ensemble import moments, spread
from iai.sklearn_learners import (
    code_probabilities,
    column_limit,
    for_classes,
    load_learner,
    output_codes,
    posterior_state,
)
from iai.sklearn_learners import rows as read_rows
from iai.sklearn_scaling import ColumnScale, column_scale, representable, restore, targets
from iai.sklearn_selection import informative_columns
from iai.sklearn_targets import label_indices, numeric_targets, sorted_labels
from iai.tasks.objective import Classification, Regression

# the most rows one step reads when max_steps spreads a large call (and one prediction call
# predicts at a time): a step's memory grows with its rows, the call's must not
ROWS_CAP = 1024


class _IAIEstimator(BaseEstimator):
    """What the regressor and classifier share: validation, standardization, reading rows."""

    _shipped: str

    def __init__(
        self,
        batch_size: int = 32,
        max_steps: int = 32,
        scaling_rows: int = 256,
        learner: str | None = None,
        window: int | None = None,
        n_estimators: int = 1,
    ):
        self.batch_size = batch_size
        self.max_steps = max_steps
        self.scaling_rows = scaling_rows
        self.learner = learner
        self.window = window
        self.n_estimators = n_estimators

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.sparse = True
        return tags

    def _check_params(self) -> None:
        def whole(value) -> bool:  # an integer ≥ 1, bools not counted
            integer = isinstance(value, int | np.integer) and not isinstance(value, bool)
            return integer and value >= 1

        for name in ("batch_size", "max_steps", "scaling_rows", "n_estimators"):
            if not whole(value := getattr(self, name)):
                raise ValueError(f"{name} must be an integer ≥ 1, got {value!r}")
        if self.window is not None and not whole(self.window):
            raise ValueError(f"window must be None or an integer ≥ 1, got {self.window!r}")

    def _validate(self, X, *y, reset: bool = False):
        """X, or (X, y) when y is passed, checked and converted: X to a dense float64 array
        (NaN allowed); a y passed as None raises scikit-learn's "requires y to be passed"."""
        if y and self._regression:
            numeric_targets(y[0])
        if reset:
            self.categories_ = CategoryCodes()
        X = self.categories_.encode(X, grow=bool(y))  # a DataFrame's categorical columns as codes
        numeric = {"y_numeric": self._regression} if y else {}
        sparse, finite = ("csr", "csc"), "allow-nan"
        out = validate_data(
            self, X, *y, reset=reset, accept_sparse=sparse, ensure_all_finite=finite,
            dtype=np.float64, **numeric,
        )  # fmt: skip
        X = out[0] if y else out
        limit = column_limit(self._tabular())
        if X.shape[1] > limit and self.learner is not None:  # the default selects (_scale)
            raise ValueError(
                f"{type(self).__name__} handles at most {limit} features (the range its "
                f"learner was trained on); X has {X.shape[1]}: select or reduce "
                "features first (e.g. SelectKBest or PCA in a Pipeline)"
            )
        # sparse input (a ColumnTransformer's output once one-hot columns make it mostly
        # zeros) is read densely: the learner reads dense rows
        X = X.toarray() if sp.issparse(X) else X
        if y and self._regression:
            representable(out[1])
        return (X, out[1]) if y else X

    def _tabular(self) -> PredictiveLearner:
        """The learner `learner` names; by default the linear learner (`iai.sklearn_learners`)."""
        objective = Regression if self._regression else Classification
        return load_learner(self.learner, self._shipped, objective)

    def _reset(self) -> None:
        self._check_params()
        self.learner_ = self._tabular()
        if self.window is not None and not self.learner_.forgets:
            kind = self.learner_.config.learner.kind
            raise ValueError(f"window needs a learner that forgets (the linear one), not {kind}")
        self.n_samples_seen_ = 0
        self.scale_ = None  # (features' ColumnScale[, the target's]) once set
        self.state_ = self._settled = None  # the state once the scale is set; fit's (`_settle`)
        self._pending: list[tuple[np.ndarray, np.ndarray]] = []  # rows before that

    def _fit_rows(self, X: np.ndarray, y: np.ndarray) -> None:
        self._reset()
        self._tally(y)
        self.scale_ = self._scale(X, y)
        order = np.random.default_rng(0).permutation(len(X))  # a table may come sorted
        self.state_ = self._read(X[order], y[order], self.scale_)
        self._settled = self._settle(self.state_, X, y, self.scale_)
        self.n_samples_seen_ = len(X)

    def _stream(self, X: np.ndarray, y: np.ndarray) -> None:
        if self.scale_ is not None:
            self.state_ = self._read(X, y, self.scale_, self.state_)  # first: it may refuse
            self._settled = None
            self._tally(y)
            self.n_samples_seen_ += len(X)
            return
        self._tally(y)
        self.n_samples_seen_ += len(X)
        self._pending.append((X.copy(), y.copy()))  # the caller may reuse its buffers
        if self.n_samples_seen_ >= self.scaling_rows:
            X, y = self._pending_rows()
            self.scale_ = self._scale(X, y)
            self.state_ = self._read(X, y, self.scale_)
            self._pending = []

    def _pending_rows(self, extra: tuple = ()) -> tuple[np.ndarray, np.ndarray]:
        return tuple(np.concatenate(v) for v in zip(*self._pending, *extra, strict=True))

    def _current(self, extra: tuple = ()):
        """(state, scale) to predict from: those read so far, or, while the first rows are
        still setting the scale, a state read afresh from them under their own scale. `extra`:
        ((X, y),) rows read into this state only (labels as indices into classes_), for
        `iai.river`'s rows between its batches."""
        if self.scale_ is not None:
            if extra:
                return self._read(*extra[0], self.scale_, self.state_), self.scale_
            return self.state_ if self._settled is None else self._settled, self.scale_
        X, y = self._pending_rows(extra)
        scale = self._scale(X, y)
        return self._settle(self._read(X, y, scale), X, y, scale), scale

    def _settle(self, state, X: np.ndarray, y: np.ndarray, scale: tuple):
        """The state to predict from when X, y are every row seen: the pass's `state`, or the
        classifier's posterior mode (`refine`). Streams go on from the pass's."""
        return state

    def _scale(self, X: np.ndarray, y: np.ndarray) -> tuple:
        """(the features' scale, *the target's); past the default learner's width, the features
        are its most informative columns (`iai.sklearn_selection`)."""
        width, keep = column_limit(self.learner_), None
        if X.shape[1] > width:  # only the default gets here (_validate)
            keep = informative_columns(X, y, width, self._regression)
        return (column_scale(X, keep), *self._target_scale(y))

    def _read(self, X: np.ndarray, y: np.ndarray, scale: tuple, state=None):
        """`state` (a fresh one if None) after reading rows X, y: in batches of batch_size
        rows, or in max_steps equal batches when there are more rows than that covers."""
        t = self._targets(y, scale)  # (R, n): R tasks, 1 but for a classifier's codings
        # (E · R, n, d): the members' column orders, each with its R codings
        x = spread(read_rows(self.learner_, X, scale[0]), self.n_estimators, len(t))
        t = t.repeat(self.n_estimators, 1)
        t = t.to(x.dtype) if t.is_floating_point() else t  # float32 for the foundation model
        with torch.inference_mode():
            if state is None:
                state = self.learner_.init(x[:, :1])
            rows = max(self.batch_size, min(-(-len(X) // self.max_steps), ROWS_CAP))
            for i in range(0, len(X), rows):
                b = slice(i, i + rows)
                state = self.learner_.step(state, x[:, b], t[:, b])
                if self.window is not None:
                    state = self.learner_.forget(state, self.window)
        return state

    def _outputs(
        self, X, std: bool = False, extra: tuple = ()
    ) -> tuple[torch.Tensor, torch.Tensor | None, tuple]:
        """Raw outputs (E · R, n, C) for X (E members, `iai.sklearn_ensemble`; R: 1, or a
        classifier's codings), with `std` the predictive std (E · R, n), and the scale;
        predicted ROWS_CAP rows at a time."""
        check_is_fitted(self, "n_samples_seen_")
        X = self._validate(X)
        state, scale = self._current(extra)
        outs, stds = [], []
        with torch.inference_mode():
            for i in range(0, len(X), ROWS_CAP):
                x = read_rows(self.learner_, X[i : i + ROWS_CAP], scale[0])
                x = spread(x, self.n_estimators, self._codings())
                outs.append(self.learner_.predict(state, x).double())
                if std:
                    stds.append(self.learner_.predict_std(state, x).double())
        return torch.cat(outs, 1), torch.cat(stds, 1) if std else None, scale


class IAIRegressor(RegressorMixin, _IAIEstimator):
    """Regression by the shipped tabular learner (or the one at `learner`, a checkpoint
    directory). `predict(X, return_std=True)` adds the Gaussian predictive std.

    batch_size: rows per learned update step (the shipped learners were trained on 32).
    max_steps: a call with more than batch_size × max_steps rows reads them in max_steps
    equal steps instead (of at most 1,024 rows): the update, recursive least squares, is nearly
    indifferent to the batching of many rows (benchmarks/results/tabular-batching/), and a
    step's fixed costs dominate up to a few hundred rows. scaling_rows: rows
    `partial_fit` standardizes by (see the module docstring). window: None, the state holds
    every row read; W, the linear learner forgets, weighing rows over about the last W
    (`TabularLearner.forget`), for streams that drift. n_estimators: E members, each reading
    the columns in its own order, their predictions averaged (E × the cost;
    `iai.sklearn_ensemble`). Deterministic: `fit` reads the rows in a fixed shuffled order (a
    seeded permutation), `partial_fit` in the order given.
    """

    _shipped = "tabular-regression"
    _regression = True

    def fit(self, X, y):
        X, y = self._validate(X, y, reset=True)
        self._fit_rows(X, y)
        return self

    def partial_fit(self, X, y):
        first = not hasattr(self, "n_samples_seen_")
        X, y = self._validate(X, y, reset=first)
        if first:
            self._reset()
        self._stream(X, y)
        return self

    def predict(self, X, return_std: bool = False):
        out, std, scale = self._outputs(X, return_std)
        mean, std = moments(out[..., 0], std)  # the members' mixture
        mean = restore(mean.numpy(), scale[1])
        if self._only is not None:  # every target so far one value: that value, exactly
            mean = np.full(len(mean), self._only)
        if return_std:
            std = restore(std.numpy(), scale[1], False)
        if not np.all(np.isfinite(mean)) or (return_std and not np.all(np.isfinite(std))):
            raise InvalidInput(  # kept from happening by TARGET_EXPONENT, so far as we know
                "IAIRegressor's predictions pass float64's range; rescale y (divide it by a "
                "power of ten) and the predictions back"
            )
        return (mean, std) if return_std else mean

    def _reset(self) -> None:
        super()._reset()
        self._only: float | None = None  # the one value every target so far equals, if any

    def _codings(self) -> int:
        return 1

    def _tally(self, y: np.ndarray) -> None:
        value = float(y[0]) if self.n_samples_seen_ == 0 else self._only
        self._only = value if value is not None and np.all(y == value) else None

    def _target_scale(self, y: np.ndarray) -> tuple[ColumnScale]:
        return (column_scale(y[:, None].astype(np.float64)),)

    def _targets(self, y: np.ndarray, scale: tuple) -> torch.Tensor:
        return targets(y, scale[1], self.scaling_rows)


class IAIClassifier(ClassifierMixin, _IAIEstimator):
    """Classification by the shipped tabular learner (or the one `learner` names). Labels of
    any one sortable type, any number of classes (see the module docstring). Parameters as
    IAIRegressor's, and refine: predictions from rows all at hand (`fit`'s, `partial_fit`'s
    while its first rows set the scale) come from the linear learner's posterior mode given
    them, from where its pass left it (`iai.sklearn_learners.posterior_state`; not with a
    window); a stream then goes on from the pass. `class_count_` holds the rows read per class
    (0: never predicted, see the module docstring)."""

    _shipped = "tabular-classification"
    _regression = False

    def __init__(
        self,
        batch_size: int = 32,
        max_steps: int = 32,
        scaling_rows: int = 256,
        learner: str | None = None,
        window: int | None = None,
        n_estimators: int = 1,
        refine: bool = True,
    ):
        super().__init__(batch_size, max_steps, scaling_rows, learner, window, n_estimators)
        self.refine = refine

    def fit(self, X, y):
        X, y = self._validate(X, y, reset=True)
        self._set_classes(sorted_labels(y))
        self._fit_rows(X, self._labels(y))
        return self

    def partial_fit(self, X, y, classes=None):
        first = not hasattr(self, "n_samples_seen_")
        X, y = self._validate(X, y, reset=first)
        sorted_labels(y)
        if first:
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit")
            self._set_classes(sorted_labels(np.asarray(classes)))
        elif classes is not None and not np.array_equal(sorted_labels(classes), self.classes_):
            given = sorted_labels(classes)
            raise ValueError(f"classes={given!r} differs from the first call's {self.classes_!r}")
        unique_labels(self.classes_, y)  # labels of another type than classes_: by name
        labels = self._labels(y)  # before _reset: a first call that fails here starts over
        if first:
            self._reset()
        self._stream(X, labels)
        return self

    def predict_proba(self, X):
        return self._proba(self._outputs(X)[0])

    def _proba(self, out: torch.Tensor) -> np.ndarray:
        """(n, C) class probabilities from raw outputs (E · R, n, L), E members of R codings
        into L groups each: the members' probabilities averaged."""
        members = out.unflatten(0, (self.n_estimators, -1))  # (E, R, n, L)
        return np.mean([code_probabilities(o, self.codes_, self.class_count_) for o in members], 0)

    def predict(self, X):
        proba = self.predict_proba(X)  # first: it raises NotFittedError before classes_ exists
        return self.classes_[proba.argmax(1)]

    def _set_classes(self, classes: np.ndarray) -> None:
        self.classes_ = classes
        outputs = for_classes(self._tabular(), len(classes)).objective.out_dim
        self.codes_ = output_codes(len(classes), outputs)

    def _codings(self) -> int:
        return len(self.codes_)

    def _labels(self, y: np.ndarray) -> np.ndarray:
        return label_indices(self.classes_, y)

    def _reset(self) -> None:
        super()._reset()
        self.learner_ = for_classes(self.learner_, len(self.classes_))
        self.class_count_ = np.zeros(len(self.classes_))  # rows read per class

    def _tally(self, y: np.ndarray) -> None:
        self.class_count_ += np.bincount(y, minlength=len(self.classes_))

    def _check_params(self) -> None:
        super()._check_params()
        if not isinstance(self.refine, bool | np.bool_):
            raise ValueError(f"refine must be True or False, got {self.refine!r}")

    def _settle(self, state, X: np.ndarray, y: np.ndarray, scale: tuple):
        if not self.refine or self.window is not None or len(self.codes_) > 1:
            return state
        return posterior_state(self.learner_, state, X, y, scale[0], self.n_estimators)

    def _target_scale(self, y: np.ndarray) -> tuple:
        return ()

    def _targets(self, y: np.ndarray, scale: tuple) -> torch.Tensor:
        """(R, n): each coding's group of each label."""
        return torch.from_numpy(np.ascontiguousarray(self.codes_[:, np.require(y, np.int64)]))
