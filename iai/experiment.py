"""An experiment config made into objects: the learner it describes and the prior it trains on.

The learner is built from the prior's signature alone (`kind`, `dim`, `out_dim`), so a prior
defined outside the package builds, saves and loads like a shipped one: the checkpoint keeps
that signature (`prior_signature`), and loading needs no prior object.
"""

from contextlib import nullcontext
from dataclasses import replace

import torch

from iai.config import ExperimentConfig
from iai.errors import InvalidConfig, InvalidInput
from iai.learners import Learner, Origin, build_learner
from iai.tasks import CustomTask, PriorSignature, make_prior
from iai.tasks.config import MAX_SIZE
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
    cfg: ExperimentConfig,
    prior=None,
    signature: dict | None = None,
    model=None,
    *,
    meta: bool = False,
) -> tuple[Learner, object]:
    """The learner `cfg` describes, initialized from cfg.seed, and its task prior.

    `prior`: a user-defined prior to use instead of the config's [task] (pass the config
    through `with_prior` first). `signature`: a saved `prior_signature`, used when the prior
    itself is not at hand (a checkpoint of a user-defined prior); the prior is then None.
    `model`: a user-defined fixed model f(x; θ) for a parametric learner whose config says
    learner.model = 'custom'. The learner's `origin` holds the experiment, the signature and
    the prior (`iai.learners.base.Origin`).

    `meta`: the learner on torch's `meta` device, its tensors shapes and dtypes without
    memory, which is what `iai.load` checks a checkpoint's weights against before it builds
    the learner for real (a user's `model` then runs once on meta tensors: written with torch
    operations, as vmap needs, it runs there). The prior is made for real: no shipped family
    allocates by its config's sizes until it samples.
    """
    if prior is None and (signature is None or signature.get("shipped", True)):
        prior = make_prior(cfg.task)
    if prior is not None:
        objective, dim = objective_of(prior), int(prior.dim)
        sig = PriorSignature.of(prior)
    else:
        sig = _bounded(PriorSignature.from_json(signature))
        objective, dim = make_objective(sig.kind, sig.out_dim), sig.dim
    origin = Origin(cfg, sig, prior)
    device = torch.device("meta") if meta else nullcontext()
    with torch.random.fork_rng(), device:  # module initializers draw from the global generator
        torch.manual_seed(cfg.seed)
        learner = build_learner(cfg.learner, dim, objective, model, origin)
    return learner, prior


def _bounded(sig: PriorSignature) -> PriorSignature:
    """A saved signature whose sizes a learner can be built from (as task.dim's bound)."""
    for key in ("dim", "out_dim"):
        if getattr(sig, key) > MAX_SIZE:
            raise InvalidConfig(
                f"prior signature {key} = {getattr(sig, key)}; must be at most {MAX_SIZE}"
            )
    return sig
