"""The taxonomy of learners, each a `PredictiveLearner` or a `GenerativeLearner`
(`iai.learners.base`).

A new kind is one file here and one line in `LEARNERS`.
"""

from iai.errors import InvalidConfig
from iai.learners.base import GenerativeLearner, Learner, Origin, PredictiveLearner, State
from iai.learners.explicit import ExplicitConfig, ExplicitLearner
from iai.learners.flow import ExplicitFlow, FlowConfig, FlowLearner, ImplicitFlow
from iai.learners.implicit import ImplicitConfig, ImplicitLearner
from iai.learners.maml import MAMLConfig, MAMLLearner
from iai.learners.mixture import MixtureConfig, MixtureLearner
from iai.learners.optimizer import OptimizerConfig, OptimizerLearner
from iai.learners.order import OrderConfig, OrderLearner
from iai.learners.parametric import ParametricConfig, ParametricLearner
from iai.learners.tabular import TabularConfig, TabularLearner
from iai.learners.tabular_tokens import TabularTokensConfig, TabularTokensLearner
from iai.learners.tokens import TokensConfig, TokensLearner
from iai.learners.tokens_flow import TokensFlow
from iai.models.predictors import check_model
from iai.tasks.objective import Objective

FLOW_REGIMES = {"implicit": ImplicitFlow, "explicit": ExplicitFlow, "tokens": TokensFlow}


def flow_learner(
    cfg: FlowConfig, dim: int, objective: Objective, origin: Origin | None = None
) -> FlowLearner:
    """The flow learner of cfg's regime."""
    return FLOW_REGIMES[cfg.regime](cfg, dim, objective, origin)


# kind -> (config dataclass, learner class or builder); a learner is built from its config,
# the input dimension, the task's objective and its origin. Each class subclasses exactly one
# of PredictiveLearner and GenerativeLearner (`kind_of` reads which).
LEARNERS = {
    "parametric": (ParametricConfig, ParametricLearner),
    "explicit": (ExplicitConfig, ExplicitLearner),
    "implicit": (ImplicitConfig, ImplicitLearner),
    "optimizer": (OptimizerConfig, OptimizerLearner),
    "maml": (MAMLConfig, MAMLLearner),
    # explicit, with a state of M latent tokens read by the queries' attention
    "tokens": (TokensConfig, TokensLearner),
    # any table width (up to the prior's dim): the model behind iai.sklearn
    "tabular": (TabularConfig, TabularLearner),
    # the tabular foundation model: latent tokens over column-equivariant row tokens
    "tabular_tokens": (TabularTokensConfig, TabularTokensLearner),
    # samples of a causal model in, leaf logits of its variables out (task.name = "scm")
    "order": (OrderConfig, OrderLearner),
    # generative: samples of a density task in, samples and densities out
    "flow": (FlowConfig, flow_learner),
    "mixture": (MixtureConfig, MixtureLearner),
}
# a builder's kind: the base its products share
BUILT = {flow_learner: FlowLearner}


def kind_of(kind: str) -> type[Learner]:
    """PredictiveLearner or GenerativeLearner: which of the two learner.kind `kind` is."""
    built = LEARNERS[kind][1]
    cls = BUILT.get(built, built)
    return GenerativeLearner if issubclass(cls, GenerativeLearner) else PredictiveLearner


def build_learner(
    cfg, dim: int, objective: Objective, model=None, origin: Origin | None = None
) -> Learner:
    """The learner `cfg` describes; `model`: a user-defined fixed model f(x; θ) for the
    parametric learner (see `iai.models.predictors.check_model`)."""
    if cfg.kind not in LEARNERS:
        raise InvalidConfig(f"unknown learner {cfg.kind!r}; known: {sorted(LEARNERS)}")
    generative = kind_of(cfg.kind) is GenerativeLearner
    if generative != objective.generative:
        fits = [k for k in LEARNERS if (kind_of(k) is GenerativeLearner) == objective.generative]
        raise InvalidConfig(
            f"learner.kind = {cfg.kind!r} does not fit a {objective.kind!r} task: it needs one "
            f"of {fits}"
        )
    if model is None:
        return LEARNERS[cfg.kind][1](cfg, dim, objective, origin)
    if cfg.kind != "parametric" or cfg.model != "custom":
        found = cfg.model if isinstance(cfg, ParametricConfig) else None
        raise InvalidConfig(
            "a user-defined model plugs into learner.kind = 'parametric' with learner.model = "
            f"'custom'; this config has kind {cfg.kind!r}, model {found!r}"
        )
    check_model(model, dim, objective.out_dim)
    return ParametricLearner(cfg, dim, objective, origin, model=model)


__all__ = [
    "LEARNERS",
    "ExplicitConfig",
    "FlowConfig",
    "GenerativeLearner",
    "ImplicitConfig",
    "Learner",
    "MAMLConfig",
    "MixtureConfig",
    "OptimizerConfig",
    "Origin",
    "ParametricConfig",
    "ParametricLearner",
    "PredictiveLearner",
    "State",
    "TabularConfig",
    "TokensConfig",
    "build_learner",
    "kind_of",
]
