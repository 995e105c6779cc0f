"""An experiment config made into objects: the learner it describes and the prior it trains on.

The learner is built from the prior's signature alone (`kind`, `dim`, `out_dim`), so a prior
defined outside the package builds, saves and loads like a shipped one: the checkpoint keeps
that signature (`prior_signature`), and loading needs no prior object.
"""

from dataclasses import replace

import torch

from iai.config import ExperimentConfig
from iai.errors import InvalidInput
from iai.learners import Learner, Origin, build_learner
from iai.tasks import CustomTask, PriorSignature, make_prior
from iai.tasks.objective import make_objective, objective_of


def prior_signature(prior) -> dict:
    """What a learner needs to know of its prior, as a checkpoint stores it: the JSON table
    {'name', 'kind', 'dim', 'out_dim', 'shipped'} of `PriorSignature.of(prior)`."""
    return PriorSignature.of(prior).to_json()


def is_signature(sig) -> bool:
    """Whether `sig` is a table `PriorSignature.from_json` reads."""
    try:
        PriorSignature.from_json(sig)
    except InvalidInput:
        return False
    return True


def with_prior(cfg: ExperimentConfig, prior) -> ExperimentConfig:
    """`cfg` with its [task] that of `prior`: a shipped family's own config, else a
    `CustomTask` of the prior's class name and dimension (its kind and out_dim travel in its
    signature, see `build`)."""
    sig = PriorSignature.of(prior)
    task = prior.cfg if sig.shipped else CustomTask(name=sig.name, dim=sig.dim)
    return replace(cfg, task=task)


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
        sig = PriorSignature.of(prior)
    else:
        sig = PriorSignature.from_json(signature)
        objective, dim = make_objective(sig.kind, sig.out_dim), sig.dim
    origin = Origin(cfg, sig, prior)
    with torch.random.fork_rng():  # module initializers draw from the global generator
        torch.manual_seed(cfg.seed)
        learner = build_learner(cfg.learner, dim, objective, model, origin)
    return learner, prior
