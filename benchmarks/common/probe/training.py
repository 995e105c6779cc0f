"""Training probed: `--out` a file or under one, two runs started together on one directory, a
file-size limit that makes every checkpoint write fail (a full disk as the kernel reports it to
one process: EFBIG), user priors whose later draws go wrong, and bad overrides, threads and
config paths. From Python a run must refuse with an iai error; from the CLI with a one-line
message, a non-zero exit and no traceback, leaving the last checkpoint whole."""

import json
import os
import resource
import signal
import subprocess
import sys
from functools import partial
from pathlib import Path

import torch

import iai
from common.probe.harness import Case
from iai.tasks import Tasks

SURFACE = "training"
TINY = [  # configs/demo.toml shrunk as tests/conftest.py shrinks it
    "task.dim=3", "learner.width=16", "learner.depth=1", "learner.heads=2", "learner.chunk=8",
    "train.iterations=8", "train.tasks=6", "train.batch_size=4", "train.steps=3",
    "train.queries=5", "train.warmup=2", "train.log_every=1", "train.checkpoint_every=4",
]  # fmt: skip


def _cli(root: Path, out: Path, *extra: str, limit: int | None = None) -> subprocess.Popen:
    sets = [a for o in TINY for a in ("--set", o)]
    args = [sys.executable, "-m", "iai.cli", "train", str(root / "configs" / "demo.toml")]

    def file_size_limit():  # writes past `limit` bytes fail with EFBIG instead of killing
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.Popen(
        [*args, "--out", str(out), "--quiet", *sets, *extra],
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=file_size_limit if limit else None,
    )  # fmt: skip


def _clean_exit(proc: subprocess.Popen) -> tuple[int, str]:
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err


def _one_line_refusal(code: int, err: str) -> str | None:
    if code == 0:
        return "exit 0 where it must refuse"
    if "Traceback" in err:
        return f"a traceback: {err.strip().splitlines()[-1][:120]}"
    return None if err.startswith("iai: error:") else f"stderr {err[:120]!r}"


def _two_runs(root: Path, out: Path):
    """Two CLI runs started together on `out`: (exit codes, stderrs, metrics steps)."""
    procs = [_cli(root, out), _cli(root, out)]
    done = [_clean_exit(p) for p in procs]
    lines = (
        (out / "metrics.jsonl").read_text().splitlines() if (out / "metrics.jsonl").exists() else []
    )
    return done, [json.loads(line)["step"] for line in lines]


def _one_run_owns(result) -> str | None:
    done, steps = result
    codes = sorted(code for code, _ in done)
    if codes[0] != 0 or codes[1] == 0:
        return f"exit codes {codes}: one run must train, the other be refused"
    refused = next(err for code, err in done if code)
    why = _one_line_refusal(1, refused)
    if why or "lock" not in refused.lower() and "in use" not in refused.lower():
        return why or f"refused without naming the holder: {refused[:120]!r}"
    if steps != list(range(1, len(steps) + 1)) or not steps:
        return f"metrics.jsonl steps {steps[:12]}: two runs interleaved"
    return None


def _predictions(out: Path) -> torch.Tensor:
    x = torch.randn(2, 12, 3, generator=torch.Generator().manual_seed(0))
    return iai.predict_steps(iai.load(out), x, x.sum(-1), x)


