"""The taxonomy of learners, all behind one interface (`iai.learners.base.Learner`)."""

from iai.errors import InvalidConfig
from iai.learners.base import Learner, State
from iai.learners.parametric import ParametricConfig, ParametricLearner
from iai.models.likelihood import Likelihood

# kind -> (config dataclass, learner class); a learner is built from its config, the input
# dimension and the task's likelihood.
LEARNERS = {"parametric": (ParametricConfig, ParametricLearner)}


def build_learner(cfg, dim: int, likelihood: Likelihood) -> Learner:
    if cfg.kind not in LEARNERS:
        raise InvalidConfig(f"unknown learner {cfg.kind!r}; known: {sorted(LEARNERS)}")
    return LEARNERS[cfg.kind][1](cfg, dim, likelihood)


__all__ = ["LEARNERS", "Learner", "ParametricConfig", "ParametricLearner", "State", "build_learner"]
