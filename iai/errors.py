"""One error family for what enters iai from outside: user tensors, configs, checkpoints."""


class IAIError(Exception):
    """Base class of every error iai raises on purpose."""


class InvalidInput(IAIError, ValueError):
    """A tensor, argument or data set that a public function cannot use as given."""


class InvalidConfig(IAIError, ValueError):
    """A config file or override with an unknown key, a wrong type or an out-of-range value."""


class CheckpointError(IAIError, OSError):
    """A checkpoint directory that is missing, incomplete, corrupt or of another format."""


class InputWarning(UserWarning):
    """Data that a learner accepts but sits far from what its prior trained it on: its
    predictions are then extrapolations (see the README, "Preparing your data")."""
