"""The experiment grid: methods × tasks × a sweep, each cell trained and evaluated alike.

A grid config names methods (the taxonomy's learners, `METHODS` below), task families and an
optional sweep (one override set per value, e.g. `learner.history=3`); `overrides` apply to
every cell and size them. Each cell is an ordinary experiment config, trained by `train` and
evaluated by `evaluate` on the same tasks and mini-batches as every other cell of its task,
in distribution and out. A finished cell is kept (its `cell.json`), so a stopped grid resumes.

    iai grid configs/grid/reduced.toml --out runs/grid-reduced
"""

import dataclasses
import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from iai.config import load_config, load_table
from iai.errors import InvalidConfig
from iai.evaluation.evaluate import evaluate
from iai.evaluation.results import DIVERGENCE_FACTOR, UNITS, Curve, EvalResult, describe
from iai.learners import LEARNERS, GenerativeLearner, kind_of
from iai.tasks import TASKS, fixed_model, make_prior, objective_of, variants_of
from iai.training.loop import train


def _learner_keys(kind: str) -> set[str]:
    return {f.name for f in dataclasses.fields(LEARNERS[kind][0])}


@dataclass(frozen=True)
class Method:
    """A grid method: a learner table (with its kind), trained either for K steps of B points
    or (`one_step`) as a one-step learner on all K·B points at once, evaluated as a growing
    context. `fixed_model`: the learner's f(x; θ) is the one the task family names."""

    learner: dict
    fixed_model: bool = False
    one_step: bool = False
    train: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        kind = self.learner.get("kind")
        if kind not in LEARNERS:
            raise InvalidConfig(f"grid method learner kind {kind!r}; known: {sorted(LEARNERS)}")
        fields = _learner_keys(kind)
        unknown = sorted(set(self.learner) - fields) + (
            ["model"] if self.fixed_model and "model" not in fields else []
        )
        if unknown:
            raise InvalidConfig(f"learner {kind!r} has no setting {unknown[0]!r}")

    @property
    def kind(self) -> str:
        return self.learner["kind"]


METHODS = {
    "parametric-data": Method({"kind": "parametric", "signal": "data"}, fixed_model=True),
    "parametric-grad": Method({"kind": "parametric", "signal": "grad"}, fixed_model=True),
    "parametric-both": Method({"kind": "parametric", "signal": "both"}, fixed_model=True),
    "explicit-data": Method({"kind": "explicit", "signal": "data"}),
    "explicit-grad": Method({"kind": "explicit", "signal": "grad"}),
    "explicit-both": Method({"kind": "explicit", "signal": "both"}),
    "implicit": Method({"kind": "implicit"}),
    "maml": Method({"kind": "maml"}, fixed_model=True, train={"backprop": "full"}),
    "meta-sgd": Method(
        {"kind": "maml", "step_size": "per_parameter"},
        fixed_model=True,
        train={"backprop": "full"},
    ),
    "learned-optimizer": Method({"kind": "parametric", "signal": "grad"}, fixed_model=True),
    "hypernetwork": Method(
        {"kind": "parametric", "signal": "data"}, fixed_model=True, one_step=True
    ),
    "icl": Method({"kind": "implicit"}, one_step=True),
    "cnp": Method({"kind": "explicit", "signal": "data"}, one_step=True),
    # explicit, with a state of latent tokens (issue 21)
    "tokens-data": Method({"kind": "tokens", "signal": "data"}),
    "tokens-grad": Method({"kind": "tokens", "signal": "grad"}),
    "tokens-both": Method({"kind": "tokens", "signal": "both"}),
    "tokens-onestep": Method({"kind": "tokens", "signal": "data"}, one_step=True),
    # generative, for density families: flow matching in both regimes, and a mixture's θ
    "flow-implicit": Method({"kind": "flow", "regime": "implicit"}),
    "flow-explicit": Method({"kind": "flow", "regime": "explicit"}),
    "flow-onestep": Method({"kind": "flow", "regime": "implicit"}, one_step=True),
    "flow-tokens": Method({"kind": "flow", "regime": "tokens"}),
    "mixture": Method({"kind": "mixture"}),
}
# The task size each family runs at in a grid (a family not named keeps the base config's).
TASK_PRESETS = {
    "linear_regression": {"dim": 8},
    "nonlinear_regression": {"dim": 8},
    "gp_regression": {"dim": 8},
    "linear_classification": {"dim": 8, "classes": 2},
    "nonlinear_classification": {"dim": 8, "classes": 2},
    "digits": {"dim": 64, "classes": 5},
    "gaussian_mixtures": {"dim": 2},
    "letters": {"dim": 2},
}


