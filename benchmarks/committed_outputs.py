"""Outputs of every committed learner on fixed inputs, saved so a redesign can show it changed
nothing: `tests/test_committed.py` compares the package's outputs today with the file this wrote.

    python benchmarks/committed_outputs.py tests/data/committed-outputs.safetensors
    python benchmarks/committed_outputs.py tests/data/committed-outputs.safetensors --add
        (adds the learners committed since, keeping every saved output as it is)
    python benchmarks/committed_outputs.py tests/data/committed-outputs.safetensors --add \
        --retrained gp-tokens,gp-tokens-onestep   (and writes anew those retrained since)
    python benchmarks/committed_outputs.py tests/data/committed-outputs.safetensors \
        --compare benchmarks/results/committed-outputs/<cpu>.md
        (writes nothing to the fixture: how far this machine's outputs lie from it)

Covers checkpoints/* and the pretrained tabular learners (iai/pretrained/*): predictions after
each step for predictive learners; samples (fixed generator) and log densities after steps 0,
1 and 2 for generative ones. The inputs are stored beside the outputs, so the file does not
depend on how the priors draw. Written at commit 1c8027a, before the typed-learner redesign.
"""

import platform
import sys
from dataclasses import replace
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

import iai

ROOT = Path(__file__).resolve().parents[1]
ONE_STEP = (
    "linreg-d8-onestep",
    "linreg-d8-icl",
    "linreg-d8-cnp",
    "gmm-2d-onestep",
    "gp-tokens-onestep",
    "gp-tokens-onestep-nofloor",
    "gp-icl",
)


ORDER = ("scm-order", "scm-order-onestep")  # order causal variables: no targets, no samples


def directories() -> list[Path]:
    dirs = sorted((ROOT / "checkpoints").iterdir()) + sorted((ROOT / "iai/pretrained").iterdir())
    return [d for d in dirs if d.name not in ORDER]


def outputs(d: Path) -> dict[str, torch.Tensor]:
    """Inputs and outputs of the learner in `d`, keyed `<name>.<what>`."""
    learner = iai.load(d)
    name, B = d.name, 64 if d.name in ONE_STEP else 16
    tasks = learner.prior.sample(4, 64, 8, generator=torch.Generator().manual_seed(1234))
    # the outputs from the inputs as they are stored (contiguous): a strided view of the same
    # numbers can take another kernel and differ in the last bits
    stored = {k: getattr(tasks, k) for k in ("x_train", "y_train", "x_query")}
    # the API refuses NaN, which the foundation models' prior draws as missing values (only
    # iai.sklearn reads them): the same tables with 0 there
    stored = {k: v if k == "y_train" else v.nan_to_num() for k, v in stored.items()}
    tasks = replace(tasks, **{k: v.contiguous() for k, v in stored.items() if v is not None})
    out = {"batch_size": torch.tensor(B), "x_train": tasks.x_train}
    if learner.objective.kind == "density":
        steps = [0, 1] if name in ONE_STEP else [0, 1, 2]
        g = torch.Generator().manual_seed(7)
        out["samples"] = iai.sample_steps(
            learner, tasks.x_train, 8, batch_size=B, steps=steps, generator=g
        )
        out["x_eval"] = tasks.x_query[..., : learner.dim]
        out["log_prob"] = iai.log_prob_steps(
            learner, tasks.x_train, out["x_eval"], batch_size=B, steps=steps
        )
    else:
        out |= {"y_train": tasks.y_train, "x_query": tasks.x_query}
        out["predictions"] = iai.predict_steps(
            learner, tasks.x_train, tasks.y_train, tasks.x_query, batch_size=B
        )
    return {f"{name}.{k}": v.contiguous() for k, v in out.items()}


def compare(path: str, out: str) -> None:
    """The largest difference, per learner, between this machine's outputs and the saved ones
    (the saved inputs read again): how far float32 kernels of one CPU lie from another's."""
    saved = load_file(path)
    cpu = platform.processor() or platform.machine()
    lines = [
        f"<!-- python benchmarks/committed_outputs.py {path} --compare {out} -->",
        f"CPU capability {torch.backends.cpu.get_cpu_capability()} ({cpu}), "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads.\n",
        "| learner | largest difference | in |",
        "|---|---|---|",
    ]
    for d in directories():
        got = {k.split(".")[1]: v for k, v in saved.items() if k.split(".")[0] == d.name}
        diffs = {k: (v.detach() - got[k]).abs().max().item() for k, v in replay(d, got).items()}
        what = max(diffs, key=diffs.get)
        lines.append(f"| {d.name} | {diffs[what]:.1e} | {what} |")
        print(lines[-1], flush=True)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text("\n".join(lines) + "\n")


def replay(d: Path, got: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The outputs of the learner in `d` on the saved inputs `got`, named as saved."""
    learner, B = iai.load(d), int(got["batch_size"])
    if "samples" not in got:
        args = (got["x_train"], got["y_train"], got["x_query"])
        return {"predictions": iai.predict_steps(learner, *args, batch_size=B)}
    steps = list(range(got["samples"].shape[0]))
    g = torch.Generator().manual_seed(7)
    x = got["x_train"]
    return {
        "samples": iai.sample_steps(learner, x, 8, batch_size=B, steps=steps, generator=g),
        "log_prob": iai.log_prob_steps(learner, x, got["x_eval"], batch_size=B, steps=steps),
    }


def main(path: str, add: bool, retrained: set[str]) -> None:
    saved = load_file(path) if add else {}
    saved = {k: v for k, v in saved.items() if k.split(".")[0] not in retrained}
    for d in directories():
        if add and f"{d.name}.batch_size" in saved:
            continue
        saved |= outputs(d)
        print(d.name, flush=True)
    save_file(saved, path)


if __name__ == "__main__":
    args = sys.argv[2:]
    names = args[args.index("--retrained") + 1].split(",") if "--retrained" in args else []
    if "--compare" in args:
        compare(sys.argv[1], args[args.index("--compare") + 1])
    else:
        main(sys.argv[1], "--add" in args, set(names))
