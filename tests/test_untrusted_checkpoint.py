"""A checkpoint is untrusted data (issue 24, findings 2, 3, 4, 8 and 10): crafted directories
are refused by a `CheckpointError` naming the file, at once, before iai reads more than a
bounded header or allocates the learner their config describes.

Tests and the rows of CASES are named for the finding they cover (`-k f3` lists finding 3's):
f2 a FIFO hangs, f3 whole files read before checking, f4 the learner built before it is
checked, f8 non-float weights cast silently, f10 OS and decoding errors let through.
benchmarks/load_memory.py measures the memory each crafted directory costs.
"""

import json
import os
import shutil
import signal
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch
from conftest import DEMO, TINY
from hypothesis import event, given
from hypothesis import strategies as st
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import nn

import iai
import iai.api
from iai.checkpoint import load_trainer, read_config, save_learner
from iai.checkpoint.read import check_weights
from iai.config import load_config, to_dict
from iai.experiment import build

CONFIG, MODEL, TRAINER = "config.json", "model.safetensors", "trainer.safetensors"


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A tiny learner saved with its trainer state (steps/00000007, `latest` and links)."""
    cfg = load_config(DEMO, TINY)
    learner, _ = build(cfg)
    opt = torch.optim.Adam(learner.parameters())
    learner.theta0.sum().backward()
    opt.step()
    rng = {"tasks": torch.Generator().manual_seed(1).get_state()}
    directory = tmp_path_factory.mktemp("saved") / "run"
    save_learner(directory, learner, to_dict(cfg), step=7, optimizer=opt, rng_states=rng)
    return directory


def copy(saved: Path, parent: Path) -> Path:
    shutil.copytree(saved, parent / "run", symlinks=True)
    return parent / "run"


@pytest.fixture
def run(saved, tmp_path) -> Path:
    """A fresh copy of `saved` to damage (hypothesis tests take a `copy` of their own)."""
    return copy(saved, tmp_path)


@contextmanager
def spying() -> Iterator[list[bool]]:
    """The `meta` flag of every build iai.load makes while inside."""
    calls: list[bool] = []

    def recorded(*args, meta=False, **kwargs):
        calls.append(meta)
        return build(*args, meta=meta, **kwargs)

    original, iai.api.build = iai.api.build, recorded
    try:
        yield calls
    finally:
        iai.api.build = original


def refused(run: Path, *words: str, timeout: int = 20) -> None:
    """iai.load(run) raises a CheckpointError naming each of `words`; SIGALRM turns a hang
    into a failure."""

    def hang(signum, frame):
        raise AssertionError(f"iai.load hung for {timeout} s")

    previous = signal.signal(signal.SIGALRM, hang)
    signal.alarm(timeout)
    try:
        with pytest.raises(iai.CheckpointError) as e:
            iai.load(run)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert all(word in str(e.value) for word in words), (words, str(e.value))


def real(run: Path, name: str) -> Path:
    """The file behind the link `name` (what a reader opens)."""
    return run / "latest" / name


def edit_config(run: Path, change) -> None:
    doc = json.loads(real(run, CONFIG).read_text())
    change(doc)
    real(run, CONFIG).write_text(json.dumps(doc))


def learner(**sizes):
    return lambda r: edit_config(r, lambda doc: doc["config"]["learner"].update(sizes))


def task(**sizes):
    return lambda r: edit_config(r, lambda doc: doc["config"]["task"].update(sizes))


def top(**keys):
    return lambda r: edit_config(r, lambda doc: doc.update(keys))


def swap(name: str, make):
    """`make(path)` in place of the file behind `name`."""
    return lambda r: real(r, name).unlink() or make(real(r, name))


def latest(make):
    """`make(path)` in place of the `latest` link."""
    return lambda r: (r / "latest").unlink() or make(r / "latest")


def grow(name: str, size: int):
    """The file behind `name`, valid, then zeros up to `size` bytes (sparse: no disk used)."""
    return lambda r: os.truncate(real(r, name), size)


def write(name: str, data: bytes):
    return lambda r: real(r, name).write_bytes(data)


def weights(change, **meta: str):
    """model.safetensors rewritten as `change(tensors)` by safetensors' own writer."""
    stamp = {"step": "7", "format": "2"} | meta
    return lambda r: save_file(change(load_file(real(r, MODEL))), real(r, MODEL), stamp)


