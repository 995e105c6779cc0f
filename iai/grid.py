"""The experiment grid: methods × tasks × a sweep, each cell trained and evaluated alike.

A grid config names methods (the taxonomy's learners, by name below), task families and an
optional sweep (one override set per value, e.g. `learner.history=3`); `overrides` apply to
every cell and size them. Each cell is an ordinary experiment config, trained by `train` and
evaluated by `evaluate` on the same tasks and mini-batches as every other cell of its task,
in distribution and out. A finished cell is kept (its `cell.json`), so a stopped grid resumes.

    iai grid configs/grid/reduced.toml --out runs/grid-reduced
"""

import json
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from iai.config import load_config, load_table
from iai.errors import InvalidConfig
from iai.evaluate import evaluate
from iai.tasks import VARIANTS
from iai.train import train

# method -> learner overrides; {model} becomes the fixed model that suits the task
METHODS = {
    "parametric-data": ['learner.kind="parametric"', 'learner.signal="data"', "{model}"],
    "parametric-grad": ['learner.kind="parametric"', 'learner.signal="grad"', "{model}"],
    "parametric-both": ['learner.kind="parametric"', 'learner.signal="both"', "{model}"],
    "explicit-data": ['learner.kind="explicit"', 'learner.signal="data"'],
    "explicit-grad": ['learner.kind="explicit"', 'learner.signal="grad"'],
    "explicit-both": ['learner.kind="explicit"', 'learner.signal="both"'],
    "implicit": ['learner.kind="implicit"'],
    "maml": ['learner.kind="maml"', "{model}", 'train.backprop="full"'],
    "meta-sgd": [
        'learner.kind="maml"',
        "{model}",
        'train.backprop="full"',
        'learner.step_size="per_parameter"',
    ],
    "learned-optimizer": ['learner.kind="parametric"', 'learner.signal="grad"', "{model}"],
    "hypernetwork": ['learner.kind="parametric"', 'learner.signal="data"', "{model}", "@onestep"],
    "icl": ['learner.kind="implicit"', "@onestep"],
    "cnp": ['learner.kind="explicit"', 'learner.signal="data"', "@onestep"],
}
# keys each learner kind takes from the shared overrides; the rest are left out for it
KIND_KEYS = {
    "parametric": {"width", "depth", "heads", "chunk", "history", "state_grad"},
    "explicit": {"width", "depth", "heads", "chunk", "history", "state_grad", "latent"},
    "implicit": {"width", "depth", "heads", "state", "latent"},
    "maml": {"lr", "step_size", "first_order"},
}
TASK_PRESETS = {  # task overrides per family: the fixed model and the input size
    "linear_regression": (["task.dim=8"], "linear"),
    "nonlinear_regression": (["task.dim=8"], "mlp"),
    "gp_regression": (["task.dim=8"], "mlp"),
    "linear_classification": (["task.dim=8", "task.classes=2"], "linear"),
    "nonlinear_classification": (["task.dim=8", "task.classes=2"], "mlp"),
    "digits": (["task.dim=64", "task.classes=5"], "linear"),
}


@dataclass(frozen=True)
class GridConfig:
    name: str = "grid"
    base: str = "configs/grid/base.toml"  # the experiment every cell starts from
    methods: tuple[str, ...] = ("parametric-both",)
    tasks: tuple[str, ...] = ("linear_regression",)
    sweep: tuple[str, ...] = ("",)  # one cell per entry: ';'-separated overrides
    overrides: tuple[str, ...] = ()  # applied to every cell after the method's
    report_steps: tuple[int, ...] = (1, 2, 5, 10, 20)
    ood: bool = True  # also evaluate the family's OoD variants

    def __post_init__(self) -> None:
        for m in self.methods:
            if m not in METHODS:
                raise InvalidConfig(f"unknown grid method {m!r}; known: {sorted(METHODS)}")
        for t in self.tasks:
            if t not in TASK_PRESETS:
                raise InvalidConfig(f"unknown grid task {t!r}; known: {sorted(TASK_PRESETS)}")


