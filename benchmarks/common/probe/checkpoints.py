"""`iai.load` probed on crafted directories: special files where files belong, files far larger
than they declare, configs that describe huge models, weights of other dtypes, OS errors of
every kind, and (hypothesis, derandomized) bytes flipped in the safetensors header, files cut
short and config values replaced. A load must refuse with CheckpointError, or load a learner
that predicts exactly what the intact checkpoint predicts."""

import json
import os
import shutil
import struct
from functools import partial
from pathlib import Path

import torch
from hypothesis import given
from hypothesis import strategies as st
from safetensors.torch import load_file, save_file

import iai
from common.probe.harness import Case, generated

SURFACE = "iai.load"
BASE = "linreg-d8"  # a small committed checkpoint the crafted ones start from


class Crafter:
    """Fresh case directories under `tmp`, each a copy of the base checkpoint, altered."""

    def __init__(self, root: Path, tmp: Path, prefix: str) -> None:
        self.base, self.tmp, self.prefix, self.n = root / "checkpoints" / BASE, tmp, prefix, 0
        x = torch.randn(2, 16, 8, generator=torch.Generator().manual_seed(0))
        y = torch.randn(2, 16, generator=torch.Generator().manual_seed(1))
        self.data = (x, y, x)
        self.expected = iai.predict_steps(iai.load(self.base), *self.data)

    def copy(self) -> Path:
        self.n += 1
        d = self.tmp / f"{self.prefix}-{self.n}"
        shutil.copytree(self.base, d)
        return d

    def same(self, learner) -> str | None:
        """The oracle of a load that succeeds: the intact checkpoint's predictions."""
        out = iai.predict_steps(learner, *self.data)
        return None if torch.equal(out, self.expected) else "loaded, predicting otherwise"

    def config(self, d: Path) -> dict:
        return json.loads((d / "config.json").read_text())

    def write_config(self, d: Path, doc) -> None:
        (d / "config.json").write_text(doc if isinstance(doc, str) else json.dumps(doc))


def _load_after(craft, alter, d_of=None):
    """A call that builds the case directory (`alter(d)`, timed with it) and loads it."""

    def call():
        d = craft.copy() if d_of is None else d_of()
        target = alter(d) or d
        return iai.load(target)

    return call


def _set(path: list[str], value):
    def alter_config(craft, d):
        doc = craft.config(d)
        node = doc
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value
        craft.write_config(d, doc)

    return alter_config


def _weights_as(dtype):
    def alter(d):
        t = load_file(d / "model.safetensors")
        save_file({k: v.to(dtype) for k, v in t.items()}, d / "model.safetensors", {"step": "2400"})

    return alter


def _link(name, target):
    def alter(d):
        (d / name).unlink()
        if target == "fifo":
            os.mkfifo(d / name)
        elif target == "self":
            os.symlink(name, d / name)
        elif target == "dir":
            (d / name).mkdir()
        else:
            os.symlink(target, d / name)

    return alter


def _sparse_tail(gib: int):
    def alter(d):
        with open(d / "model.safetensors", "r+b") as f:
            f.truncate(gib * 2**30)

    return alter


def _header(edit):
    """Rewrite the safetensors JSON header by `edit(header dict) -> header` (data kept)."""

    def alter(d):
        raw = (d / "model.safetensors").read_bytes()
        n = struct.unpack("<Q", raw[:8])[0]
        header = edit(json.loads(raw[8 : 8 + n]))
        text = json.dumps(header).encode()
        (d / "model.safetensors").write_bytes(struct.pack("<Q", len(text)) + text + raw[8 + n :])

    return alter


def _first_tensor(key, value):
    def edit(h):
        name = next(k for k in h if k != "__metadata__")
        h[name][key] = value
        return h

    return edit


