"""Column scales for `iai.sklearn` whose mean and std cannot overflow or underflow at any
float64 magnitude.

A column's mean and std computed as they are written overflow once its values pass about
1e154 (their squares pass float64's 1.8e308) and underflow below 1e-162, where every
deviation squares to 0: the estimators then predicted ±inf, a constant, or ended in a
Cholesky error (issue 24, findings 6 and 7). Here a column is first divided by the power of
two 2^e nearest above its largest |value|, which is exact (only the exponent changes), so
its values lie in (-1, 1); the deviations from the mean are divided likewise by their own
largest before they are squared. What remains is O(1) arithmetic, and the learner reads
z = (x · 2^-e - center) / spread, the same numbers for x and for x · 2^k.
"""

from dataclasses import dataclass

import numpy as np
import torch

from iai.errors import InvalidInput
from iai.tasks.tabular import standardize

# the largest |regression target|: 2^16 below float64's largest, room for the predictions
TARGET_EXPONENT = 1008
# the farthest a standardized target may lie from 0: later rows of a stream are standardized
# by the first ones, and the learner squares residuals
TARGET_SPREAD = 1e8


@dataclass(frozen=True)
class ColumnScale:
    """Per column (d,): the exponent e (x is read as x · 2^-e), and the mean (`center`) and
    std (`spread`, n - 1 as the prior's; 0 for a column of one value, read as 1) of x · 2^-e.
    `columns`: which d columns of a wider table these are (`iai.sklearn_selection`); None: all."""

    exponent: np.ndarray  # (d,) int
    center: np.ndarray  # (d,)
    spread: np.ndarray  # (d,)
    columns: np.ndarray | None = None  # (d,) int

    def pick(self, X: np.ndarray) -> np.ndarray:
        """The columns of X (n, D) this scale is of: (n, d)."""
        return X if self.columns is None else X[:, self.columns]

    @property
    def mean(self) -> np.ndarray:
        """The columns' means in their own units."""
        return np.ldexp(self.center, self.exponent)

    @property
    def std(self) -> np.ndarray:
        """The columns' stds in their own units (0 for a column of one value)."""
        return np.ldexp(self.spread, self.exponent)

    def unit(self, X: np.ndarray) -> np.ndarray:
        """X (n, D) -> its columns (n, d) · 2^-e, exactly."""
        return np.ldexp(self.pick(X), -self.exponent)

    def divisor(self) -> np.ndarray:
        """The spread a column is divided by: its own, or 1 (in its units) where it is 0."""
        return np.where(self.spread > 0, self.spread, 1.0)


def _exponent(a: np.ndarray) -> np.ndarray:
    """(d,) e with max |a| over rows in [2^(e-1), 2^e), ignoring NaN; 0 for a column of zeros
    or of NaN alone."""
    top = np.where(np.isnan(a), 0.0, np.abs(a)).max(0, initial=0.0)
    return np.frexp(top)[1]


def column_scale(X: np.ndarray, columns: np.ndarray | None = None) -> ColumnScale:
    """The scale of each column of X (n, D), or of those `columns` names, ignoring NaN
    (missing values)."""
    X = X if columns is None else X[:, columns]
    e = _exponent(X)
    x = np.ldexp(X, -e)  # |x| < 1 wherever it is not NaN
    seen = ~np.isnan(x)
    count = seen.sum(0)
    center = np.where(count > 0, np.nansum(x, 0) / np.maximum(count, 1), 0.0)
    dev = np.where(seen, x - center, 0.0)
    # by a power of two again, so that deviations far below the values (1 + 1e-170 ε) do not
    # square to 0
    k = _exponent(dev)
    var = np.square(np.ldexp(dev, -k)).sum(0) / np.maximum(count - 1, 1)
    spread = np.ldexp(np.sqrt(var), k)
    # one value, or none: by the values rather than a threshold on the spread, so a column in
    # units of 1e-9 is still a column
    low = np.where(seen, x, np.inf).min(0, initial=np.inf)
    high = np.where(seen, x, -np.inf).max(0, initial=-np.inf)
    constant = (count < 2) | (low == high)
    return ColumnScale(e, center, np.where(constant, 0.0, spread), columns)


def features(X: np.ndarray, scale: ColumnScale) -> torch.Tensor:
    """(n, D) rows -> (1, n, d) float64 as the learner reads them: the scale's columns,
    standardized, clipped to ± CLIP, NaN as 0 (`iai.tasks.tabular.standardize`)."""
    x = torch.from_numpy(np.require(scale.unit(X), np.float64, ["W"]))
    center, spread = torch.from_numpy(scale.center), torch.from_numpy(scale.spread)
    return standardize(x, center, spread)[None]


def targets(y: np.ndarray, scale: ColumnScale, scaling_rows: int) -> torch.Tensor:
    """(n,) regression targets -> (1, n) standardized by a one-column scale (not clipped);
    refused where a stream's later target lies so far from the rows that set the scale
    (`scaling_rows` or more) that the learner's squares would overflow."""
    z = (scale.unit(y.astype(np.float64)[:, None]) - scale.center) / scale.divisor()
    if np.abs(z).max(initial=0.0) > TARGET_SPREAD:
        raise InvalidInput(
            f"y holds {y[np.abs(z[:, 0]).argmax()]:.3g}, more than {TARGET_SPREAD:.0e} "
            f"standard deviations from the mean of the {scaling_rows} or more rows that set "
            "the scale; rescale the stream, or set the scale on more varied rows "
            "(scaling_rows)"
        )
    return torch.from_numpy(np.ascontiguousarray(z[:, 0]))[None]


def restore(z: np.ndarray, scale: ColumnScale, shift: bool = True) -> np.ndarray:
    """Standardized values z -> the target's units (`shift=False` for a std)."""
    v = z * scale.divisor()[0] + (scale.center[0] if shift else 0.0)
    return np.ldexp(v, scale.exponent[0])


def representable(y: np.ndarray) -> None:
    """Refuse regression targets whose predictions could pass float64's range, by name."""
    top = float(np.abs(y).max(initial=0.0))
    if np.frexp(top)[1] > TARGET_EXPONENT:
        raise InvalidInput(
            f"IAIRegressor reads targets up to 2^{TARGET_EXPONENT} ≈ "
            f"{2.0**TARGET_EXPONENT:.2g} in magnitude (its predictions need room below "
            f"float64's largest, 1.8e308); y reaches {top:.3g}: rescale it"
        )
