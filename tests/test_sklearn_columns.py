"""A DataFrame's categorical and string columns are read by the estimators as codes."""

import numpy as np
import pandas as pd
import pytest

from iai.sklearn import IAIClassifier, IAIRegressor


def table(n: int = 120, seed: int = 0):
    rng = np.random.default_rng(seed)
    colour = rng.choice(["red", "green", "blue"], n)
    size = rng.choice(["S", "M", "L"], n)
    num = rng.normal(size=n)
    y = num + (colour == "green") * 2.0 + rng.normal(scale=0.1, size=n)
    frame = pd.DataFrame(
        {
            "num": num,
            "colour": colour.astype(object),
            "size": pd.Categorical(size, categories=["S", "M", "L"]),
        }
    )
    return frame, y


def codes_by_hand(frame: pd.DataFrame, met: list) -> np.ndarray:
    """The same table as numbers: colour coded in the order met, size in declared order."""
    colour = frame["colour"].map({v: float(i) for i, v in enumerate(met)}).to_numpy(float)
    size = frame["size"].cat.codes.to_numpy(float)
    return np.column_stack([frame["num"].to_numpy(), colour, size])


@pytest.mark.parametrize("learner", [None, "tabular-tokens-regression"])
def test_categorical_and_string_columns_predict_as_their_codes_do(learner):
    frame, y = table()
    met = list(pd.unique(frame["colour"][:80]))
    est = IAIRegressor(learner=learner).fit(frame[:80], y[:80])
    by_hand = IAIRegressor(learner=learner).fit(codes_by_hand(frame[:80], met), y[:80])
    # a DataFrame converts to another memory layout than column_stack's: the last bits differ,
    # and the foundation model computes in float32
    np.testing.assert_allclose(
        est.predict(frame[80:]), by_hand.predict(codes_by_hand(frame[80:], met)), 1e-5, 1e-5
    )
    assert list(est.feature_names_in_) == ["num", "colour", "size"]
    assert est.categories_.categories == {"colour": met, "size": ["S", "M", "L"]}
    # a category that matters is learned: green rows lie 2 above the others
    assert np.sqrt(np.mean((est.predict(frame[80:]) - y[80:]) ** 2)) < 1.0


def test_partial_fit_extends_the_codes_and_predict_reads_an_unmet_value_as_missing():
    frame, y = table()
    first = frame[frame["colour"] != "blue"]
    est = IAIClassifier().partial_fit(first[:40], (y[frame["colour"] != "blue"] > 0)[:40], [0, 1])
    assert "blue" not in est.categories_.categories["colour"]
    unmet = frame[frame["colour"] == "blue"][:5]
    as_missing = unmet.assign(colour=None)
    np.testing.assert_array_equal(est.predict_proba(unmet), est.predict_proba(as_missing))
    est.partial_fit(frame[:60], (y > 0)[:60])
    assert est.categories_.categories["colour"][-1] == "blue"
    assert est.categories_.categories["colour"][:2] == list(pd.unique(first["colour"][:40]))


def test_a_refit_starts_the_codes_afresh_and_numbers_in_objects_are_still_refused():
    frame, y = table()
    est = IAIRegressor().fit(frame, y)
    est.fit(frame.assign(colour=frame["colour"].map({"red": "a", "green": "b", "blue": "c"})), y)
    assert sorted(est.categories_.categories["colour"]) == ["a", "b", "c"]
    mixed = frame.assign(colour=pd.Series([1, "a"] * 60, dtype=object))
    with pytest.raises(ValueError, match="could not convert|a"):
        IAIRegressor().fit(mixed, y)
