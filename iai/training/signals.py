"""Stopping a run cleanly: SIGINT and SIGTERM end it after the iteration under way."""

import signal
import threading
import time

import torch
import torch.distributed as dist


class StopSignals:
    """SIGINT and SIGTERM while the loop runs: noted, and acted on after the iteration under
    way (see `iai.training.loop.train`). Handlers go in on the main thread only (Python allows
    no other) and the previous ones come back on exit. A repeat within a second is taken as
    the same request: torchrun forwards the signal a terminal already sent to every process
    of its group."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.signum, self.when, self.previous = 0, 0.0, {}

    def __enter__(self) -> "StopSignals":
        if threading.current_thread() is threading.main_thread():
            for s in self.SIGNALS:
                self.previous[s] = signal.signal(s, self._note)
        return self

    def __exit__(self, *exc) -> None:
        for s, handler in self.previous.items():
            signal.signal(s, signal.SIG_DFL if handler is None else handler)

    def _note(self, signum: int, frame) -> None:
        now = time.monotonic()
        if not self.signum:
            self.signum, self.when = signum, now
        elif now - self.when > 1.0:
            raise KeyboardInterrupt  # asked twice: stop now; the last checkpoint stays

    def agreed(self, world: int, device: torch.device) -> int:
        """The signal to stop on, 0 for none: under torchrun the largest any process got, so
        that all stop after the same iteration (one all-reduce of a number per iteration)."""
        if world == 1:
            return self.signum
        flag = torch.tensor([self.signum], device=device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return int(flag.item())
