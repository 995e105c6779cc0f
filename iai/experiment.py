"""An experiment config made into objects: the learner it describes and the prior it trains on.

The learner is built from the prior's signature alone (`kind`, `dim`, `out_dim`), so a prior
defined outside the package builds, saves and loads like a shipped one: the checkpoint keeps
that signature (`prior_signature`), and loading needs no prior object.
"""

from dataclasses import replace

import torch

from iai.config import ExperimentConfig
from iai.errors import InvalidConfig
from iai.learners import Learner, Origin, build_learner
from iai.tasks import TASKS, make_prior
from iai.tasks.objective import make_objective, objective_of


def prior_signature(prior) -> dict:
    """What a learner needs to know of its prior: {'name', 'kind', 'dim', 'out_dim',
    'shipped'}; `shipped` says whether `iai.load` may rebuild it from the config's [task]."""
    for key in ("kind", "dim", "out_dim", "sample"):
        if not hasattr(prior, key):
            raise InvalidConfig(
                f"a task prior needs kind, dim, out_dim and sample(); {type(prior).__name__} "
                f"has no {key!r}"
            )
    name = getattr(getattr(prior, "cfg", None), "name", type(prior).__name__)
    # a registered family, not a look-alike (a subclass, or a class keeping a TaskConfig)
    shipped = name in TASKS and type(prior) is type(TASKS[name](prior.cfg))
    return {
        "name": name if shipped else type(prior).__qualname__,
        "kind": prior.kind,
        "dim": int(prior.dim),
        "out_dim": int(prior.out_dim),
        "shipped": shipped,
    }


def is_signature(sig) -> bool:
    """Whether `sig` has the form `iai.experiment.prior_signature` writes."""

    def count(v) -> bool:
        return isinstance(v, int) and not isinstance(v, bool) and v >= 1

    return (
        isinstance(sig, dict)
        and isinstance(sig.get("shipped", True), bool)
        and isinstance(sig.get("name", ""), str)
        and (
            sig.get("shipped", True)
            or (
                isinstance(sig.get("kind"), str)
                and count(sig.get("dim"))
                and count(sig.get("out_dim"))
            )
        )
    )


def with_prior(cfg: ExperimentConfig, prior) -> ExperimentConfig:
    """`cfg` with its [task] named for a user-defined `prior` and of its dimension; the
    prior's kind and out_dim travel in its signature (see `build`)."""
    sig = prior_signature(prior)
    return replace(cfg, task=replace(cfg.task, name=sig["name"], dim=sig["dim"]))


def build(
    cfg: ExperimentConfig, prior=None, signature: dict | None = None, model=None
) -> tuple[Learner, object]:
    """The learner `cfg` describes, initialized from cfg.seed, and its task prior.

    `prior`: a user-defined prior to use instead of the config's [task] (pass the config
    through `with_prior` first). `signature`: a saved `prior_signature`, used when the prior
    itself is not at hand (a checkpoint of a user-defined prior); the prior is then None.
    `model`: a user-defined fixed model f(x; θ) for a parametric learner whose config says
    learner.model = 'custom'. The learner's `origin` holds the experiment, the signature and
    the prior (`iai.learners.base.Origin`).
    """
    if prior is None and (signature is None or signature.get("shipped", True)):
        prior = make_prior(cfg.task)
    if prior is not None:
        objective, dim = objective_of(prior), int(prior.dim)
        signature = prior_signature(prior)
    else:
        objective = make_objective(signature["kind"], signature["out_dim"])
        dim = signature["dim"]
    origin = Origin(cfg, signature, prior)
    with torch.random.fork_rng():  # module initializers draw from the global generator
        torch.manual_seed(cfg.seed)
        learner = build_learner(cfg.learner, dim, objective, model, origin)
    return learner, prior
