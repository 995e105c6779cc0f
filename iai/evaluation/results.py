"""Evaluation results as values: a curve per method and metric, and their JSON form.

Reports, the grid, the results document and the benchmarks read these by attribute; the JSON
written next to every report (`eval.json`, `grid.json`) is `to_json` of them and reads back
with `from_json`.
"""

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Curve:
    """One metric after each step 0 … K: the mean over tasks and its standard error."""

    mean: list[float]
    se: list[float]


@dataclass(frozen=True)
class EvalResult:
    """Every number of one evaluation, on one task distribution ('id' or an OoD variant).

    `methods[name][metric]`: the learner ('iai'), the prior predictor ('prior'), the exact
    reference ('bayes', where the family has one) and the tuned optimizers ('sgd', 'adam',
    'sgd_online', 'adam_online'), each on the same tasks and mini-batches. `metrics` lists
    the metric names, the first being the one tables and tuning rank by.
    """

    variant: str
    task: dict
    batch_size: int
    steps: int
    mode: str
    tasks: int
    methods: dict[str, dict[str, Curve]]
    tuned_lr: dict[str, list[float]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def metrics(self) -> tuple[str, ...]:
        return tuple(self.methods["iai"])

    @property
    def metric(self) -> str:
        """The primary metric (MSE, or error % for classification)."""
        return self.metrics[0]

    def curve(self, method: str = "iai", metric: str | None = None) -> Curve:
        return self.methods[method][metric or self.metric]

    def to_json(self) -> dict:
        return asdict(self)

    @staticmethod
    def from_json(data: dict) -> "EvalResult":
        """The result `to_json` wrote. An eval.json from before `mode` was recorded (the ones
        under benchmarks/results/) reads as 'steps', the only mode there was then."""
        methods = {
            name: {metric: Curve(**c) for metric, c in per_metric.items()}
            for name, per_metric in data["methods"].items()
        }
        return EvalResult(**{"mode": "steps", **data, "methods": methods})
