"""One error family for what enters iai from outside: user tensors, configs, checkpoints."""


class IAIError(Exception):
    """Base class of every error iai raises on purpose."""


class InvalidInput(IAIError, ValueError):
    """A tensor, argument or data set that a public function cannot use as given: of the
    wrong type, shape or dtype, empty (no tasks, points or queries), holding NaN or inf, or
    finite but so large that the learner's float32 arithmetic overflows on it."""


class InvalidConfig(IAIError, ValueError):
    """A config file or override with an unknown key, a wrong type or an out-of-range value."""


class CheckpointError(IAIError, OSError):
    """A checkpoint directory that is missing, incomplete, corrupt or of another format."""


class TrainingStopped(IAIError, RuntimeError):
    """Training that cannot go on (a loss or gradient non-finite at too many iterations in a
    row); the last checkpoint written before it is intact."""


class Interrupted(IAIError):
    """Training stopped by SIGINT or SIGTERM: the iteration under way finished, a checkpoint
    of it was written, and training again with `iai.train(..., resume=True)` (`iai train ...
    --resume`) continues exactly where it stopped. `exit_code` is the shell's for the signal:
    128 + its number (130 for SIGINT, 143 for SIGTERM), which batch schedulers read as
    "killed, requeue"."""

    def __init__(self, message: str, signum: int, step: int) -> None:
        super().__init__(message)
        self.signum, self.step, self.exit_code = signum, step, 128 + signum


class InputWarning(UserWarning):
    """Data that a learner accepts but sits far from what its prior trained it on: its
    predictions are then extrapolations (see docs/api.md, "Preparing your data")."""
