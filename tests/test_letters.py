"""The letters family: reproducible, the right letters, holes empty, moments normalized."""

import math

import numpy as np
import pytest
import torch

from iai.errors import InvalidConfig
from iai.tasks.config import TaskConfig
from iai.tasks.letters import ALPHABET, Letters, glyph, outline


@pytest.fixture(scope="module")
def sans() -> Letters:
    return Letters(TaskConfig(name="letters", dim=2))


def test_same_seed_same_tasks_and_shapes(sans):
    a, b = (sans.sample(3, 7, 5, generator=torch.Generator().manual_seed(0)) for _ in range(2))
    assert a.x_train.shape == (3, 7, 2) and a.x_query.shape == (3, 5, 5)
    assert a.y_train is None and a.y_query is None
    assert a.x_train.dtype == torch.get_default_dtype()
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.x_query, b.x_query)
    assert all(torch.equal(a.truth[k], b.truth[k]) for k in ("letter", "angle", "scale"))


@pytest.mark.parametrize("letters, allowed", [("train", range(0, 20)), ("held_out", range(20, 26))])
def test_letters_come_from_their_set(letters, allowed):
    prior = Letters(TaskConfig(name="letters", dim=2, letters=letters))
    truth = prior.draw(2000, generator=torch.Generator().manual_seed(1))
    assert set(truth["letter"].tolist()) == set(allowed)
    assert truth["angle"].abs().max() <= math.radians(20)
    assert 0.8 <= truth["scale"].min() and truth["scale"].max() <= 1.2


def test_hole_of_o_is_empty(sans):
    # A naive contains_points on the whole outline fills the counter of the 'O' ...
    path = outline("O", "sans")
    centre = path.vertices.min(0) / 2 + path.vertices.max(0) / 2
    assert path.contains_points(centre[None])[0]
    # ... the even-odd mask leaves it empty: the O's centre is its mean, the origin.
    o = torch.tensor([ALPHABET.index("O")])
    x = sans.uniform(o, 20000, generator=torch.Generator().manual_seed(2))[0]
    assert x.norm(dim=-1).min() > 0.5


@pytest.mark.parametrize("letter", ["B", "I", "Q"])
def test_normalized_glyph_has_zero_mean_unit_pooled_std(sans, letter):
    # Moments of many samples, an independent check of the moments `glyph` computes exactly.
    index = torch.tensor([ALPHABET.index(letter)])
    x = sans.uniform(index, 200_000, generator=torch.Generator().manual_seed(3))[0].double()
    assert x.mean(0).abs().max() < 0.01
    assert abs(x.var(0).mean().sqrt().item() - 1) < 0.01


def test_points_are_rotated_scaled_and_jittered(sans):
    """Second moments of transformed clouds equal s² R Σ Rᵀ + 0.02² I, Σ of the glyph's."""
    letter = torch.full((2,), ALPHABET.index("L"))
    truth = {
        "letter": letter,
        "angle": torch.tensor([0.3, -0.2]),
        "scale": torch.tensor([0.8, 1.2]),
    }
    gen = torch.Generator().manual_seed(4)
    x = sans.points(truth, 200_000, generator=gen).double()
    cells, side = glyph("L", "sans")
    sigma = np.cov(cells.numpy().T, bias=True) + side**2 / 12 * np.eye(2)
    for t in range(2):
        a, s = truth["angle"][t].item(), truth["scale"][t].item()
        r = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
        want = s**2 * r @ sigma @ r.T + 0.02**2 * np.eye(2)
        got = np.cov(x[t].numpy().T, bias=True)
        np.testing.assert_allclose(got, want, atol=0.01)


def test_serif_differs_from_sans():
    for letter in "AR":
        (a, _), (b, _) = glyph(letter, "sans"), glyph(letter, "serif")
        assert a.shape != b.shape or not torch.allclose(a, b)


def test_dim_other_than_2_is_refused():
    with pytest.raises(InvalidConfig, match="task.dim = 2"):
        Letters(TaskConfig(name="letters", dim=3))
