"""Stream far past the trained horizon: MSE after up to 4,096 mini-batches (N = 2¹⁶ points).

The learner reads one mini-batch of 16 points at a time through `iai.stream`; the exact
Bayes-optimal prediction is kept beside it in streaming form too (the prior's
`LinearPosterior`, updated batch by batch), on the very same points, drawn a batch at a time
from each task's weights (`prior.points`), so neither side ever holds the whole data set.

    python benchmarks/long_stream.py checkpoints/linreg-d8 \
        > benchmarks/results/long-stream/linreg-d8.md
    python benchmarks/long_stream.py checkpoints/linreg-d8 --steps 64   (a shorter stream)
"""

import argparse
import time

import torch

import iai
from common.command import markdown_header

TASKS, QUERIES, B, STEPS = 100, 128, 16, 4096


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkpoint", nargs="?", default="checkpoints/linreg-d8")
    parser.add_argument("--steps", type=int, default=STEPS, help="mini-batches to stream")
    args = parser.parse_args()
    learner = iai.load(args.checkpoint)
    prior, objective = learner.prior, learner.objective
    gen = torch.Generator().manual_seed(7)
    # One draw of task weights, then points generated batch by batch from them.
    first = prior.sample(TASKS, B, QUERIES, generator=gen)
    w, y_query = first.truth["w"], first.y_query  # (T, D + 1), (T, Q)
    posterior = prior.posterior(TASKS)
    report = {2**i for i in range(13)}
    lines = ["| step | points | IAI MSE | Bayes MSE | IAI / Bayes |", "|---|---|---|---|---|"]

    def batches():
        nonlocal posterior
        for k in range(args.steps):
            x, y = (first.x_train, first.y_train) if k == 0 else prior.points(w, B, generator=gen)
            posterior = posterior.update(x, y)
            yield x, y

    def mse(prediction: torch.Tensor, y: torch.Tensor) -> float:
        return objective.task_metrics(objective.outputs(prediction), y)["mse"].mean().item()

    clock = time.perf_counter()
    for k, pred in enumerate(iai.stream(learner, batches(), first.x_query)):
        if k in report:
            m, b = mse(pred, y_query), mse(posterior.predict(first.x_query), y_query.double())
            lines.append(f"| {k} | {k * B} | {m:.4f} | {b:.4f} | {m / b:.3f} |")
    seconds = time.perf_counter() - clock
    print(markdown_header())
    print(
        f"# {args.checkpoint}: {args.steps} steps of B = {B} on {TASKS} tasks, "
        f"{QUERIES} queries each\n"
    )
    print("\n".join(lines))
    print(f"\n{seconds:.1f} s for the whole stream (learner and streaming Bayes reference)")


if __name__ == "__main__":
    main()
