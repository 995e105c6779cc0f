"""Sample quality as committed JSON (`iai.evaluation.sampling.to_json`) read back as typed
Curves, and refused where a table is not one `to_json` writes."""

import json

import pytest
import torch

from iai.errors import InvalidInput
from iai.evaluation.sampling import SampleQuality, quality_from_json, quality_table, to_json


def quality() -> SampleQuality:
    g = torch.Generator().manual_seed(0)
    per_task = {
        "energy": torch.rand(3, 7, generator=g),  # (steps, tasks)
        "w2": torch.rand(3, 7, generator=g) + 1,
        "excess_nll": torch.rand(2, 7, generator=g),  # at nll_steps only
    }
    return SampleQuality([0, 1, 5], per_task, nll_steps=[1, 5])


def test_round_trips_to_json_through_a_file():
    q = quality()
    curves = quality_from_json(json.loads(json.dumps(to_json(q))))
    assert list(curves) == ["energy", "w2", "excess_nll"]
    for metric, c in curves.items():
        assert c.at() == ([1, 5] if metric == "excess_nll" else [0, 1, 5])
        assert c.mean == q.mean(metric) and c.se == q.se(metric)
        assert all(c.ok(i) for i in range(len(c.mean)))  # none recorded as diverged


def test_typed_table_has_a_row_per_metric_and_a_column_per_step():
    q = quality()
    text = quality_table({v: quality_from_json(to_json(q)) for v in ("id", "wide")})
    assert text.count("| metric | step 0 | step 1 | step 5 |") == 2
    pairs = zip(q.mean("energy"), q.se("energy"), strict=True)
    energy = " | ".join(f"{m:.4f} ± {s:.4f}" for m, s in pairs)
    assert f"| energy | {energy} |" in text
    assert "| excess_nll |  | " in text  # no entry at step 0


@pytest.mark.parametrize("missing", ["steps", "mean", "se"])
def test_refuses_a_table_without_a_key(missing):
    data = to_json(quality())
    del data["w2"][missing]
    with pytest.raises(InvalidInput, match=f"'w2': no {missing} "):
        quality_from_json(data)


def test_refuses_an_unknown_key_and_a_value_that_is_no_table():
    data = to_json(quality())
    data["energy"]["true_clouds"] = 0.9
    with pytest.raises(InvalidInput, match="'energy': unknown true_clouds "):
        quality_from_json(data)
    with pytest.raises(InvalidInput, match="'seconds': a float, not a table"):
        quality_from_json({**to_json(quality()), "seconds": 1.5})


def test_refuses_lists_of_different_lengths():
    data = to_json(quality())
    data["excess_nll"]["se"] = data["excess_nll"]["se"][:1]
    with pytest.raises(InvalidInput, match="'excess_nll'.*different lengths"):
        quality_from_json(data)
