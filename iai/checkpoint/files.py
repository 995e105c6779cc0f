"""A checkpoint's files read as untrusted data: regular files only, within a size bound, and
every OS or decoding error a `CheckpointError` naming the file.

The safetensors header is parsed here rather than by `safetensors.safe_open`, for two reasons:
`safe_open` opens the path itself, and opening a FIFO blocks until a writer comes (so the
file must be opened and checked first, and then read through that one descriptor, lest a
FIFO be swapped in between); and the checks iai makes (the data exactly fills the file, each
tensor's bytes match its dtype and shape, no name twice) need the header's length, which
`safe_open` does not give. The format is 8 bytes of little-endian header length, the JSON
header, then the tensors' bytes (https://github.com/huggingface/safetensors#format).
"""

import json
import os
import reprlib
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from io import FileIO
from pathlib import Path

import torch

from iai.checkpoint.layout import LATEST
from iai.errors import CheckpointError

CONFIG_LIMIT = 1 << 20  # config.json: those iai writes hold a few KB
HEADER_LIMIT = 1 << 20  # a safetensors header: ~90 bytes a tensor, ~8 KB in shipped ones
# safetensors' dtype names -> torch's, for the dtypes a checkpoint may hold
DTYPES = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "U8": torch.uint8,  # random generators' states (trainer.safetensors)
}
FLOATS = ("F16", "BF16", "F32", "F64")
MAX_DIMS = 32  # a tensor's dimensions: generous, iai's tensors have at most 4
_short = reprlib.Repr()
_short.maxstring, _short.maxother, _short.maxlong = 120, 120, 40


def shown(value) -> str:
    """`repr(value)`, shortened: a file's contents go into messages, and may be huge."""
    return _short.repr(value)


def named(path: Path) -> str:
    """The path as messages quote it (shortened past what any file system can open)."""
    text = str(path)
    return repr(text if len(text) <= 4096 else f"{text[:200]}…{text[-200:]}")


def missing(path: Path, what: str = "") -> CheckpointError:
    """A file that is not there, or a link through a `latest` that names nothing any more."""
    latest = path.parent / LATEST
    try:
        gone = path.is_symlink() and latest.is_symlink() and not latest.exists()
        target = os.readlink(latest) if gone else ""
    except (OSError, ValueError):
        gone = False
    if gone:
        return CheckpointError(
            f"{named(path)} is a link to a checkpoint that no longer exists "
            f"({LATEST} -> {target}){what}"
        )
    return CheckpointError(f"{named(path)} is missing{what}")


def unreadable(path: Path, e: BaseException) -> CheckpointError:
    """An OS error (a link loop, a name too long, a directory on the way that is a file)."""
    reason = getattr(e, "strerror", None) or str(e)
    return CheckpointError(f"{named(path)} cannot be read: {reason}")


_KINDS = [
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
]


@contextmanager
def opened(path: Path, what: str = "") -> Iterator[tuple[FileIO, int]]:
    """The regular file at `path` (links followed), open for reading, and its size.

    O_NONBLOCK: opening a FIFO returns at once (where a plain open waits for a writer), and
    fstat on the descriptor then refuses it; what is checked is what is read."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError as e:
        raise missing(path, what) from e
    except (OSError, ValueError) as e:  # ValueError: a NUL byte in the path
        raise unreadable(path, e) from e
    try:
        mode, size = (st := os.fstat(fd)).st_mode, st.st_size
        if not stat.S_ISREG(mode):  # before FileIO, which refuses a directory by raising
            kind = next((k for test, k in _KINDS if test(mode)), "a special file")
            raise CheckpointError(f"{named(path)} is {kind}, not a regular file")
    except BaseException:
        os.close(fd)
        raise
    with FileIO(fd, "rb", closefd=True) as f:
        yield f, size


def read_exactly(f: FileIO, path: Path, n: int, what: str) -> bytearray:
    """n bytes from `f`'s position; a file that ends sooner is corrupt."""
    buf = bytearray(n)
    view, got = memoryview(buf), 0
    try:
        while got < n and (k := f.readinto(view[got:])):
            got += k
    except OSError as e:
        raise unreadable(path, e) from e
    if got < n:
        raise CheckpointError(f"{named(path)} is corrupt: it ends inside {what}")
    return buf


def read_bounded(path: Path, limit: int = CONFIG_LIMIT, what: str = "") -> bytes:
    """The whole regular file at `path`, refused if longer than `limit` bytes. It reads at
    most limit + 1 bytes whatever the size says (files in /proc say 0)."""
    with opened(path, what) as (f, size):
        if size > limit:
            raise CheckpointError(f"{named(path)} is {size} bytes; it may hold at most {limit}")
        chunks, got = [], 0
        try:  # a read may return less than asked (a /proc file gives a page at a time)
            while got <= limit and (chunk := f.read(limit + 1 - got)):
                chunks.append(chunk)
                got += len(chunk)
        except OSError as e:
            raise unreadable(path, e) from e
    data = b"".join(chunks)
    if len(data) > limit:
        raise CheckpointError(f"{named(path)} holds more than the {limit} bytes it may hold")
    return data


def decode_json(path: Path, data: bytes):
    """JSON, or CheckpointError: invalid text, nesting too deep for the parser, or a number
    past Python's int digits limit."""
    try:
        return json.loads(data, object_pairs_hook=_unique)
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise CheckpointError(f"{named(path)} is corrupt: {shown(str(e))}") from e


