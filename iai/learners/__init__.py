"""The taxonomy of learners, all behind one interface (`iai.learners.base.Learner`)."""

from iai.errors import InvalidConfig
from iai.learners.base import Learner, State
from iai.learners.explicit import ExplicitConfig, ExplicitLearner
from iai.learners.implicit import ImplicitConfig, ImplicitLearner
from iai.learners.maml import MAMLConfig, MAMLLearner
from iai.learners.optimizer import OptimizerConfig, OptimizerLearner
from iai.learners.parametric import ParametricConfig, ParametricLearner
from iai.tasks.objective import Objective

# kind -> (config dataclass, learner class); a learner is built from its config, the input
# dimension and the task's objective.
LEARNERS = {
    "parametric": (ParametricConfig, ParametricLearner),
    "explicit": (ExplicitConfig, ExplicitLearner),
    "implicit": (ImplicitConfig, ImplicitLearner),
    "optimizer": (OptimizerConfig, OptimizerLearner),
    "maml": (MAMLConfig, MAMLLearner),
}
LearnerConfig = ParametricConfig | ExplicitConfig | ImplicitConfig | OptimizerConfig | MAMLConfig


def build_learner(cfg, dim: int, objective: Objective) -> Learner:
    if cfg.kind not in LEARNERS:
        raise InvalidConfig(f"unknown learner {cfg.kind!r}; known: {sorted(LEARNERS)}")
    return LEARNERS[cfg.kind][1](cfg, dim, objective)


__all__ = [
    "LEARNERS",
    "ExplicitConfig",
    "ImplicitConfig",
    "Learner",
    "LearnerConfig",
    "MAMLConfig",
    "OptimizerConfig",
    "ParametricConfig",
    "ParametricLearner",
    "State",
    "build_learner",
]
