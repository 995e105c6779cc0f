"""Checkpoints: safetensors weights plus a JSON config, written as one unit; loading runs no code.

A learner directory holds `config.json` (format version, step, the resolved experiment config)
and `model.safetensors`; a training run adds `trainer.safetensors` (optimizer moments, the
step and every random generator, so `--resume` continues bit for bit) and `metrics.jsonl`.

A checkpoint is a unit. `save_learner` writes its files into a fresh directory
`steps/<step>/`, fsyncs them, and then switches one symbolic link, `latest -> steps/<step>`,
with an atomic rename; `config.json`, `model.safetensors` and `trainer.safetensors` at the top
are links through `latest`, so `iai.load(dir)` and any tool that opens those names see the
newest complete checkpoint. Why this and not files overwritten one by one: a process killed
between two writes (even between two atomic renames) would leave weights of one step beside
the optimizer of another, and the previous checkpoint would already be gone. With one link to
switch, a kill at any moment leaves the previous checkpoint or the new one, whole; a reader
pins `latest` once and reads every file from that one directory, so an evaluation that runs
while training writes never mixes two steps nor sees a half-written file. The previous
checkpoint's directory is kept until the next switch, so a reader that pinned it just before
a switch still finds it (and a reader that lost even that race reads again).

Every file records the step (safetensors metadata, config.json) and readers check that they
agree: a file copied in from another checkpoint is named, not silently mixed in. Directories
written before this layout (flat files, e.g. the committed checkpoints/) still load and resume;
a file system that makes no symbolic links gets flat files, replaced config.json last.

A directory has one writer: a run holds `.lock` in it for as long as it trains, and a second
run (or a save) on the same directory is refused at once, naming the holder
(`iai.checkpoint.lock`); temporary names carry the writer's pid.

`format` in config.json (and in the safetensors metadata) is the on-disk format's version:
it changes only when an older iai would misread a directory. This iai reads formats 1 to
`FORMAT` and refuses a newer one, naming both.
"""

from iai.checkpoint.layout import FILES, FORMAT, LATEST, STEPS, VERSION, pin
from iai.checkpoint.read import load_trainer, load_weights, read_config
from iai.checkpoint.write import atomic_write, save_learner

__all__ = [
    "FILES",
    "FORMAT",
    "LATEST",
    "STEPS",
    "VERSION",
    "atomic_write",
    "load_trainer",
    "load_weights",
    "pin",
    "read_config",
    "save_learner",
]