def targeted(root: Path, tmp: Path) -> list[Case]:
    craft = Crafter(root, tmp, "targeted")

    def case(name, alter, expect_error=True, d_of=None):
        check = craft.same if expect_error is not True else None
        return Case(SURFACE, name, _load_after(craft, alter, d_of), check, expect_error)

    def cfg(path, value):
        return partial(_set(path, value), craft)

    def long_path(d):
        deep = d
        while len(str(deep)) < 100_000:
            deep = deep / ("x" * 200)
        return deep

    def latest_file(d):
        (d / "latest").write_text("steps/00002400")
        for name in ("config.json", "model.safetensors"):
            (d / name).rename(d / f"{name}.real")
            os.symlink(f"latest/{name}", d / name)

    cases = [
        case("intact copy", lambda d: None, expect_error=False),
        case("config.json a FIFO", _link("config.json", "fifo")),
        case("model.safetensors a FIFO", _link("model.safetensors", "fifo")),
        case("config.json -> /dev/zero", _link("config.json", "/dev/zero")),
        case("config.json -> /dev/urandom", _link("config.json", "/dev/urandom")),
        case("model.safetensors -> /dev/zero", _link("model.safetensors", "/dev/zero")),
        case("model.safetensors -> /dev/urandom", _link("model.safetensors", "/dev/urandom")),
        case("config.json linked to itself", _link("config.json", "self")),
        case("config.json a directory", _link("config.json", "dir")),
        case("model.safetensors a directory", _link("model.safetensors", "dir")),
        case("latest a plain file", latest_file),
        case("a 100,000-character path", long_path),
        case("weights + 2 GiB of sparse zeros", _sparse_tail(2)),
        case("weights + 8 GiB of sparse zeros", _sparse_tail(8)),
        case("config.json nested 100,000 deep", lambda d: craft.write_config(d, "[" * 100_000)),
        case(
            "config.json 5,000-digit step",
            lambda d: craft.write_config(
                d, (d / "config.json").read_text().replace('"step": 2400', '"step": ' + "9" * 5000)
            ),
        ),
        case("config.json not UTF-8", lambda d: (d / "config.json").write_bytes(b"\xff\xfe{")),
        case("config.json empty", lambda d: (d / "config.json").write_bytes(b"")),
        case("model.safetensors empty", lambda d: (d / "model.safetensors").write_bytes(b"")),
        case(
            "header length 2**63",
            lambda d: (d / "model.safetensors").write_bytes(struct.pack("<Q", 2**63) + b"{}"),
        ),
        case("header a JSON list", _header(lambda h: [1, 2])),
        case("a tensor of shape [2**40]", _header(_first_tensor("shape", [2**40]))),
        case("a tensor of negative shape", _header(_first_tensor("shape", [-1]))),
        case("a tensor's offsets past the end", _header(_first_tensor("data_offsets", [0, 2**40]))),
        case("a dtype safetensors does not know", _header(_first_tensor("dtype", "X9"))),
        case(
            "metadata step of 5,000 digits",
            _header(lambda h: h | {"__metadata__": {"step": "9" * 5000}}),
        ),
        case("metadata not strings", _header(lambda h: h | {"__metadata__": {"step": [1]}})),
    ]
    for dtype in (torch.int64, torch.bool, torch.complex64, torch.float8_e4m3fn, torch.int8):
        cases.append(case(f"weights stored as {dtype}", _weights_as(dtype)))
    # floats of ≥ 16 bits are accepted: a wider float holds the same values exactly
    cases.append(case("weights stored as float64", _weights_as(torch.float64), expect_error=False))
    sizes = [(["learner", "width"], v) for v in (3072, 8192, 2**40)]
    sizes += [(["learner", "depth"], 10**6), (["learner", "chunk"], 10**12)]
    sizes += [(["task", "dim"], 10**9), (["learner", "heads"], 10**9)]
    sizes += [(["config", "train", "batch_size"], 10**30)]
    for path, value in sizes:
        full = path if path[0] == "config" else ["config", *path]
        cases.append(case(f"{'.'.join(full[1:])} = {value}", cfg(full, value)))
    prior = {"name": "Mine", "kind": "regression", "dim": 10**9, "out_dim": 1, "shipped": False}
    cases.append(case("a user prior's signature of dim 10**9", cfg(["prior"], prior)))
    for key, value in (("format", 10**400), ("format", "1" * 5000), ("step", -1), ("config", [])):
        cases.append(case(f"config.json {key} = {str(value)[:12]}…", cfg([key], value)))
    return cases


def drawn(root: Path, tmp: Path, examples: int) -> list[Case]:
    craft = Crafter(root, tmp, "drawn")
    header_len = struct.unpack("<Q", (craft.base / "model.safetensors").read_bytes()[:8])[0]
    size = (craft.base / "model.safetensors").stat().st_size
    cases: list[Case] = []

    def flip(position, bit, d):
        raw = bytearray((d / "model.safetensors").read_bytes())
        raw[position] ^= 1 << bit
        (d / "model.safetensors").write_bytes(bytes(raw))

    def cut(name, length, d):
        raw = (d / name).read_bytes()
        (d / name).write_bytes(raw[: length % max(len(raw), 1)])

    def replace_value(key, value, d):
        text = (d / "config.json").read_text()
        at = text.find(f'"{key}"')
        if at >= 0:
            end = text.find("\n", at)
            tail = "," if text[end - 1] == "," else ""
            text = text[:at] + f'"{key}": {json.dumps(value)}{tail}' + text[end:]
        craft.write_config(d, text)

    keys = ["width", "depth", "heads", "chunk", "dim", "step", "format", "kind", "batch_size"]
    values = st.one_of(
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=False),
        st.text(max_size=8),
        st.none(),
        st.booleans(),
        st.lists(st.integers(), max_size=2),
    )
    alterations = st.one_of(
        st.builds(partial(partial, flip), st.integers(0, 8 + header_len - 1), st.integers(0, 7)),
        st.builds(
            partial(partial, cut),
            st.sampled_from(["config.json", "model.safetensors"]),
            st.integers(0, size),
        ),
        st.builds(partial(partial, replace_value), st.sampled_from(keys), values),
    )

    @generated(examples)
    @given(alterations)
    def one(alter):
        # may load only if the change is harmless; then it must predict as the intact one
        cases.append(
            Case(
                SURFACE,
                f"drawn: {alter.func.__name__}{alter.args}"[:90],
                _load_after(craft, alter),
                craft.same,
                None,
            )
        )

    one()
    return cases
