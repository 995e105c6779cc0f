"""How many CPU threads torch uses while a run trains, and putting the caller's count back.

Why not torch's own default (one thread per core): the learners' tensors are small, so every
operator is a short OpenMP region whose threads wait for each other at its end, and a thread
that is not running stalls it. On the 2-core machine this project is measured on, a second
thread never made a tiny training faster: 1.03x as long as one thread when the machine was
quiet, 2.2x while other jobs held the cores, and two 2-thread jobs at once took 1.5x to 11x
as long as two 1-thread jobs (benchmarks/results/threads/: threads.md, threads-busy.md).
The default leaves one core to the rest of the machine. It is never chosen from the load of
the moment: the thread count changes the order of float sums (1 and 2 threads train other
weights), so the same command must get the same count to give the same numbers.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager

import torch

from iai.errors import InvalidInput

# A cap on the default for many-core machines. Not measured: the machines this was measured
# on have 2 cores; operators on tensors this small gain little from more.
MAX_DEFAULT = 4
OVERSUBSCRIBED = 4  # threads per usable CPU beyond which a count is refused


def default_threads() -> int:
    """torch's count as it stands when OMP_NUM_THREADS says it (torchrun sets it to 1 for each
    of several processes on one machine). Otherwise torch's count lowered, never raised, to
    all but one of the CPUs this process may run on (`os.sched_getaffinity`; torch's own
    default counts the machine's cores, which in a container can be many more) and to
    MAX_DEFAULT: a caller's `torch.set_num_threads(1)` stays 1."""
    if os.environ.get("OMP_NUM_THREADS"):
        return torch.get_num_threads()  # torch read the variable when it started
    return max(1, min(torch.get_num_threads(), usable_cpus() - 1, MAX_DEFAULT))


def usable_cpus() -> int:
    """The CPUs this process may run on (Linux); where the OS has no affinity (macOS), all."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return cpus or 1


@contextmanager
def using_threads(threads: int | None) -> Iterator[int]:
    """torch's intra-op threads set to `threads` (None: `default_threads()`) inside the block
    and the caller's count back after it: a library leaves no global setting changed."""
    if threads is not None and (
        not isinstance(threads, int) or isinstance(threads, bool) or threads < 1
    ):
        raise InvalidInput(f"threads must be a whole number ≥ 1, got {threads!r}")
    if threads is not None and threads > OVERSUBSCRIBED * usable_cpus():
        # a million threads made OpenMP fail to start them and the process crash (SIGSEGV)
        raise InvalidInput(
            f"threads = {threads} is more than {OVERSUBSCRIBED} per CPU this process may run "
            f"on ({usable_cpus()}): beyond that threads only wait for cores"
        )
    n = default_threads() if threads is None else threads
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield n
    finally:
        torch.set_num_threads(before)
