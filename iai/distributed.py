"""Processes under torchrun: joining the group, the device each one uses, sharding tasks.

Training and evaluation use the same few calls, so one code path runs on one process or many:
gloo on CPU, NCCL on GPU (one GPU per process, picked by LOCAL_RANK). Outside torchrun
every helper is the identity.
"""

import os
import sys

import torch
import torch.distributed as dist

from iai.errors import InvalidConfig


def device_for(name: str) -> torch.device:
    """'cpu', or 'cuda': this process's GPU (LOCAL_RANK under torchrun)."""
    if name == "cpu":
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise InvalidConfig(f"device {name!r} asked for, but torch sees no CUDA device")
    return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))


def process_group(device: torch.device | None = None) -> tuple[int, int]:
    """(rank, world size): joins torchrun's process group when launched by it, else (0, 1)."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        on_gpu = device is not None and device.type == "cuda"
        if on_gpu:
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if on_gpu else "gloo")
    return (dist.get_rank(), dist.get_world_size()) if dist.is_initialized() else (0, 1)


def finish_process(code: int = 0) -> None:
    """Under torchrun, once the work is written: wait for every process, leave the group and
    exit at once with status `code`. Left to the interpreter's own teardown, a two-process
    `iai eval` now and then aborted in its second process ('terminate called without an
    active exception') after all its work was done: gloo's threads and Python's finalization race
    (pytorch/pytorch#179291); destroying the group first made it rarer, not gone. Outside
    torchrun this returns and nothing changes."""
    if not dist.is_initialized():
        return
    dist.barrier()
    dist.destroy_process_group()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def shard(n: int) -> slice:
    """This process's contiguous share of n items (the first ranks take one more if uneven)."""
    rank, world = (dist.get_rank(), dist.get_world_size()) if dist.is_initialized() else (0, 1)
    return slice(rank * n // world, (rank + 1) * n // world)


def all_sum(t: torch.Tensor) -> torch.Tensor:
    """The sum of t over processes."""
    if dist.is_initialized():
        t = t.clone()
        dist.all_reduce(t)
    return t


def gather_tasks(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Every process's shard of t concatenated along the task axis `dim`, in rank order."""
    if not dist.is_initialized():
        return t
    parts = [None] * dist.get_world_size()
    dist.all_gather_object(parts, t.cpu())
    return torch.cat(parts, dim).to(t.device)
