"""What a newcomer meets, tried as one would in a fresh clone: each point prints what iai says.

    git clone <repo> /tmp/fresh && cd /tmp/fresh && make test   # or any set-up .venv
    .venv/bin/python benchmarks/first_contact.py > first-contact.md

(the committed one: benchmarks/results/first-contact/first-contact.md)

Run from the clone's root with its own .venv; it writes only under runs/first-contact/ and
runs/eval/, and checks that the committed checkpoints stay untouched.
"""

import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_diabetes

import iai
from common.command import markdown_header

ROOT = Path(__file__).resolve().parents[1]
IAI = [str(Path(sys.executable).parent / "iai")]
RUN = ROOT / "runs" / "first-contact"
TINY = [
    f"--set={s}"
    for s in (
        "learner.width=16",
        "learner.depth=1",
        "train.tasks=8",
        "train.queries=8",
        "train.warmup=1",
        "train.log_every=1",
    )
]


def sh(args: list[str], cwd: Path = ROOT) -> str:
    """A command's exit status, the last lines it prints, and whether it showed progress."""
    p = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    out = [x for x in p.stdout.splitlines() if x.strip()]
    err = [x for x in p.stderr.replace("\r", "\n").splitlines() if x.strip()]
    bars = [x for x in err if "it/s]" in x or "s/it]" in x]
    last = (out or [x for x in err if x not in bars])[-2:]
    return f"exit {p.returncode}: " + " / ".join(last) + (" (progress bars shown)" if bars else "")


def error_of(fn) -> str:
    try:
        fn()
    except iai.IAIError as e:
        return f"{type(e).__name__}: {e}"
    return "no error"


def _resume_rows() -> list[tuple[str, str]]:
    """What `iai train --resume` says when the overrides change, and when they do not."""
    rows = []
    base = [*IAI, "train", "configs/demo.toml", "--out", str(RUN), "--quiet", *TINY]
    subprocess.run(["rm", "-rf", str(RUN)], check=True)
    sh([*base, "--set=train.iterations=2"])
    rows.append(("`--resume` with another lr", sh([*base, "--resume", "--set=train.lr=0.01"])))
    rows.append(
        (
            "`--resume` with 3 iterations (was 2)",
            sh([*base, "--resume", "--set=train.iterations=3"]),
        )
    )
    again = [*IAI, "train", "configs/demo.toml", "--out", str(RUN), *TINY]
    rows.append(("the same again", sh([*again, "--resume", "--set=train.iterations=3"])))
    return rows


def main() -> None:
    learner = iai.load(ROOT / "checkpoints/linreg-d8")
    rows = []

    X, y = load_diabetes(return_X_y=True)
    X, y = torch.tensor(X[:300, :8], dtype=torch.float32), torch.tensor(y[:300]).float()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", iai.InputWarning)
        iai.adapt(learner, X[None], y[None])
    rows.append(("diabetes, raw, through linreg-d8", caught[0].message if caught else "silent"))

    before = sh(["git", "status", "--porcelain", "checkpoints"])
    ev = sh([*IAI, "eval", "checkpoints/linreg-d8", "--tasks", "20", "--steps", "2"])
    after = sh(["git", "status", "--porcelain", "checkpoints"])
    written = sorted(p.name for p in (ROOT / "runs/eval/linreg-d8").iterdir())
    rows.append(("`iai eval checkpoints/linreg-d8 --tasks 20 --steps 2`", ev))
    rows.append(("... where it wrote", f"runs/eval/linreg-d8: {written}"))
    rows.append(("... checkpoints/ before / after (git status)", f"{before} / {after}"))

    rows += _resume_rows()

    usage = subprocess.run([*IAI, "--help"], capture_output=True, text=True).stdout
    rows.append(("`iai --help`", " ".join(usage.split("positional arguments:")[1].split())))
    ood = subprocess.run([*IAI, "eval", "--help"], capture_output=True, text=True).stdout
    ood = " ".join(
        ood.split("options:")[1].split("--ood NAME")[1].split("--no-baselines")[0].split()
    )
    rows.append(("`iai eval --help`, --ood", ood))
    rows.append(
        ("`--set eval.ood=noisy`", sh([*IAI, "train", "configs/demo.toml", "--set=eval.ood=noisy"]))
    )
    rows.append(
        ("`--set task.noise=-1`", sh([*IAI, "train", "configs/demo.toml", "--set=task.noise=-1"]))
    )
    x = torch.randn(1, 32, 8)
    rows.append(
        ("2-D x_train", error_of(lambda: iai.predict_steps(learner, x[0], x[0, :, 0], x[0])))
    )
    steps = iai.predict_steps(learner, x, x[..., 0], x, batch_size=np.int64(16))
    rows.append(("`batch_size=np.int64(16)`", f"accepted: {tuple(steps.shape)}"))
    rows.append(("default batch size", f"{learner.config.train.batch_size} (the trained one)"))
    cfg_file = ROOT / "checkpoints/linreg-d8/config.json"
    rows.append(("`iai.load` on a file", error_of(lambda: iai.load(cfg_file))))
    with tempfile.TemporaryDirectory() as elsewhere:
        quick = sh([sys.executable, str(ROOT / "examples/quickstart.py")], cwd=Path(elsewhere))
    rows.append(("examples/quickstart.py from another directory", quick))

    print(markdown_header())
    print("| what a newcomer tries | what iai answers |\n|---|---|")
    for what, answer in rows:
        print(f"| {what} | {str(answer).replace('|', '/')} |")


if __name__ == "__main__":
    main()
