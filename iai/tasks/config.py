"""The task prior's config and its out-of-distribution variants."""

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

from iai.errors import InvalidConfig


@dataclass(frozen=True)
class TaskConfig:
    """One task family and its hyper-parameters; fields a family does not use are ignored by it.

    noise is the regression noise *variance* β; prior_scale the std of the weight prior;
    x_mean and x_scale shape the input distribution x ~ N(x_mean, x_scale² I).
    """

    name: str = "linear_regression"
    dim: int = 8
    classes: int = 2
    noise: float = 0.25
    temperature: float = 0.1
    hidden: int = 32
    activation: Literal["tanh", "relu"] = "tanh"
    lengthscale: float = 1.0
    signal_scale: float = 1.0
    x_mean: float = 0.0
    x_scale: float = 1.0
    prior_scale: float = 1.0
    pixels: Literal["plain", "permuted", "inverted"] = "plain"  # digits only
    new_classes: bool = False  # digits only: tasks hold the held-out digits
    # Gaussian mixtures: the number of components is uniform in min_components … components,
    # the means are N(0, (2 · prior_scale)² I)
    min_components: int = 1
    components: int = 5
    # letters: which letters ('train': A–T, 'held_out': U–Z) in which DejaVu font, bold
    letters: Literal["train", "held_out"] = "train"
    font: Literal["sans", "serif"] = "sans"

    def __post_init__(self) -> None:
        checks = {  # key -> (holds, the range allowed)
            "dim": (self.dim >= 1, "≥ 1"),
            "classes": (self.classes >= 2, "≥ 2"),
            "noise": (self.noise > 0, "> 0"),
            "temperature": (self.temperature > 0, "> 0"),
            "hidden": (self.hidden >= 1, "≥ 1"),
            "lengthscale": (self.lengthscale > 0, "> 0"),
            "signal_scale": (self.signal_scale > 0, "> 0"),
            "x_scale": (self.x_scale > 0, "> 0"),
            "prior_scale": (self.prior_scale > 0, "> 0"),
            "min_components": (self.min_components >= 1, "≥ 1"),
            "components": (self.components >= self.min_components, "≥ task.min_components"),
        }
        for key, (ok, allowed) in checks.items():
            if not ok:
                raise InvalidConfig(f"task.{key} = {getattr(self, key)!r}; must be {allowed}")
        if self.pixels not in ("plain", "permuted", "inverted"):
            raise InvalidConfig(
                f"task.pixels = {self.pixels!r}; allowed: 'plain', 'permuted', 'inverted'"
            )
        for key, allowed in (("letters", ("train", "held_out")), ("font", ("sans", "serif"))):
            if getattr(self, key) not in allowed:
                raise InvalidConfig(f"task.{key} = {getattr(self, key)!r}; allowed: {allowed}")
        if self.activation not in ("tanh", "relu"):
            raise InvalidConfig(f"task.activation = {self.activation!r}; allowed: 'tanh', 'relu'")


# The variants that move the inputs, noise or prior: every family but digits takes them.
INPUT_SHIFTS = ("shift_x", "wide_x", "noisy", "wide_prior")
# Each shift keeps the family and moves one thing the learner was trained on. The digits
# variants change images and classes; the others change the inputs, noise or prior.
OOD: dict[str, Callable[[TaskConfig], TaskConfig]] = {
    "shift_x": lambda c: replace(c, x_mean=c.x_mean + 1.0),
    "wide_x": lambda c: replace(c, x_scale=2.0 * c.x_scale),
    "noisy": lambda c: replace(c, noise=4.0 * c.noise, temperature=2.0 * c.temperature),
    # A GP's function prior is scaled by signal_scale, every other family's by prior_scale.
    "wide_prior": lambda c: replace(
        c, prior_scale=2.0 * c.prior_scale, signal_scale=2.0 * c.signal_scale
    ),
    "new_classes": lambda c: replace(c, new_classes=True),
    "permuted": lambda c: replace(c, pixels="permuted"),
    "inverted": lambda c: replace(c, pixels="inverted"),
    # generative families: more mixture components than trained on; unseen letters or font
    "many_components": lambda c: replace(c, min_components=6, components=8),
    "held_out_letters": lambda c: replace(c, letters="held_out"),
    "serif": lambda c: replace(c, font="serif"),
}


def shifted(cfg: TaskConfig, ood: str) -> TaskConfig:
    """The out-of-distribution variant `ood` of `cfg`."""
    if ood not in OOD:
        raise InvalidConfig(f"unknown OoD variant {ood!r}; known: {sorted(OOD)}")
    return OOD[ood](cfg)
