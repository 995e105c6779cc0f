"""Module boundaries: `import iai` and `iai.load` stay light, and no module imports in a cycle."""

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "iai"
CHECKPOINT = PACKAGE.parent / "checkpoints" / "linreg-d8"

# What using a trained learner must not pull in, checked as modules iai adds on top of
# `import torch`. torch itself (2.13) already imports torch.distributed,
# DistributedDataParallel and tqdm, so for those only iai's own users are checked here:
# iai.distributed, the training loop and the evaluator.
HEAVY = (
    "iai.training.loop",
    "iai.training.greedy",
    "iai.evaluation.evaluate",
    "iai.evaluation.baselines",
    "iai.evaluation.report",
    "iai.distributed",
    "iai.grid",
    "iai.cli",
    "matplotlib",
    "sklearn",
)


def test_import_iai_and_load_pull_in_no_trainer_evaluator_or_baselines():
    code = (
        "import sys, torch\n"
        "before = set(sys.modules)\n"
        "import iai\n"
        f"iai.load({str(CHECKPOINT)!r})\n"
        "print('\\n'.join(sorted(set(sys.modules) - before)))\n"
    )
    new = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert "iai.api" in new  # the check sees what iai imports
    assert not [m for m in new if m.startswith(HEAVY)]


def _imports(path: Path) -> set[str]:
    """The iai modules a file imports, at module level or late, inside a function (a late
    import hides a cycle from the interpreter, not from a reader)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("iai"):
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("iai")}
    return found


def test_no_import_cycle_in_the_package():
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    graph = {m: {i for i in _imports(p) if i in modules and i != m} for m, p in modules.items()}
    # a package's __init__ runs before its submodules: importing iai.a.b imports iai.a too
    for m in modules:
        for dep in list(graph[m]):
            parent = dep.rsplit(".", 1)[0]
            if parent in modules and parent != m and not m.startswith(parent + "."):
                graph[m].add(parent)
    state: dict[str, int] = {}

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for dep in graph[m]:
            assert state.get(dep) != 1, f"import cycle: {' -> '.join([*path, m, dep])}"
            if dep not in state:
                visit(dep, [*path, m])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [])
