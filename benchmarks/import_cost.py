"""What `import iai` costs: wall time and modules, for one or more source trees side by side.

    python benchmarks/import_cost.py BEFORE_TREE AFTER_TREE [--runs 15]

Each run is a fresh interpreter with the tree first on sys.path. The trees are measured in
turn, run after run, so a busy machine slows them alike. Time is `-X importtime`'s cumulative
time of the `iai` package itself (torch included, as a user pays it) and of `iai` on top of
an already imported torch; modules are counted after `import iai`, and the iai modules
loaded are listed.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from common.command import markdown_header

COUNT = (
    "import sys, torch\n"
    "n = len(sys.modules)\n"
    "import iai\n"
    "print(json.dumps([len(sys.modules), len(sys.modules) - n, "
    "sorted(m for m in sys.modules if m.startswith('iai'))]))"
)


def _importtime(tree: Path, code: str) -> float:
    """Cumulative microseconds of the top-level `iai` import, from -X importtime."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    err = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    line = next(x for x in reversed(err.splitlines()) if x.rstrip().endswith("| iai"))
    return int(line.split("|")[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("trees", nargs="+", type=Path)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    cold = {t: [] for t in args.trees}
    warm = {t: [] for t in args.trees}
    for _ in range(args.runs):
        for t in args.trees:
            cold[t].append(_importtime(t, "import iai"))
            warm[t].append(_importtime(t, "import torch; import iai"))
    listed = {}
    print(markdown_header())
    print("| tree | `import iai` (ms, median) | after torch (ms) | modules | added to torch's |")
    print("|---|---|---|---|---|")
    for t in args.trees:
        env = {**os.environ, "PYTHONPATH": str(t)}
        out = subprocess.run(
            [sys.executable, "-c", "import json\n" + COUNT],
            cwd=t,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        total, added, names = json.loads(out)
        c, w = statistics.median(cold[t]) / 1e3, statistics.median(warm[t]) / 1e3
        print(f"| {t} | {c:.0f} | {w:.1f} | {total} | {added} |")
        listed[t] = names
    for t, names in listed.items():
        print(f"\n{t}: {len(names)} iai modules: {', '.join(names)}")
    first, last = args.trees[0], args.trees[-1]
    ratio = statistics.median(warm[first]) / statistics.median(warm[last])
    print(f"\niai's own import time on top of torch, {first} / {last}: {ratio:.2f}x")
    print(f"({args.runs} runs each, interleaved; Python {sys.version.split()[0]})")


if __name__ == "__main__":
    main()
