"""The command that wrote a results file, at its top: a first-line comment in markdown, a
first `Command:` line in text, a "command" key in a JSON object. Readers of committed results
drop it again, so that a page quoting a file (docs/results.md) shows what it always showed."""

import shlex
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]  # the repository


def command() -> str:
    """This run's command line, the script named from the repository root:
    `python benchmarks/x.py ARGS`."""
    script = Path(sys.argv[0]).resolve()
    shown = script.relative_to(ROOT) if script.is_relative_to(ROOT) else script
    return shlex.join(["python", str(shown), *sys.argv[1:]])


def markdown_header(cmd: str | None = None) -> str:
    """`<!-- CMD -->`, the first line of a markdown output (invisible where it is rendered)."""
    return f"<!-- {cmd or command()} -->"


def write_markdown(path: Path, cmd: str, title: str, lines: list[str]) -> None:
    """A markdown output: its command comment, `# title`, then `lines`; folders made."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([markdown_header(cmd), f"# {title}", "", *lines]) + "\n")


def strip_header(text: str) -> str:
    """A markdown or text output without its first-line command, for a page that quotes it."""
    first, _, rest = text.partition("\n")
    commented = first.startswith("<!-- ") and first.endswith(" -->")
    return rest if commented or first.startswith("Command: ") else text


def with_command(data: dict[str, Any], cmd: str | None = None) -> dict[str, Any]:
    """A JSON object with the command as its first key."""
    return {"command": cmd or command(), **data}


def without_command(data: dict[str, Any]) -> dict[str, Any]:
    """A JSON object as its reader expects it: the "command" key dropped."""
    return {k: v for k, v in data.items() if k != "command"}
