"""Check the core issue's figures against an `iai eval` result and print what passes or misses.

    python benchmarks/targets.py demo benchmarks/results/demo/demo-long/eval.json
    python benchmarks/targets.py long benchmarks/results/linreg-d8/eval.json

Each writes benchmarks/results/targets/<the eval.json's folder>.md (demo-long.md, linreg-d8.md)
and prints it.
"""

import json
import sys
from pathlib import Path

from common.command import markdown_header
from iai.evaluation.results import EvalResult

OUT = Path("benchmarks/results/targets")
BASELINES = ("sgd_online", "adam_online", "sgd", "adam")


def ratios(result: EvalResult) -> list[float]:
    """IAI's MSE over the exact Bayes MSE, per step."""
    iai, bayes = result.curve("iai", "mse").mean, result.curve("bayes", "mse").mean
    return [a / b for a, b in zip(iai, bayes, strict=True)]


def checks(kind: str, result: EvalResult) -> list[tuple[str, bool, str]]:
    iai = result.curve("iai", "mse").mean
    r = ratios(result)
    out = []
    if kind == "demo":
        falls = all(iai[k] < iai[k - 1] for k in range(1, 9))
        out.append(
            ("MSE falls at every step 1 → 8", falls, " > ".join(f"{v:.4f}" for v in iai[:9]))
        )
        out.append(("step 8 ≤ 1.25 × Bayes", r[8] <= 1.25, f"{r[8]:.3f}"))
        for base in BASELINES:
            if base in result.methods:
                other = result.curve(base, "mse").mean
                worse = [k for k in range(1, 9) if iai[k] >= other[k]]
                detail = "every step" if not worse else f"not at steps {worse}"
                out.append((f"beats {base} at every step 1 → 8", not worse, detail))
    else:
        worst_4 = max(r[4:17])
        worst_8 = max(r[8:17])
        out.append(("≤ 1.10 × Bayes at every step 4 → 16", worst_4 <= 1.10, f"worst {worst_4:.3f}"))
        out.append(("≤ 1.05 × Bayes at every step 8 → 16", worst_8 <= 1.05, f"worst {worst_8:.3f}"))
        last = len(r) - 1
        out.append((f"ratio at step {last}", True, f"{r[last]:.3f}"))
    return out


def main() -> None:
    kind, path = sys.argv[1], Path(sys.argv[2])
    results = [EvalResult.from_json(r) for r in json.loads(path.read_text())]
    lines = [
        f"# Targets ({kind}) checked on {path}",
        "",
        "| figure | met | measured |",
        "|---|---|---|",
    ]
    for name, ok, detail in checks(kind, results[0]):
        lines.append(f"| {name} | {'yes' if ok else 'NO'} | {detail} |")
    lines += ["", "IAI / Bayes per step, every variant:", ""]
    for res in results:
        lines.append(f"- {res.variant}: " + ", ".join(f"{x:.3f}" for x in ratios(res)))
    text = "\n".join([markdown_header(), *lines]) + "\n"
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{path.parent.name}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
