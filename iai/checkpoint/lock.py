"""A run owns its directory: one exclusive lock, `<out>/.lock`, held for the whole run.

As in torchtitan's and orbax's checkpoint managers, a directory has one writer: a second run
on the same `out` is refused at once, naming the holder (pid, host, start, command) that the
lock file holds. The lock is `fcntl.flock` on the open file, so the OS drops it when the holder
exits or is killed: a killed run leaves `.lock` behind but no lock, and `--resume` takes it
over. A run that ends removes the file (while it still holds the lock; a run that opened the
old file meanwhile sees it is gone and opens afresh). Under torchrun rank 0, the one writer,
holds it for the job (`iai.training.loop.owning`).

Windows has no fcntl: `msvcrt.locking` locks one byte far past the holder's text (so the text
stays readable), which the OS likewise releases when the process ends; the file stays there.

Hand-written rather than `filelock` (which torch installs): the refused run must read who
holds the lock, and filelock 3 truncates the file whenever it opens it; iai does not declare it.
"""

import errno
import json
import os
import socket
import sys
import time
import warnings
from pathlib import Path

from iai.errors import CheckpointError

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None
    import msvcrt

NAME = ".lock"
# what flock raises where a file system has no locks (some FUSE and old NFS mounts): a
# warning, and the run goes on unguarded, as before locks
_NO_LOCKS = {errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOTSUP, errno.ENOSYS}
_FAR = 1 << 30  # the byte msvcrt locks: past any holder's text
_HELD: set[Path] = set()  # directories this process owns, for `owns`


def reason(e: OSError, path: Path | None = None) -> str:
    """An OS error as a person reads it: 'No space left on device: <path>' (`path` where the
    error names no file, as os.write's do not)."""
    text, path = e.strerror or str(e), e.filename or path
    return f"{text}: {str(path)!r}" if path else text


def owns(directory: Path) -> bool:
    """Whether this process holds `directory`'s lock (see `iai.checkpoint.save_learner`)."""
    return Path(directory).resolve() in _HELD


class RunLock:
    """`with RunLock(out):` owns `out` (made if missing, unless not `create`) until the block
    ends; refused with CheckpointError naming the holder while another process holds it, or
    naming the path and the OS reason where `out` cannot be made or written (a file, a
    read-only file system)."""

    def __init__(self, directory: Path, create: bool = True) -> None:
        self.directory, self.create = Path(directory), create
        self.path = self.directory / NAME
        self.fd: int | None = None

    def __enter__(self) -> "RunLock":
        if not self.create and not os.path.lexists(self.directory):
            raise CheckpointError(f"checkpoint directory {str(self.directory)!r} does not exist")
        make_directory(self.directory)
        try:
            self.fd = self._take()
            _write_holder(self.fd)
        except CheckpointError:
            raise
        except OSError as e:
            self.__exit__()
            raise CheckpointError(f"cannot lock the run directory: {reason(e, self.path)}") from e
        _HELD.add(self.directory.resolve())
        return self

    def _take(self) -> int:
        """The open lock file, locked; refused while another process holds it."""
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                locked = _lock(fd)
                if locked and _same_file(fd, self.path):
                    return fd
                holder = None if locked else _holder(fd)
            except BaseException:
                os.close(fd)
                raise
            os.close(fd)
            if holder is not None:
                raise CheckpointError(
                    f"{str(self.directory)!r} is in use by another run ({holder}): one run "
                    "owns a directory; wait for it to end, or train into another directory "
                    "(another `out`, `--out`)"
                )
            # else its holder removed the file between our open and our lock: open afresh

    def __exit__(self, *exc) -> None:
        if self.fd is None:
            return
        _HELD.discard(self.directory.resolve())
        if fcntl is not None:  # removed while still held (see above)
            _remove(self.path)
        os.close(self.fd)  # drops the lock
        self.fd = None
        if fcntl is None:  # Windows removes no open file; it fails while another has it open
            _remove(self.path)


def make_directory(directory: Path) -> None:
    """`directory` and its parents, or CheckpointError naming why not."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as e:
        raise CheckpointError(
            f"{str(directory)!r} is not a directory ({reason(e)}): a run writes into a "
            "directory of its own; pass another `out` (`--out`)"
        ) from e
    except OSError as e:
        raise CheckpointError(f"cannot make the run directory: {reason(e, directory)}") from e


def _lock(fd: int) -> bool:
    """Take the lock without waiting: False if another process holds it."""
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:
            os.lseek(fd, _FAR, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except (BlockingIOError, PermissionError):
        return False
    except OSError as e:
        if fcntl is None:  # msvcrt: EDEADLOCK / EACCES when held
            return False
        if e.errno not in _NO_LOCKS:
            raise
        warnings.warn(
            f"the file system of {_path(fd)!r} takes no locks ({reason(e)}): this run "
            "cannot keep another run out of its directory",
            stacklevel=4,
        )
    return True


def _path(fd: int) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return f"fd {fd}"


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except FileNotFoundError:
        return False


def _write_holder(fd: int) -> None:
    doc = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "command": " ".join(sys.argv),
    }
    data = json.dumps(doc).encode()
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    while data:
        data = data[os.write(fd, data) :]


def _holder(fd: int) -> str:
    """Who holds the lock, from the text it wrote (which may lag the lock by a moment)."""
    for _ in range(50):
        os.lseek(fd, 0, os.SEEK_SET)
        try:
            doc = json.loads(os.read(fd, 1 << 16))
            if _alive(doc["pid"], doc["host"]):  # not a killed holder's text, not yet replaced
                return (
                    f"pid {doc['pid']} on {doc['host']}, since {doc['started']}: {doc['command']}"
                )
        except (ValueError, KeyError, TypeError, OverflowError):  # garbled, half written
            pass
        time.sleep(0.01)
    return "a process that has not written its name"


def _alive(pid: int, host: str) -> bool:
    """False only for a process of this host that has ended (Windows: not asked, as its
    os.kill(pid, 0) would send CTRL_C_EVENT)."""
    if fcntl is None or host != socket.gethostname():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process
        pass
    return True


def _remove(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:  # a file system turned read-only: the lock goes with the process anyway
        pass
