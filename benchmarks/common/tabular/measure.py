"""One thread per learner, resident memory from /proc/self/status, a fresh process per
memory measurement, and the mean ± s.e. of a list that may be empty."""

import math
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits


def single_thread() -> None:
    torch.set_num_threads(1)
    threadpool_limits(1)
    warnings.filterwarnings("ignore", category=ConvergenceWarning)


def rss(field: str) -> float:
    """This process's VmRSS (resident now) or VmHWM (peak resident) in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def in_fresh_process(fn: Callable[..., Any], *args: Any) -> Any:
    """fn(*args) in a newly spawned process, so that its peak memory is its own."""
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def mean_or_nan(values: list[float]) -> float:
    return float(np.mean(values)) if values else math.nan


def std_error(values: list[float]) -> float:
    return float(np.std(values, ddof=1) / math.sqrt(len(values))) if len(values) > 1 else math.nan
