"""The taxonomy of learners, all behind one interface (`iai.learners.base.Learner`)."""

from iai.errors import InvalidConfig
from iai.learners.base import Learner, State
from iai.learners.explicit import ExplicitConfig, ExplicitLearner
from iai.learners.flow import FlowConfig, flow_learner
from iai.learners.implicit import ImplicitConfig, ImplicitLearner
from iai.learners.maml import MAMLConfig, MAMLLearner
from iai.learners.mixture import MixtureConfig, MixtureLearner
from iai.learners.optimizer import OptimizerConfig, OptimizerLearner
from iai.learners.parametric import ParametricConfig, ParametricLearner
from iai.learners.tabular import TabularConfig, TabularLearner
from iai.models.predictors import check_model
from iai.tasks.objective import Objective

# kind -> (config dataclass, learner class); a learner is built from its config, the input
# dimension and the task's objective.
LEARNERS = {
    "parametric": (ParametricConfig, ParametricLearner),
    "explicit": (ExplicitConfig, ExplicitLearner),
    "implicit": (ImplicitConfig, ImplicitLearner),
    "optimizer": (OptimizerConfig, OptimizerLearner),
    "maml": (MAMLConfig, MAMLLearner),
    # any table width (up to the prior's dim): the model behind iai.sklearn
    "tabular": (TabularConfig, TabularLearner),
    # generative: samples of a density task in, samples and densities out
    "flow": (FlowConfig, flow_learner),
    "mixture": (MixtureConfig, MixtureLearner),
}


# the learners that read samples of a density (and only they can): they generate, not predict
GENERATIVE = ("flow", "mixture")


def build_learner(cfg, dim: int, objective: Objective, model=None) -> Learner:
    """The learner `cfg` describes; `model`: a user-defined fixed model f(x; θ) for the
    parametric learner (see `iai.models.predictors.check_model`)."""
    if cfg.kind not in LEARNERS:
        raise InvalidConfig(f"unknown learner {cfg.kind!r}; known: {sorted(LEARNERS)}")
    if (cfg.kind in GENERATIVE) != (objective.kind == "density"):
        fits = f"one of {GENERATIVE}" if objective.kind == "density" else "a predictive learner"
        raise InvalidConfig(
            f"learner.kind = {cfg.kind!r} does not fit a {objective.kind!r} task: it needs {fits}"
        )
    if model is None:
        return LEARNERS[cfg.kind][1](cfg, dim, objective)
    if cfg.kind != "parametric" or cfg.model != "custom":
        raise InvalidConfig(
            "a user-defined model plugs into learner.kind = 'parametric' with learner.model = "
            f"'custom'; this config has kind {cfg.kind!r}, model {getattr(cfg, 'model', None)!r}"
        )
    check_model(model, dim, objective.out_dim)
    return ParametricLearner(cfg, dim, objective, model=model)


__all__ = [
    "LEARNERS",
    "ExplicitConfig",
    "FlowConfig",
    "ImplicitConfig",
    "Learner",
    "MAMLConfig",
    "MixtureConfig",
    "OptimizerConfig",
    "ParametricConfig",
    "ParametricLearner",
    "State",
    "TabularConfig",
    "build_learner",
]
