"""A letter classifier for generated point clouds: is a cloud recognizably its letter?

Features are a blurred 2-D histogram of the cloud, normalized by its size so that clouds of any
n are comparable; the classifier, a one-hidden-layer MLP, is trained on true clouds of all 26
letters in both fonts, rotated and scaled as the `letters` family does, dense and sparse (500
and 100 points) so that it reads both. benchmarks/letter_classifier.py measures it on true
clouds; benchmarks/generative.py (`letters`) reads generated clouds with it.
"""

import warnings

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from iai.tasks.config import TaskConfig
from iai.tasks.letters import Letters

BINS, EXTENT, BLUR = 16, 2.5, 0.75  # histogram over [−2.5, 2.5]², Gaussian blur std in bins


def features(clouds: torch.Tensor) -> np.ndarray:
    """Clouds (T, n, 2) -> features (T, BINS²): the blurred histogram as a density relative
    to a uniform one over the extent (counts · BINS² / n), so that features are O(1) for any n.

    The blur lets a sparse cloud (n = 100 puts under one point in a bin) look like a dense one.
    """
    clouds = clouds.detach().cpu().float()  # a learner's samples may carry grad or sit on GPU
    T, n, _ = clouds.shape
    cell = ((clouds + EXTENT) / (2 * EXTENT) * BINS).floor().long()  # (T, n, 2)
    inside = ((cell >= 0) & (cell < BINS)).all(-1)  # points beyond the extent are dropped
    flat = cell[..., 0] * BINS + cell[..., 1] + BINS * BINS * torch.arange(T).unsqueeze(1)
    counts = torch.bincount(flat[inside], minlength=T * BINS * BINS).float() * (BINS * BINS / n)
    image = counts.view(T, 1, BINS, BINS)
    r = torch.arange(-2, 3, dtype=torch.float32)
    k = (-0.5 * (r / BLUR) ** 2).exp()
    k = (k / k.sum()).view(1, 1, 5, 1)
    image = F.conv2d(F.conv2d(image, k, padding=(2, 0)), k.mT, padding=(0, 2))
    return image.view(T, -1).numpy()


def true_clouds(
    prior: Letters, letters: torch.Tensor, n: int, *, generator: torch.Generator
) -> torch.Tensor:
    """True clouds (T, n, 2) of the given letters (T,), rotated and scaled as the family does."""
    truth = prior.draw(len(letters), generator=generator)  # a random angle and scale per cloud
    truth["letter"] = letters
    return prior.points(truth, n, generator=generator)


def fit(
    seed: int = 0, n_points: int | tuple[int, ...] = (500, 100), per_letter: int = 200
) -> MLPClassifier:
    """A classifier of ALPHABET indices from `features`, fitted on `per_letter` true clouds of
    each size in n_points for each letter (A–Z) and font."""
    gen = torch.Generator().manual_seed(seed)
    letters = torch.arange(26).repeat_interleave(per_letter)
    sizes = (n_points,) if isinstance(n_points, int) else n_points
    x, y = [], []
    for font in ("sans", "serif"):
        prior = Letters(TaskConfig(name="letters", dim=2, font=font))
        for n in sizes:
            x.append(features(true_clouds(prior, letters, n, generator=gen)))
            y.append(letters.numpy())
    # A fixed budget of 30 epochs: enough for > 99 % on dense clouds, and fit stays ~10 s.
    clf = MLPClassifier((128,), alpha=1e-3, max_iter=30, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return clf.fit(np.concatenate(x), np.concatenate(y))


def recognize(clf: MLPClassifier, clouds: torch.Tensor, letters: torch.Tensor) -> torch.Tensor:
    """Whether each cloud (T, n, 2) is classified as its letter (T,): (T,) bool."""
    return torch.from_numpy(clf.predict(features(clouds))) == letters.cpu()