@dataclass(frozen=True)
class GridConfig:
    name: str = "grid"
    # the experiment every cell starts from; a relative path is read beside the grid file
    # (`load_grid`), or, where no such file is there, from the working directory
    base: str = "base.toml"
    methods: tuple[str, ...] = ("parametric-both",)
    tasks: tuple[str, ...] = ("linear_regression",)
    sweep: tuple[str, ...] = ("",)  # one cell per entry: ';'-separated overrides
    # applied to every cell after the method's; a learner key goes to the methods whose
    # learner has it (a width is nothing to MAML), and must fit at least one of them
    overrides: tuple[str, ...] = ()
    report_steps: tuple[int, ...] = (1, 2, 5, 10, 20)
    ood: bool = True  # also evaluate the family's OoD variants

    def __post_init__(self) -> None:
        for m in self.methods:
            if m not in METHODS:
                raise InvalidConfig(f"unknown grid method {m!r}; known: {sorted(METHODS)}")
        for t in self.tasks:
            if t not in TASKS:
                raise InvalidConfig(f"unknown grid task {t!r}; known: {sorted(TASKS)}")
        kinds = {METHODS[m].kind for m in self.methods}
        for o in [*self.overrides, *(o for s in self.sweep for o in s.split(";") if o)]:
            key = o.split("=", 1)[0].strip()
            if key.startswith("learner.") and not any(
                key.split(".", 1)[1] in _learner_keys(k) for k in kinds
            ):
                raise InvalidConfig(
                    f"grid override {o!r}: no method of this grid ({', '.join(self.methods)}) "
                    "has that learner setting"
                )


@dataclass(frozen=True)
class Cell:
    """One trained and evaluated cell: its results on 'id' and each OoD variant, and costs."""

    method: str
    task: str
    sweep: str
    train_cpu_s: float
    eval_cpu_s: float
    params: int
    results: list[EvalResult]

    def to_json(self) -> dict:
        return {**dataclasses.asdict(self), "results": [r.to_json() for r in self.results]}

    @staticmethod
    def from_json(data: dict) -> "Cell":
        return Cell(**{**data, "results": [EvalResult.from_json(r) for r in data["results"]]})


def cell_config(grid: GridConfig, method: str, task: str, sweep: str):
    """The experiment config of one cell: the grid's base, the family's size, the method,
    then the grid's overrides and the sweep's."""
    base = load_config(grid.base).train
    m = METHODS[method]
    learner = dict(m.learner)
    tables = {"task": {"name": task, **TASK_PRESETS.get(task, {})}, "learner": learner}
    tables["train"] = dict(m.train)
    if m.one_step:  # one step over all K·B points; evaluated as a growing context
        tables["train"] |= {"batch_size": base.steps * base.batch_size, "steps": 1}
        tables["eval"] = {"mode": "context", "batch_size": base.batch_size}
    keys = _learner_keys(m.kind)
    overrides = []
    for o in [*grid.overrides, *filter(None, sweep.split(";"))]:
        key = o.split("=", 1)[0].strip()
        if not key.startswith("learner.") or key.split(".", 1)[1] in keys:
            overrides.append(o.strip())
    if m.fixed_model:  # after the sweep, which may change the task
        probe = load_config(grid.base, overrides, tables)
        learner["model"] = fixed_model(make_prior(probe.task))
    return load_config(grid.base, overrides, tables)


def run_grid(grid: GridConfig, out: Path, progress: bool = False) -> list[Cell]:
    """Train and evaluate every cell under `out`; returns the cells. Every cell's config is
    built and checked before the first trains, so a bad sweep fails at once, not hours in."""
    plan = []
    for task in grid.tasks:
        for method in grid.methods:
            for sweep in grid.sweep:
                tag = sweep.replace("=", "").replace(";", "-").replace('"', "")
                run = out / "-".join(filter(None, [task, method, tag.replace(".", "_")]))
                plan.append((run, method, task, sweep, cell_config(grid, method, task, sweep)))
    for _, method, task, _, cfg in plan:
        _check_fits(cfg, method, task)
    cells = []
    for run, method, task, sweep, cfg in plan:
        done = run / "cell.json"
        if done.exists():
            cells.append(Cell.from_json(json.loads(done.read_text())))
        else:
            cells.append(_run_cell(grid, cfg, run, method, task, sweep, progress))
    return cells


def _check_fits(cfg, method: str, task: str) -> None:
    """InvalidConfig for a cell whose method cannot learn its task: a generative learner on a
    predictive family, or the reverse."""
    generative = kind_of(cfg.learner.kind) is GenerativeLearner
    if generative != objective_of(make_prior(cfg.task)).generative:
        needs = "generative" if not generative else "predictive"
        raise InvalidConfig(
            f"grid cell {task} × {method}: {task!r} needs a {needs} method; list the grid's "
            "generative methods with density families only (e.g. configs/grid/generative.toml)"
        )


