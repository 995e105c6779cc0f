"""Real tables: iai.sklearn's estimators against scikit-learn and river, on data that ships offline.

    python benchmarks/tabular.py [all|small|stream|calibration|speed|memory] [--quick]
    python benchmarks/tabular.py stream|calibration|speed|memory --tokens   (the foundation model)

Every table is bundled with scikit-learn or statsmodels (nothing is downloaded). Each section
writes <section>.md and <section>.json (stream also stream.png) under benchmarks/results/tabular/,
<section>-tokens.* with `--tokens`;
`--quick` shrinks every section to a smoke run and writes under benchmarks/results/tabular/quick/.
Every learner runs on one thread (torch.set_num_threads(1), n_jobs=1, threadpoolctl's limit of
1 for BLAS and OpenMP) so that wall times compare like with like. Memory is read from
/proc/self/status (Linux) in a fresh process per measurement. Needs river and statsmodels
beside the package (`pip install river statsmodels`). Estimated from quick runs on 2 cores, a
full run takes about 17 minutes (small 10, stream 5, each other section a minute or less);
`--quick` takes about 3. Each section is benchmarks/common/tabular/<section>.py (its `run`);
the tables and estimators they share are common/tabular/tables.py and learners.py.
"""

import argparse
import json
import os
import platform
import time
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import river
import sklearn
import torch

from common.tabular import calibration, memory, small, speed, stream
from common.tabular.measure import single_thread

RESULTS = Path(__file__).parent / "results" / "tabular"

SECTIONS = {
    "small": ("Small data: IAI against scikit-learn defaults on bundled tables", small.run),
    "stream": ("Streams: prequential error against online learners", stream.run),
    "calibration": (
        "Calibration of IAIRegressor's 90 % predictive intervals",
        calibration.run,
    ),
    "speed": ("Speed: fit + predict on 10,000 synthetic rows", speed.run),
    "memory": ("Memory: partial_fit over a long stream", memory.run),
}


def _meta(section: str, quick: bool) -> dict[str, Any]:
    return {
        "command": f"python benchmarks/tabular.py {section}" + (" --quick" if quick else ""),
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "versions": {
            "scikit-learn": sklearn.__version__,
            "river": river.__version__,
            "torch": torch.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
        "machine": f"{platform.machine()}, os.cpu_count() = {os.cpu_count()}",
        "threads": "1 per learner: torch.set_num_threads(1) for IAI, n_jobs=1 and threadpoolctl's "
        "limit of 1 (BLAS, OpenMP) for scikit-learn and river",
        "quick": quick,
    }


def header(title: str, meta: dict[str, Any]) -> str:
    versions = ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
    return (
        f"<!-- {meta['command']} -->\n"
        f"# {title}{' (--quick smoke run, not results)' if meta['quick'] else ''}\n\n"
        f"`{meta['command']}`, {meta['date']}; {versions}; {meta['machine']}. Threads: "
        f"{meta['threads']}, so wall times compare like with like. Seeded throughout.\n"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("section", nargs="?", default="all", choices=[*SECTIONS, "all"])
    parser.add_argument("--quick", action="store_true", help="a smoke run of each section")
    parser.add_argument(
        "--tokens", action="store_true", help="a section on the foundation model "
        "(learner='tabular-tokens-<kind>'), into <section>-tokens.md",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.tokens and args.section in ("small", "all"):
        parser.error("--tokens is for one of stream, calibration, speed and memory (small data: "
                     "benchmarks/tabular_tokens.py)")  # fmt: skip
    single_thread()
    out = RESULTS / "quick" if args.quick else RESULTS
    out.mkdir(parents=True, exist_ok=True)
    for name in SECTIONS if args.section == "all" else [args.section]:
        title, run = SECTIONS[name]
        meta, clock = _meta(name, args.quick), time.perf_counter()
        if args.tokens:
            learner = "tabular-tokens-{kind}"
            regression_only = name in ("calibration", "memory")
            learner = learner.format(kind="regression") if regression_only else learner
            meta["command"] += " --tokens"
            run, name = partial(run, learner=learner), f"{name}-tokens"
        body, data = run(args.quick, out)
        meta["seconds"] = round(time.perf_counter() - clock, 1)
        md = f"{header(title, meta)}\n{body}\n\n{meta['seconds']:.0f} s for this section.\n"
        (out / f"{name}.md").write_text(md)
        (out / f"{name}.json").write_text(json.dumps({**meta, **data}, indent=1) + "\n")
        print(md)


if __name__ == "__main__":
    main()