def _full_disk(root: Path, out: Path):
    """A run that wrote its first checkpoint, resumed with every checkpoint write failing:
    (exit code, stderr, temporary files left, whether the checkpoint predicts as before)."""
    first = _cli(root, out, "--set", "train.iterations=4")
    assert _clean_exit(first)[0] == 0
    before = _predictions(out)
    size = (out / "model.safetensors").stat().st_size
    code, err = _clean_exit(_cli(root, out, "--resume", limit=size // 2))
    leftovers = [p.name for p in out.rglob("*") if ".partial" in p.name or ".tmp" in p.name]
    return code, err, leftovers, torch.equal(_predictions(out), before)


def _intact_after_full_disk(result) -> str | None:
    code, err, leftovers, same = result
    why = _one_line_refusal(code, err)
    if why:
        return why
    if leftovers:
        return f"left behind {leftovers[:4]}"
    return None if same else "the last checkpoint predicts otherwise"


class Drifting:
    """A regression prior whose draws go wrong after its first `good` calls."""

    kind, dim, out_dim = "regression", 3, 1

    def __init__(self, fault: str, good: int = 3) -> None:
        self.fault, self.good, self.calls = fault, good, 0

    def sample(self, n_tasks, n_points, n_query, *, generator):
        self.calls += 1
        n = n_points + n_query
        x = torch.randn(n_tasks, n, self.dim, generator=generator)
        y = x.sum(-1)
        if self.calls > self.good:
            if self.fault == "width":
                x = torch.randn(n_tasks, n, self.dim + 2, generator=generator)
            elif self.fault == "axis":
                y = y[..., None]
            elif self.fault == "none":
                return None
            elif self.fault == "no targets":
                return Tasks(x[:, :n_points], None, x[:, n_points:], None)
            elif self.fault == "bool targets":
                y = y > 0
            elif self.fault == "raises":
                raise KeyError("a bug in the user's prior")
        return Tasks(x[:, :n_points], y[:, :n_points], x[:, n_points:], y[:, n_points:])


class NoSample:
    kind, dim, out_dim = "regression", 3, 1


def cases(root: Path, tmp: Path) -> list[Case]:
    demo = root / "configs" / "demo.toml"
    a_file = tmp / "a-file"
    a_file.write_text("not a directory")
    n = iter(range(10**6))

    def run(**kw):
        kw.setdefault("overrides", TINY)
        out = kw.pop("out", None) or tmp / f"run-{next(n)}"
        return iai.train(kw.pop("config", demo), out, progress=False, **kw)

    out = []
    for name, call in (
        ("out an existing file", partial(run, out=a_file)),
        ("out under a file", partial(run, out=a_file / "run")),
        ("resume with no run", partial(run, resume=True)),
        ("config missing", partial(run, config=tmp / "missing.toml")),
        ("config a directory", partial(run, config=tmp)),
        ("config binary", partial(run, config=Path(sys.executable))),
        ("threads=0", partial(run, threads=0)),
        ("threads='x'", partial(run, threads="x")),
        ("threads=10**6", partial(run, threads=10**6)),
        ("prior without sample", partial(run, prior=NoSample())),
        ("prior None-like object", partial(run, prior=object())),
        ("override width=-1", partial(run, overrides=[*TINY, "learner.width=-1"])),
        ("override iterations=x", partial(run, overrides=[*TINY, "train.iterations=x"])),
        ("override unknown key", partial(run, overrides=[*TINY, "train.nokey=1"])),
        ("override depth=10**6", partial(run, overrides=[*TINY, "learner.depth=1000000"])),
        ("override width=2**40", partial(run, overrides=[*TINY, "learner.width=1099511627776"])),
        ("override dim=10**9", partial(run, overrides=[*TINY, "task.dim=1000000000"])),
    ):
        out.append(Case(SURFACE, name, call, expect_error=True))
    for fault in ("width", "axis", "none", "no targets", "bool targets", "raises"):
        out.append(
            Case(
                SURFACE,
                f"user prior: a later draw {fault}",
                partial(run, prior=Drifting(fault)),
                expect_error=True,
            )
        )
    out.append(
        Case(
            SURFACE,
            "CLI: --out an existing file",
            lambda: _clean_exit(_cli(root, a_file)),
            lambda r: _one_line_refusal(*r),
            False,
        )
    )
    for k in range(4):
        out.append(
            Case(
                SURFACE,
                f"two runs on one --out, try {k + 1}",
                partial(_two_runs, root, tmp / f"shared-{k}"),
                _one_run_owns,
                False,
            )
        )
    out.append(
        Case(
            SURFACE,
            "CLI: every checkpoint write fails (EFBIG)",
            partial(_full_disk, root, tmp / "full"),
            _intact_after_full_disk,
            False,
        )
    )
    return out