def cell_overrides(
    grid: GridConfig, method: str, task: str, sweep: str, B: int, K: int
) -> list[str]:
    """The overrides that turn the grid's base config (K steps of B points) into one cell's."""
    task_over, model = TASK_PRESETS[task]
    kind = next(o for o in METHODS[method] if o.startswith("learner.kind")).split('"')[1]
    out = [f"task.name={task}", *task_over]
    for o in METHODS[method]:
        if o == "{model}":
            out.append(f'learner.model="{model}"')
        elif o == "@onestep":  # one step over all K·B points; evaluated as a growing context
            out += [f"train.batch_size={K * B}", "train.steps=1", 'eval.mode="context"']
            out.append(f"eval.batch_size={B}")
        else:
            out.append(o)
    for o in [*grid.overrides, *filter(None, sweep.split(";"))]:
        key = o.split("=", 1)[0].strip()
        if key.startswith("learner.") and key.split(".", 1)[1] not in KIND_KEYS.get(kind, ()):
            continue  # e.g. a width for MAML, which has no network
        out.append(o.strip())
    return out


def run_grid(grid: GridConfig, out: Path, progress: bool = False) -> list[dict]:
    """Train and evaluate every cell under `out`; returns the cells' records."""
    base = load_config(grid.base).train
    records = []
    for task in grid.tasks:
        for method in grid.methods:
            for sweep in grid.sweep:
                tag = sweep.replace("=", "").replace(";", "-").replace('"', "")
                run = out / "-".join(filter(None, [task, method, tag.replace(".", "_")]))
                done = run / "cell.json"
                if done.exists():
                    records.append(json.loads(done.read_text()))
                    continue
                over = cell_overrides(grid, method, task, sweep, base.batch_size, base.steps)
                cfg = load_config(grid.base, over)
                records.append(_run_cell(grid, cfg, run, method, task, sweep, progress))
    return records


def _run_cell(grid, cfg, run: Path, method: str, task: str, sweep: str, progress: bool) -> dict:
    if run.exists():  # a cell stopped mid-way starts over
        for f in run.iterdir():
            f.unlink()
    clock = time.process_time()
    learner = train(cfg, run, progress=progress)
    train_cpu = time.process_time() - clock
    variants = ["id", *(VARIANTS[task] if grid.ood else ())]
    clock = time.process_time()
    with torch.no_grad():
        results = [evaluate(learner, cfg.task, cfg.eval, cfg.train.batch_size, v) for v in variants]
    record = {
        "method": method,
        "task": task,
        "sweep": sweep,
        "train_cpu_s": train_cpu,
        "eval_cpu_s": time.process_time() - clock,
        "params": sum(p.numel() for p in learner.parameters()),
        "results": results,
    }
    (run / "cell.json").write_text(json.dumps(record))
    return record


def report(grid: GridConfig, records: list[dict]) -> str:
    """Paper-style markdown: per task, error ± SE at the report steps, ID then each OoD variant."""
    lines = [f"## {grid.name}\n"]
    for task in grid.tasks:
        metric = "mse" if "regression" in task else "error"
        cells = [r for r in records if r["task"] == task]
        if not cells:
            continue
        steps = [k for k in grid.report_steps if k <= cells[0]["results"][0]["steps"]]
        unit = "MSE" if metric == "mse" else "error %"
        lines.append(f"### {task} ({unit}, mean ± s.e. over tasks; step k = k·B points)\n")
        for i, variant in enumerate(r["variant"] for r in cells[0]["results"]):
            lines.append(f"**{variant}**\n")
            head = ["method", *([] if grid.sweep == ("",) else ["sweep"])]
            head += [f"k={k}" for k in steps] + (["CPU s (train + eval)"] if i == 0 else [])
            lines.append("| " + " | ".join(head) + " |")
            lines.append("|" + "---|" * len(head))
            for r in cells:
                m = r["results"][i]["methods"]["iai"][metric]
                row = [r["method"], *([] if grid.sweep == ("",) else [r["sweep"] or "-"])]
                row += [f"{m['mean'][k]:.3f} ± {m['se'][k]:.3f}" for k in steps]
                if i == 0:
                    row.append(f"{r['train_cpu_s']:.0f} + {r['eval_cpu_s']:.0f}")
                lines.append("| " + " | ".join(row) + " |")
            lines.append("")
    return "\n".join(lines)


def load_grid(path: str | Path) -> GridConfig:
    """A grid config from the `[grid]` table of a TOML file."""
    return load_table(GridConfig, path, "grid")
