"""2-D point clouds of capital letters: a task is one letter's glyph, sampled uniformly.

A task draws a letter (A–T in training, U–Z held out), an angle uniform in [−20°, 20°] and a
scale uniform in [0.8, 1.2]. Its points are uniform inside the filled glyph of DejaVu Sans
Bold (or Serif Bold, the `serif` variant) with the holes of A, B, D, O, P, Q, R left empty;
each glyph is centred and scaled to unit pooled std, then rotated, scaled and jittered by
N(0, 0.02²) per point. The fonts ship with matplotlib: nothing is downloaded.

A glyph is rasterized once to a fine mask of square cells; a point is a uniform inside cell
plus uniform jitter within it, so the density is exactly uniform on the union of the cells.
"""

import functools
import math
import os
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import torch

from iai.errors import InvalidConfig
from iai.tasks.base import DensityFamily, Tasks
from iai.tasks.config import TaskConfig
from iai.tasks.objective import Density

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
LETTERS = {"train": range(0, 20), "held_out": range(20, 26)}  # indices into ALPHABET
FONTS = {"sans": "DejaVuSans-Bold.ttf", "serif": "DejaVuSerif-Bold.ttf"}
RESOLUTION = 256  # cells along a glyph's longer side
MAX_ANGLE = math.radians(20.0)
SCALES = (0.8, 1.2)
JITTER = 0.02


def outline(letter: str, font: str):
    """The glyph's outline as a matplotlib TextPath, in font units of size 1000.

    Size 1000, not 1: `to_polygons` flattens the Bézier curves to a tolerance in path units,
    so at size 1 an 'O' becomes a 17-gon; at 1000 its area is within 0.1 % of the curve's.
    """
    import matplotlib
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextPath

    fname = os.path.join(matplotlib.get_data_path(), "fonts", "ttf", FONTS[font])
    return TextPath((0, 0), letter, size=1000, prop=FontProperties(fname=fname))


@functools.cache
def glyph(letter: str, font: str) -> tuple[torch.Tensor, float]:
    """The inside cells of a glyph's mask: centres (M, 2) and the cells' side, in float64,
    centred and scaled so that a uniform point of the cells has mean 0 and pooled std 1.

    Inside is the even-odd rule over the outline's polygons: `Path.contains_points` on the
    whole path would fill the holes.
    """
    from matplotlib.path import Path

    polygons = outline(letter, font).to_polygons()
    lo = np.min([p.min(0) for p in polygons], 0)
    hi = np.max([p.max(0) for p in polygons], 0)
    side = (hi - lo).max() / RESOLUTION
    nx, ny = np.ceil((hi - lo) / side).astype(int)
    gx, gy = np.meshgrid(lo[0] + side * (np.arange(nx) + 0.5), lo[1] + side * (np.arange(ny) + 0.5))
    grid = np.stack([gx.ravel(), gy.ravel()], 1)  # (nx · ny, 2)
    crossings = sum(Path(p).contains_points(grid).astype(int) for p in polygons)
    cells = grid[crossings % 2 == 1]  # (M, 2)
    # Moments of the uniform law on the cells, exactly: a cell adds side²/12 to each variance.
    mean = cells.mean(0)
    pooled = math.sqrt((cells.var(0) + side**2 / 12).mean())
    return torch.from_numpy((cells - mean) / pooled), side / pooled


@dataclass(frozen=True)
class LettersConfig(TaskConfig):
    """Which letters ('train': A–T, 'held_out': U–Z) in which DejaVu font, bold."""

    name: Literal["letters"] = "letters"
    dim: int = 2
    letters: Literal["train", "held_out"] = "train"
    font: Literal["sans", "serif"] = "sans"
    shifts = {  # unseen letters, or the seen ones in an unseen font
        "held_out_letters": lambda c: replace(c, letters="held_out"),
        "serif": lambda c: replace(c, font="serif"),
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.dim != 2:
            raise InvalidConfig(
                f"task.dim = {self.dim}; letters samples 2-D points: set task.dim = 2"
            )


class Letters(DensityFamily):
    out_dim = 2
    cfg: LettersConfig

    def __init__(self, cfg: LettersConfig) -> None:
        super().__init__(cfg)
        # Every letter's cells, padded, so that any letter is sampled without a loop over
        # tasks: cells (26, most cells, 2), counts (26,), side (26,).
        glyphs = [glyph(c, cfg.font) for c in ALPHABET]
        counts = [len(cells) for cells, _ in glyphs]
        dtype = torch.get_default_dtype()
        self.cells = torch.zeros(26, max(counts), 2, dtype=dtype)
        for i, (cells, _) in enumerate(glyphs):
            self.cells[i, : counts[i]] = cells.to(dtype)
        self.counts = torch.tensor(counts)
        self.side = torch.tensor([side for _, side in glyphs], dtype=dtype)

    def sample(
        self, n_tasks: int, n_points: int, n_query: int, *, generator: torch.Generator
    ) -> Tasks:
        """T tasks of N training samples and Q query rows [x₁, x₀, t] (T, Q, 5)."""
        truth = self.draw(n_tasks, generator=generator)
        x_train = self.points(truth, n_points, generator=generator)  # (T, N, 2)
        x1 = self.points(truth, n_query, generator=generator)  # (T, Q, 2)
        return Tasks(x_train, None, Density(2).queries(x1, generator), None, truth)

    def draw(self, n_tasks: int, *, generator: torch.Generator) -> dict[str, torch.Tensor]:
        """T tasks' truth: letter (T,) index into ALPHABET, angle (T,) radians, scale (T,)."""
        allowed = LETTERS[self.cfg.letters]
        letter = allowed.start + torch.randint(len(allowed), (n_tasks,), generator=generator)
        angle = MAX_ANGLE * (2 * torch.rand(n_tasks, generator=generator) - 1)
        lo, hi = SCALES
        scale = lo + (hi - lo) * torch.rand(n_tasks, generator=generator)
        return {"letter": letter, "angle": angle, "scale": scale}

    def uniform(self, letter: torch.Tensor, n: int, *, generator: torch.Generator) -> torch.Tensor:
        """n points uniform on each normalized glyph, untransformed: letter (T,) -> (T, n, 2)."""
        counts = self.counts[letter].unsqueeze(1)  # (T, 1)
        # float64 so that u · count stays below count for glyphs of tens of thousands of cells
        u = torch.rand(len(letter), n, generator=generator, dtype=torch.float64)
        index = (u * counts).long().clamp_max(counts - 1)  # (T, n)
        centres = self.cells[letter.unsqueeze(1), index]  # (T, n, 2)
        within = torch.rand(centres.shape, generator=generator) - 0.5
        return centres + self.side[letter].view(-1, 1, 1) * within

    def points(
        self, truth: dict[str, torch.Tensor], n: int, *, generator: torch.Generator
    ) -> torch.Tensor:
        """n fresh samples (T, n, 2) of each task's distribution, given its `truth` (`draw`)."""
        p = self.uniform(truth["letter"], n, generator=generator)  # (T, n, 2)
        cos, sin = truth["angle"].cos(), truth["angle"].sin()
        rotation = torch.stack([torch.stack([cos, -sin], -1), torch.stack([sin, cos], -1)], -2)
        x = truth["scale"].view(-1, 1, 1) * p @ rotation.mT  # (T, n, 2): rows are R p
        return x + JITTER * torch.randn(x.shape, generator=generator)
