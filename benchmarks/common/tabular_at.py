"""The tabular learner's methods as an earlier commit had them, lent to today's learners, so a
benchmark times the same weights, tasks and rows under both (tabular_step.py, allocator.py)."""

import importlib.util
import subprocess
import tempfile
from pathlib import Path

from iai.learners.tabular import TabularLearner

ROOT = Path(__file__).resolve().parents[2]


def base_class(rev: str) -> type:
    """TabularLearner with the methods `iai/learners/tabular.py` had at `rev`."""
    source = subprocess.run(
        ["git", "show", f"{rev}:iai/learners/tabular.py"], cwd=ROOT, check=True,
        capture_output=True, text=True,
    ).stdout  # fmt: skip
    path = Path(tempfile.mkdtemp()) / "tabular_base.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("tabular_base", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # the base's methods first, and still a TabularLearner to the estimators' checks
    return type("TabularBase", (module.TabularLearner, TabularLearner), {})
