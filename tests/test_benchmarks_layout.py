"""benchmarks/ as a newcomer walks it: the scripts share helpers through benchmarks/common only
(no sys.path edit, no script importing another), no file is over 400 lines, every committed
output names the command that wrote it at its top, the moved results are where MOVED.md says,
and docs/results.md is exactly what its generator writes from them."""

import ast
import importlib
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
RESULTS = BENCH / "results"
# folders written by `make demo`, examples/ and checks run by hand, not by a benchmark
NOT_BENCHMARK_OUTPUTS = {"demo", "sinusoid", "core"}
COMMAND = re.compile(r"(?:OMP_NUM_THREADS=1 )?(?:python|bash) (benchmarks/\S+)")


def _imported(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name.split(".")[0] for a in node.names]
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        return [node.module.split(".")[0]]
    return []


def test_scripts_share_helpers_through_common_only():
    scripts = {p.stem for p in BENCH.glob("*.py")}
    for path in BENCH.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            is_sys_path = isinstance(node, ast.Attribute) and node.attr == "path"
            assert not (is_sys_path and getattr(node.value, "id", None) == "sys"), path
            assert not set(_imported(node)) & scripts, f"{path} imports a script"


def test_no_benchmark_file_is_over_400_lines():
    long = [p for p in BENCH.rglob("*.*") if p.suffix in (".py", ".sh")]
    assert long and all(len(p.read_text().splitlines()) <= 400 for p in long)


def _outputs() -> list[Path]:
    return [
        p
        for p in sorted(RESULTS.rglob("*"))
        if p.is_file()
        and p.relative_to(RESULTS).parts[0] not in NOT_BENCHMARK_OUTPUTS
        and "quick" not in p.relative_to(RESULTS).parts
        and p.name != "MOVED.md"
    ]


def _command(path: Path) -> str | None:
    """The command at the top of a results file; None for a format that has no place for it."""
    if path.suffix not in (".md", ".txt", ".json"):
        return None  # jsonl logs and figures
    text = path.read_text()
    first = text.partition("\n")[0]
    if path.suffix == ".md":
        return first[5:-4] if first.startswith("<!-- ") and first.endswith(" -->") else ""
    if path.suffix == ".txt":
        return first.removeprefix("Command: ") if first.startswith("Command: ") else ""
    if path.suffix == ".json" and isinstance(data := json.loads(text), dict):
        return data.get("command", "") if next(iter(data)) == "command" else ""
    return None  # JSON lists, which iai.grid.Cell and EvalResult read as they are


def test_every_committed_output_starts_with_a_command_that_exists():
    checked = 0
    for path in _outputs():
        command = _command(path)
        if command is None:
            continue
        match = COMMAND.match(command)
        assert match, f"{path.relative_to(ROOT)}: no command at the top ({command!r})"
        assert (ROOT / match[1]).is_file(), f"{path.relative_to(ROOT)}: {command}"
        checked += 1
    assert checked > 100


def test_moved_results_are_at_their_new_paths():
    lines = (RESULTS / "MOVED.md").read_text().splitlines()
    moves = [line.split(" -> ") for line in lines if line.startswith("benchmarks/")]
    assert len(moves) > 50
    for old, new in moves:
        assert (ROOT / new).exists() and not (ROOT / old).exists(), old


def test_readers_drop_the_command_again(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))  # as a benchmark script finds common
    command = importlib.import_module("common.command")
    assert command.strip_header("<!-- python benchmarks/x.py -->\n# T\n") == "# T\n"
    assert command.strip_header("Command: bash benchmarks/x.sh\n1 s wall\n") == "1 s wall\n"
    assert command.strip_header("# T\n<!-- not a header -->\n") == "# T\n<!-- not a header -->\n"
    data = command.with_command({"a": 1}, "python benchmarks/x.py")
    assert list(data) == ["command", "a"] and command.without_command(data) == {"a": 1}


def test_results_doc_writes_the_committed_page(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    monkeypatch.chdir(ROOT)  # the generator reads paths from the repository root
    page = importlib.import_module("common.results_doc.page").page
    assert page() == (ROOT / "docs/results.md").read_text()
