"""The package stays readable (issue 20): no module over 400 lines, no function over 60, and
the kind of a learner or task never chosen by testing a string outside the objective."""

import ast
import re
from pathlib import Path

import pytest

from iai.learners import BUILT, LEARNERS, GenerativeLearner, PredictiveLearner

PACKAGE = Path(__file__).resolve().parents[1] / "iai"
MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_and_functions_stay_short(path):
    source = path.read_text()
    assert len(source.splitlines()) <= 400, path
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            assert node.end_lineno - node.lineno + 1 <= 60, (path, node.name)


def test_no_string_test_of_a_task_kind_outside_the_objective():
    """'regression', 'classification' and 'density' are compared only in the objective (a
    family declares its own `kind = ...`, which is not a test)."""
    test = re.compile(r"""(==|!=|\bin)\s*\(?\s*["'](regression|classification|density)["']""")
    found = [
        f"{p.relative_to(PACKAGE)}:{n}"
        for p in MODULES
        if p.name != "objective.py"
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if test.search(line)
    ]
    assert not found


def test_every_learner_kind_is_exactly_one_of_the_two_bases():
    for kind, (_, built) in LEARNERS.items():
        cls = BUILT.get(built, built)
        kinds = [issubclass(cls, base) for base in (PredictiveLearner, GenerativeLearner)]
        assert kinds.count(True) == 1, kind