def _run_cell(grid, cfg, run: Path, method: str, task: str, sweep: str, progress: bool) -> Cell:
    if run.exists():  # a cell stopped mid-way starts over
        shutil.rmtree(run)
    clock = time.process_time()
    # evaluated on the CPU, where the references are computed, whatever train.device
    learner = train(cfg, run, progress=progress).cpu()
    train_cpu = time.process_time() - clock
    variants = ["id", *(variants_of(make_prior(cfg.task)) if grid.ood else ())]
    clock = time.process_time()
    with torch.no_grad():
        results = [evaluate(learner, cfg.eval, v, progress=progress) for v in variants]
    cell = Cell(
        method=method,
        task=task,
        sweep=sweep,
        train_cpu_s=train_cpu,
        eval_cpu_s=time.process_time() - clock,
        params=sum(p.numel() for p in learner.parameters()),
        results=results,
    )
    (run / "cell.json").write_text(json.dumps(cell.to_json()))
    return cell


def report(grid: GridConfig, cells: list[Cell]) -> str:
    """Paper-style markdown: per task, error ± SE at the report steps, ID then each OoD
    variant, with the exact reference beside the learners where the family has one. A step
    where some tasks diverged reads `diverged (f % of tasks)` (`describe`), and a note under
    the tables says what that means."""
    lines = [f"## {grid.name}\n"]
    swept, diverged = grid.sweep != ("",), False
    for task in grid.tasks:
        mine = [c for c in cells if c.task == task]
        if not mine:
            continue
        first = mine[0].results[0]
        steps = [k for k in grid.report_steps if k <= first.steps]
        sizes = sorted({c.results[0].batch_size for c in mine}, reverse=True)
        points = f"k·{sizes[0]}" if len(sizes) == 1 else f"k·B, B = {', '.join(map(str, sizes))}"
        lines.append(
            f"### {task} ({UNITS.get(first.metric, first.metric)}, lower is better; mean ± s.e. "
            f"over {first.tasks} tasks; step k has read {points} points)\n"
        )
        for i, r0 in enumerate(mine[0].results):
            where = "in distribution (id)" if r0.variant == "id" else f"OoD: {r0.variant}"
            lines.append(f"**{where}**\n")
            head = ["method", *(["sweep"] if swept else [])]
            head += [f"k={k}" for k in steps] + (["CPU s (train + eval)"] if i == 0 else [])
            lines.append("| " + " | ".join(head) + " |")
            lines.append("|" + "---|" * len(head))
            for c in mine:
                curve = c.results[i].curve()
                row = [c.method, *([c.sweep or "-"] if swept else [])]
                row += [_entry(curve, k) for k in steps]
                diverged |= not all(curve.ok(curve.at().index(k)) for k in steps if k in curve.at())
                if i == 0:
                    row.append(f"{c.train_cpu_s:.0f} + {c.eval_cpu_s:.0f}")
                lines.append("| " + " | ".join(row) + " |")
            for sweep, ref in _references(mine, i):
                row = ["exact Bayes", *([sweep or "-"] if swept else [])]
                row += [describe(ref, k, ".3f", ".3f") for k in steps]
                lines.append("| " + " | ".join(row + ([""] if i == 0 else [])) + " |")
            lines.append("")
    if diverged:
        lines.append(DIVERGED_NOTE + "\n")
    return "\n".join(lines)


DIVERGED_NOTE = (
    f"*diverged (f % of tasks)*: on that share of the tasks the error was not finite or above "
    f"{DIVERGENCE_FACTOR:,.0f} × the prior predictor's mean error (`iai.evaluation.results`); "
    "the mean ± s.e. after it, shown while at most half diverged, is over the other tasks."
)


def _entry(c: Curve, k: int) -> str:
    """A table entry of the curve at step k; '-' where it was not evaluated (a generative
    learner is sampled at chosen steps)."""
    at = c.at()
    return describe(c, at.index(k), ".3f", ".3f") if k in at else "-"


def _references(cells: list[Cell], i: int) -> list[tuple[str, Curve]]:
    """The exact reference's curve for variant `i`, if the family has one: one (sweep "", curve)
    when every cell saw the same, else one per sweep value where the sweep changes the task or
    the batch size (the cells of one value agree); none where even those differ."""
    results = [c.results[i] for c in cells]
    if not all("bayes" in r.methods for r in results):
        return []
    curves = {}
    for c, r in zip(cells, results, strict=True):
        curves.setdefault(c.sweep, []).append(r.curve("bayes"))
    if any(c.mean != group[0].mean for group in curves.values() for c in group):
        return []
    firsts = [(sweep, group[0]) for sweep, group in curves.items()]
    if all(c.mean == firsts[0][1].mean for _, c in firsts):
        return [("", firsts[0][1])]
    return firsts


def load_grid(path: str | Path) -> GridConfig:
    """A grid config from the `[grid]` table of a TOML file, its `base` resolved: beside the
    grid file, or (grid files written before that rule) from the working directory."""
    grid = load_table(GridConfig, path, "grid")
    base = Path(grid.base)
    if not base.is_absolute():
        beside = Path(path).parent / base
        base = beside if beside.exists() or not base.exists() else base
    if not base.exists():
        raise InvalidConfig(f"grid.base = {grid.base!r}: no such file beside {str(path)!r}")
    return dataclasses.replace(grid, base=str(base))
