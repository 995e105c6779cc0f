"""The README and docs/ as a newcomer meets them: a short front door, links that resolve, the
two set-up commands, and Python examples that run as written (at a smaller training budget)."""

import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")  # [text](target) and ![alt](target)
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


def relative_links(text: str) -> list[str]:
    """The targets of a markdown text's links that point inside the repository, anchors cut."""
    targets = (m.group(1) for m in LINK.finditer(text))
    inside = (t for t in targets if not re.match(r"[a-z]+:", t) and not t.startswith("#"))
    return [t.split("#", 1)[0] for t in inside]


def fenced(text: str, language: str) -> list[str]:
    """The bodies of a markdown text's fenced code blocks in `language`."""
    return [m.group(2) for m in FENCE.finditer(text) if m.group(1) == language]


def test_readme_is_a_front_door_of_at_most_300_lines():
    assert len(README.read_text().splitlines()) <= 300


def test_the_pages_the_readme_promises_exist():
    names = {p.name for p in PAGES}
    pages = "api extending estimators generative training grid evaluation benchmarks".split()
    assert {f"{p}.md" for p in [*pages, "results"]} <= names
    linked = set(relative_links(README.read_text()))
    assert {f"docs/{p}.md" for p in pages} <= linked


def test_link_checker_keeps_relative_targets_and_cuts_anchors():
    text = "[a](docs/x.md#part) ![b](y.png) [c](https://e.org/z) [d](#here) [e](mailto:q@e.org)"
    assert relative_links(text) == ["docs/x.md", "y.png"]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_relative_link_resolves(page):
    missing = [t for t in relative_links(page.read_text()) if not (page.parent / t).exists()]
    assert not missing, f"{page.relative_to(ROOT)} links to missing files: {missing}"


def test_readme_setup_block_has_exactly_the_two_commands():
    setup = README.read_text().split("\n## Set up", 1)[1].split("\n## ", 1)[0]
    (block,) = fenced(setup, "bash")
    commands = [line.split("#", 1)[0].strip() for line in block.splitlines()]
    assert [c for c in commands if c] == ["make demo", "make test"]


def test_readme_python_examples_run(tmp_path, monkeypatch):
    """Each ```python block of the README, run in a fresh directory that sees configs/ and
    checkpoints/; the researcher's training run is cut from 900 iterations to 3."""
    for name in ("configs", "checkpoints"):
        (tmp_path / name).symlink_to(ROOT / name)
    monkeypatch.chdir(tmp_path)
    code = fenced(README.read_text(), "python")
    assert len(code) == 3  # the researcher, the practitioner and the generative user
    assert sum("train.iterations=900" in c for c in code) == 1
    for block in code:
        short = block.replace("train.iterations=900", "train.iterations=3")
        exec(compile(short, "README.md", "exec"), {"__name__": "readme"})
    assert (tmp_path / "runs" / "sine" / "model.safetensors").exists()
    shutil.rmtree(tmp_path / "runs")
