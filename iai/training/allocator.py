"""glibc's malloc told to keep freed memory for reuse (`retain_freed_memory`): set by `iai
train` for a recipe with `train.retain_freed_memory = true` (the linear tabular ones).

Why. glibc serves every block above its mmap threshold (at most 32 MiB) with a fresh `mmap`
and gives it back with `munmap` when freed, so the next block of that size starts as pages
the kernel must fault in and zero, one by one. The tabular learner's training step allocates
and frees float64 curvature tensors of T × C × P × P (200 MiB at 64 tables, 10 classes and
P = 198) several times an iteration: the faults were 44 % of its iteration time.
With mmap off (M_MMAP_MAX = 0) every block comes from the heap, and with a trim threshold of
2 GiB freed memory stays mapped until 2 GiB of it lie unused at the heap's top: the next
block reuses pages already faulted in. Measured by `benchmarks/allocator.py`
(benchmarks/results/allocator/): 1.79 × and 1.49 × the iterations per second of the tabular
classification and regression recipes, the same losses bit for bit; none for the recipes
without such tensors (0.97 × for the foundation model's and linreg-d8's), which are left off.
The usual fix, jemalloc or tcmalloc through LD_PRELOAD, has to be set before the process
starts and is not a Python package; `mallopt` does the same for glibc from inside it.

What it costs: the resident memory stays near its peak, and the peak grows (5,399 to 7,007
MiB for the classification recipe), since freed blocks in the heap's middle are kept rather
than returned. It is global to the process and cannot be undone exactly (glibc stops adapting its
threshold once it is set), so the library never sets it on a caller's behalf: only the
command line, which owns its process.
"""

import ctypes
import ctypes.util
import sys

M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4  # glibc's mallopt parameters (malloc.h)
TRIM_BYTES = 2**31 - 1  # the largest an int holds: 2 GiB


def retain_freed_memory() -> bool:
    """Set glibc's malloc to keep freed memory (see the module docstring); False where the C
    library is not glibc (macOS, Windows, musl), which are left as they are."""
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    libc = ctypes.CDLL(name) if name else None
    if libc is None or not hasattr(libc, "mallopt") or not hasattr(libc, "gnu_get_libc_version"):
        return False
    return bool(libc.mallopt(M_MMAP_MAX, 0)) and bool(libc.mallopt(M_TRIM_THRESHOLD, TRIM_BYTES))
