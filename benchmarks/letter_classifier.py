"""How well the letter classifier (benchmarks/common/letters.py) reads fresh true clouds, the
ceiling for what it can recognize in generated ones.

    OMP_NUM_THREADS=1 python benchmarks/letter_classifier.py \
        > benchmarks/results/letter-classifier/letter-classifier.md
"""

import torch

from common.command import markdown_header
from common.letters import fit, recognize, true_clouds
from iai.tasks.config import TaskConfig
from iai.tasks.letters import LETTERS, Letters


def main() -> None:
    clf = fit()
    gen = torch.Generator().manual_seed(1)  # fresh clouds, apart from the training seed
    rows = (("train A–T", "train", "sans"), ("held-out U–Z", "held_out", "sans"))
    rows += (("train A–T", "train", "serif"),)
    print(markdown_header())
    print("Accuracy of `fit()` on fresh true clouds, 200 per letter (seed 1).\n")
    print("| letters | font | n = 500 | n = 100 |")
    print("|---|---|---|---|")
    for label, letters, font in rows:
        prior = Letters(TaskConfig(name="letters", dim=2, font=font))
        which = torch.tensor(LETTERS[letters]).repeat_interleave(200)
        right = [
            recognize(clf, true_clouds(prior, which, n, generator=gen), which).float().mean()
            for n in (500, 100)
        ]
        print(f"| {label} | {font} | " + " | ".join(f"{100 * r:.1f} %" for r in right) + " |")


if __name__ == "__main__":
    main()