def cast(dtype: torch.dtype):
    return weights(lambda t: t | {"theta0": t["theta0"].to(dtype)})


def step_digits(r: Path) -> None:
    text = real(r, CONFIG).read_text()
    real(r, CONFIG).write_text(text.replace('"step": 7', '"step": 1' + "0" * 5000))


def header(tensors: dict[str, tuple], meta: dict | None = None, tail: int = 0) -> bytes:
    """A safetensors file of `tensors` (name: (dtype, shape, offsets)) and `tail` data bytes."""
    doc = {"__metadata__": meta or {"step": "7"}} | {
        name: {"dtype": d, "shape": s, "data_offsets": o} for name, (d, s, o) in tensors.items()
    }
    text = json.dumps(doc).encode()
    return struct.pack("<Q", len(text)) + text + bytes(tail)


def entry(*shape: int, start: int = 0, stop: int = 16) -> bytes:
    """One float32 tensor 'w' and 32 data bytes."""
    return header({"w": ("F32", list(shape), [start, stop])}, tail=32)


def raw(text: bytes) -> bytes:
    """A header of exactly `text`."""
    return struct.pack("<Q", len(text)) + text


SIG = {"name": "Big", "kind": "regression", "dim": 10**9, "out_dim": 1, "shipped": False}
# finding and case: (damage, the file its error names, what the error says)
CASES = {
    "f2 config.json a FIFO": (swap(CONFIG, os.mkfifo), CONFIG, "is a FIFO, not a regular file"),
    "f2 weights a FIFO": (swap(MODEL, os.mkfifo), MODEL, "is a FIFO, not a regular file"),
    **{
        f"f3 {name} -> {dev}": (swap(name, lambda p, d=dev: p.symlink_to(d)), name, "a character")
        for name in (CONFIG, MODEL)
        for dev in ("/dev/zero", "/dev/urandom")
    },
    "f3 weights + 8 GiB of zeros": (grow(MODEL, 8 << 30), MODEL, f"the file has {8 << 30}"),
    "f3 config.json + 64 MiB": (grow(CONFIG, 64 << 20), CONFIG, "it may hold at most 1048576"),
    "f3 header length 2**64 - 1": (write(MODEL, b"\xff" * 16), MODEL, "its header claims"),
    "f3 header a list": (write(MODEL, raw(b"[1, 2, 3]")), MODEL, "its header is not a table"),
    "f3 header key twice": (write(MODEL, raw(b'{"a":1,"a":2}')), MODEL, "appears twice"),
    "f3 entry not a table": (write(MODEL, raw(b'{"a": 1}')), MODEL, "tensor 'a' is 1"),
    "f3 shape past the data": (write(MODEL, entry(2**62, 2**62)), MODEL, "spans bytes 0 to 16"),
    "f3 a gap before the data": (write(MODEL, entry(4, start=16, stop=32)), MODEL, "starts at"),
    "f3 a negative shape": (write(MODEL, entry(-4)), MODEL, "tensor 'w' is"),
    "f3 40 dimensions": (write(MODEL, entry(*[1] * 40, stop=4)), MODEL, "tensor 'w' is"),
    "f3 data past the tensors": (write(MODEL, entry(4)), MODEL, "its header declares"),
    **{
        f"f4 width {w}": (learner(width=w), MODEL, "the config implies")
        for w in (3072, 8192, 2**16)
    },
    "f4 width 2**40": (learner(width=2**40), CONFIG, "width = 1099511627776; must be at most"),
    "f4 width 2**64": (learner(width=2**64), CONFIG, "expected an integer within 64 bits"),
    "f4 depth 10**6": (learner(depth=10**6), CONFIG, "depth = 1000000; must be at most 64"),
    "f4 chunk 10**12": (learner(chunk=10**12), CONFIG, "chunk = 1000000000000; must be at most"),
    "f4 memory 10**9": (learner(memory=10**9), CONFIG, "memory = 1000000000; must be from 0"),
    "f4 task.dim 10**9": (task(dim=10**9), CONFIG, "dim = 1000000000; must be at most 65536"),
    "f4 signature dim 10**9": (top(prior=SIG), CONFIG, "signature dim = 1000000000; must be at"),
    **{
        f"f8 weights of {dtype}": (cast(getattr(torch, dtype)), MODEL, f"is of dtype '{name}'")
        for dtype, name in [("int64", "I64"), ("bool", "BOOL"), ("complex64", "C64")]
        + [("uint8", "U8"), ("float8_e4m3fn", "F8_E4M3"), ("int8", "I8")]
    },
    **{
        f"f8 weights of {dtype}": (cast(dtype), MODEL, f"stored as {dtype}; the learner holds")
        for dtype in (torch.float16, torch.bfloat16)
    },
    "f10 config.json a self-link": (swap(CONFIG, lambda p: p.symlink_to(p.name)), CONFIG, "links"),
    "f10 config.json a directory": (swap(CONFIG, Path.mkdir), CONFIG, "is a directory, not a"),
    "f10 weights a directory": (swap(MODEL, Path.mkdir), MODEL, "is a directory, not a regular"),
    "f10 latest a plain file": (latest(lambda p: p.write_text("x")), CONFIG, "Not a directory"),
    "f10 latest a self-link": (latest(lambda p: p.symlink_to("latest")), CONFIG, "-> latest)"),
    "f10 nested 100,000 deep": (write(CONFIG, b"[" * 10**5 + b"]" * 10**5), CONFIG, "recursion"),
    "f10 a 5,000-digit step": (step_digits, CONFIG, "Exceeds the limit (4300 digits)"),
    "f10 weights' step": (weights(dict, step="9" * 5000), MODEL, "is corrupt: step '9999"),
    "f10 weights' format": (weights(dict, format="9" * 5000), MODEL, "its format is '9999"),
    **{f"f10 step {v!r}": (top(step=v), CONFIG, "corrupt: step") for v in (10**30, -1, 1.5, True)},
    **{f"f10 step {v!r}": (top(step=v), CONFIG, "is corrupt: step") for v in ("7", None)},
    **{
        f"f10 config.json {data!r}": (write(CONFIG, data), CONFIG, "is corrupt")
        for data in (b"\xff\xfe", b"\xe9", b"\x00" * 10, b"{not json")
    },
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_crafted_directory_is_refused_at_once_naming_the_file(run, case):
    """A row of CASES (a finding's rows: -k f2, f3, f4, f8 or f10): a CheckpointError that
    names the file, before any real build of the learner (only the one on the meta device)."""
    damage, name, message = CASES[case]
    damage(run)
    with spying() as calls:
        refused(run, name, message)
    assert False not in calls


def resume(run: Path) -> int:
    """load_trainer on `run` for a fresh learner of the same config."""
    learner, _ = build(load_config(DEMO, TINY))
    return load_trainer(run, torch.optim.Adam(learner.parameters()), {"tasks": torch.Generator()})


def test_f2_a_fifo_is_refused_by_read_config_and_on_resume(run, tmp_path):
    """read_config (the run log's reader) through a link to a FIFO; load_trainer (resume)."""
    os.mkfifo(tmp_path / "pipe")
    swap(CONFIG, lambda p: p.symlink_to(tmp_path / "pipe"))(run)
    with pytest.raises(iai.CheckpointError, match="config.json' is a FIFO, not a regular file"):
        read_config(run)
    swap(TRAINER, os.mkfifo)(run)
    with pytest.raises(iai.CheckpointError, match="trainer.safetensors' is a FIFO"):
        resume(run)


def test_f3_a_header_padded_past_what_the_learner_needs_is_refused_unread(run):
    """2,000 empty tensors: 200 KB, within any header's 1 MiB but past this learner's bound."""
    real(run, MODEL).write_bytes(header({f"t{i}": ("F32", [0], [0, 0]) for i in range(2000)}))
    with spying() as calls:
        refused(run, MODEL, "is corrupt: its header claims")
    assert calls == [True]


@given(
    tensors=st.dictionaries(
        st.text(max_size=8),
        st.tuples(
            st.sampled_from(["F32", "F64", "F16", "I64", "BOOL", "C64", "F8_E4M3", "X"]),
            st.lists(st.integers(-2, 2**64), max_size=4),
            st.lists(st.integers(-2, 2**64), min_size=2, max_size=2),
        ),
        max_size=4,
    ),
    tail=st.integers(0, 64),
)
def test_f3_any_crafted_header_is_a_checkpoint_error(saved, tmp_path_factory, tensors, tail):
    run = copy(saved, tmp_path_factory.mktemp("header"))
    real(run, MODEL).write_bytes(header(tensors, tail=tail))
    with pytest.raises(iai.CheckpointError):
        iai.load(run)


def test_f4_a_matching_checkpoint_is_built_for_real_once_checked(run):
    with spying() as calls:
        iai.load(run)
    assert calls == [True, False]


@pytest.mark.parametrize("override", ["learner.depth=65", "learner.width=65537", "task.dim=70000"])
def test_f4_the_bounds_hold_for_configs_from_toml_too(override):
    with pytest.raises(iai.InvalidConfig, match="must be at most"):
        load_config(DEMO, [*TINY, override])


class Unstored(nn.Module):
    """A learner, on the meta device, that computes 80 MiB at init it does not store (no shipped
    learner does: the mixture's index table is smaller than the weights beside it)."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.empty(4, device="meta"))
        self.register_buffer("table", torch.empty(20 << 20, device="meta"), persistent=False)

    upgraded = staticmethod(lambda tensors, version: tensors)  # as Learner's, with no renames


def test_f4_a_learner_that_computes_more_at_init_than_its_file_declares_is_refused(run):
    save_file({"w": torch.zeros(4)}, real(run, MODEL), {"step": "7", "format": "2"})
    with pytest.raises(iai.CheckpointError, match="computes 83886080 bytes at init beyond the 16"):
        check_weights(run, Unstored())


@given(
    sizes=st.fixed_dictionaries(
        {},
        optional={
            key: st.one_of(
                st.sampled_from([1, 2, 8, 16, 3072, 8192, 2**16, 2**16 + 2, 2**40]),
                st.integers(-3, 70_000),
                st.integers(),
            )
            for key in ("width", "depth", "heads", "chunk", "history", "hidden", "memory")
        },
    ),
    dim=st.one_of(st.none(), st.integers(-3, 10**12)),
)
def test_f4_any_crafted_size_is_refused_before_a_real_build(saved, tmp_path_factory, sizes, dim):
    """Hypothesis: sizes in config.json, anywhere from negative to past int64; the real
    build comes only after the header matched the meta one."""
    run = copy(saved, tmp_path_factory.mktemp("sizes"))
    learner(**sizes)(run)
    if dim is not None:
        edit_config(run, lambda doc: doc["config"]["task"].update(dim=dim))
    with spying() as calls:
        try:
            iai.load(run)
        except iai.CheckpointError as e:
            assert False not in calls  # refused: no real build
            event("refused by the meta build's check" if calls else "refused as a config")
            assert ("invalid config" in str(e)) != bool(calls)
        else:
            assert calls == [True, False]
            event("loads")


def test_f8_float64_weights_load_into_a_float32_learner_checked_after_the_cast(run):
    expected = iai.load(run).state_dict()
    weights(lambda t: {k: v.double() for k, v in t.items()})(run)
    loaded = iai.load(run).state_dict()
    assert all(
        torch.equal(loaded[k], v) and loaded[k].dtype == v.dtype for k, v in expected.items()
    )
    weights(lambda t: t | {"theta0": t["theta0"].double() + 1e300})(run)  # inf in float32
    refused(run, MODEL, "tensor 'theta0' holds NaN or inf")


def test_f8_a_trainer_state_of_the_wrong_dtype_is_refused(run):
    path = real(run, TRAINER)
    tensors, meta = load_file(path), safe_open(path, "pt").metadata()
    save_file(tensors | {"rng.tasks": tensors["rng.tasks"].long()}, path, meta)
    with pytest.raises(iai.CheckpointError, match="tensor 'rng.tasks' is of dtype 'I64'"):
        resume(run)


@pytest.mark.parametrize("path", ["x" * 100_000, "a/" * 50_000, "nul\0byte"])
def test_f10_a_path_no_file_system_can_open_is_named(path):
    with pytest.raises(iai.CheckpointError, match="cannot be read|does not exist"):
        iai.load(path)


@given(
    doc=st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
        ),
        max_leaves=12,
    ),
    where=st.sampled_from(["learner", "task", "train", "seed", "prior", "format", "step", "top"]),
)
def test_f10_any_json_anywhere_in_config_json_is_a_checkpoint_error_or_loads(
    saved, tmp_path_factory, doc, where
):
    """Hypothesis: a JSON value in place of a table or a key of config.json."""
    run = copy(saved, tmp_path_factory.mktemp("doc"))

    if where == "top":
        real(run, CONFIG).write_text(json.dumps(doc))
    else:
        inner = where in ("learner", "task", "train", "seed")
        edit_config(run, lambda d: (d["config"] if inner else d).update({where: doc}))
    try:
        iai.load(run)
    except iai.CheckpointError:
        pass