def _unique(pairs: list) -> dict:
    """A JSON object whose keys differ (json keeps the last of two silently)."""
    out = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"the key {shown(key)} appears twice")
        out[key] = value
    return out


@dataclass(frozen=True)
class Entry:
    """One tensor of a safetensors file: its dtype (safetensors' name), shape and bytes."""

    dtype: str
    shape: tuple[int, ...]
    start: int  # from the start of the file
    nbytes: int


@dataclass(frozen=True)
class Header:
    """A safetensors header, checked (`read_header`): its tensors and its str metadata."""

    tensors: dict[str, Entry]
    metadata: dict[str, str]

    @property
    def nbytes(self) -> int:
        return sum(e.nbytes for e in self.tensors.values())


def read_header(
    f: FileIO, path: Path, size: int, allowed: tuple[str, ...], limit: int = HEADER_LIMIT
) -> Header:
    """The header of the safetensors file open as `f` (of `size` bytes), checked: at most
    `limit` bytes, its tensors' bytes fill the rest of the file exactly, one after another,
    and each dtype is one of `allowed`. Nothing past the header is read."""
    if size < 8:
        raise CheckpointError(f"{named(path)} is corrupt: {size} bytes, less than a header")
    n = int.from_bytes(read_exactly(f, path, 8, "the header's length"), "little")
    if n > min(limit, size - 8):
        raise CheckpointError(
            f"{named(path)} is corrupt: its header claims {n} bytes, of a file of {size} "
            f"(at most {limit})"
        )
    doc = decode_json(path, bytes(read_exactly(f, path, n, "the header")))
    if not isinstance(doc, dict):
        raise CheckpointError(f"{named(path)} is corrupt: its header is not a table")
    metadata = doc.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise CheckpointError(f"{named(path)} is corrupt: its metadata is not a str table")
    entries = {name: _entry(path, name, value, 8 + n, allowed) for name, value in doc.items()}
    end = 8 + n
    for name, e in sorted(entries.items(), key=lambda item: item[1].start):
        if e.start != end:
            raise CheckpointError(
                f"{named(path)} is corrupt: tensor {shown(name)} starts at byte {e.start}, "
                f"not at {end} where the one before it ends"
            )
        end += e.nbytes
    if end != size:
        raise CheckpointError(
            f"{named(path)} is corrupt: its header declares {end} bytes, the file has {size}"
        )
    return Header(entries, metadata)


def _entry(path: Path, name: str, value, base: int, allowed: tuple[str, ...]) -> Entry:
    """One header entry checked: its keys, a shape of counts, offsets that span its bytes."""
    ok = isinstance(value, dict) and set(value) == {"dtype", "shape", "data_offsets"}
    shape, offsets = (value.get("shape"), value.get("data_offsets")) if ok else (None, None)
    if not (
        ok
        and isinstance(shape, list)
        and len(shape) <= MAX_DIMS
        and all(_count(d) for d in shape)
        and isinstance(offsets, list)
        and len(offsets) == 2
        and all(_count(o) for o in offsets)
    ):
        raise CheckpointError(f"{named(path)} is corrupt: tensor {shown(name)} is {shown(value)}")
    dtype = value["dtype"]
    if dtype not in allowed:
        floats = " (floating point of at least 16 bits)" if allowed == FLOATS else ""
        raise CheckpointError(
            f"{named(path)}: tensor {shown(name)} is of dtype {shown(dtype)}; this file may "
            f"hold only {', '.join(allowed)} tensors{floats}"
        )
    begin, stop = offsets
    if _nbytes(shape, DTYPES[dtype].itemsize, stop - begin) != stop - begin:
        raise CheckpointError(
            f"{named(path)} is corrupt: tensor {shown(name)} of shape {tuple(shape)} and "
            f"dtype {dtype} spans bytes {begin} to {stop}"
        )
    return Entry(dtype, tuple(shape), base + begin, stop - begin)


def _nbytes(shape: list[int], item: int, limit: int) -> int:
    """The bytes of a tensor of `shape`, or limit + 1 as soon as they pass `limit` (a shape of
    many huge dimensions would make a product of millions of digits)."""
    if 0 in shape:
        return 0
    n = item
    for d in shape:
        n *= d
        if n > limit:
            return limit + 1
    return n


def _count(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**63


def read_tensor(f: FileIO, path: Path, name: str, entry: Entry) -> torch.Tensor:
    """The tensor `entry` describes, read into memory of exactly its size."""
    try:
        f.seek(entry.start)
    except OSError as e:
        raise unreadable(path, e) from e
    raw = torch.empty(0, dtype=torch.uint8)
    if entry.nbytes:  # frombuffer shares the buffer's memory (and refuses an empty one)
        data = read_exactly(f, path, entry.nbytes, f"tensor {shown(name)}")
        raw = torch.frombuffer(data, dtype=torch.uint8)
    item = DTYPES[entry.dtype].itemsize
    if sys.byteorder == "big" and item > 1:  # safetensors stores little-endian
        raw = raw.view(-1, item).flip(-1).reshape(-1)
    return raw.view(DTYPES[entry.dtype]).reshape(entry.shape)
