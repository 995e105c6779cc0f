"""The checkpoint directory's layout (see `iai.checkpoint`): its names, its format version
and the link readers pin."""

import os
from importlib import metadata
from pathlib import Path

FORMAT = 2  # 2: learners' modules renamed (`iai.learners.base.Learner.renamed`)
try:  # the iai that writes, recorded beside the format for people reading the files
    VERSION = metadata.version("iai")
except metadata.PackageNotFoundError:  # run from a source tree that was never installed
    VERSION = "unknown"
LATEST = "latest"  # the link that names the newest complete checkpoint: steps/<step>
STEPS = "steps"
FILES = ("config.json", "model.safetensors", "trainer.safetensors")


def pinned_name(directory: Path) -> str | None:
    """The steps/ entry `latest` names, if any."""
    link = directory / LATEST
    return Path(os.readlink(link)).name if link.is_symlink() else None


def pin(directory: Path) -> Path:
    """The directory that holds the newest complete checkpoint of `directory`: the one its
    `latest` link names, or `directory` itself for flat files (a learner saved before
    checkpoints were units, or copied without its links). Read every file from it."""
    directory = Path(directory)
    link = directory / LATEST
    if link.is_symlink() and (directory / FILES[0]).is_symlink():
        return directory / os.readlink(link)
    return directory
