"""The precision a run trains in: `train.precision = "auto"` (the default) made concrete for its
device, and kept by a resumed run.

Why bfloat16 where the hardware multiplies in it: on this project's CPU (AMX units) bfloat16
trained configs/linreg-d8.toml 1.60x as fast on one thread, the implicit learner 1.49x and the
flow 1.32x, none slower, and 600 iterations of linreg-d8 reached float32's loss and MSE to the
fourth digit (benchmarks/results/precision/precision.md). Where matmuls have no bfloat16 units
(a CPU without AMX, a GPU before Ampere) it is emulated, so float32 stays: not measured here.
Why only from width 64: the small matrices of narrower networks gain nothing from AMX and pay
autocast's casts; configs/demo-quick.toml (width 32) trained 0.88x as fast in bfloat16, the
width-64 implicit learner 1.49x (benchmarks/results/precision/small.md, precision.md).
The choice is a property of the device and the config, never of the moment, so the same
command on the same machine trains the same weights; the resolved value is what the
checkpoint's config records.
"""

import dataclasses

import torch

from iai.config import ExperimentConfig

# runs saved before `train.precision` existed trained in float32
BEFORE_THE_SETTING = "float32"
MIN_WIDTH = 64  # the update network's width from which "auto" may choose bfloat16


def device_precision(device: torch.device) -> str:
    """bfloat16 where `device` has bfloat16 matrix units (AMX tiles; a CUDA card that supports
    it natively), else float32."""
    if device.type == "cuda":
        return "bfloat16" if torch.cuda.is_bf16_supported(including_emulation=False) else "float32"
    amx = getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)()
    return "bfloat16" if device.type == "cpu" and amx else "float32"


def resolved(
    cfg: ExperimentConfig, device: torch.device, saved: dict | None = None
) -> ExperimentConfig:
    """`cfg` with "auto" made concrete: a resumed run's own precision (`saved`, its config
    dict), so it goes on as it began on any machine; for a new run, `device_precision` where
    the learner's networks are MIN_WIDTH wide or more, else float32 (learners with no
    `width`, plain optimizers and MAML, train no network worth it)."""
    if cfg.train.precision != "auto":
        return cfg
    width = getattr(cfg.learner, "width", 0)  # plain optimizers and MAML: no network
    if saved is not None:
        precision = saved.get("train", {}).get("precision", BEFORE_THE_SETTING)
    else:
        precision = device_precision(device) if width >= MIN_WIDTH else "float32"
    return dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, precision=precision))
