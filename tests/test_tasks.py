"""Task priors: shapes, seeding, labels, and OoD variants that shift what they claim to."""

import numpy as np
import pytest
import torch

from iai import InvalidConfig
from iai.tasks import TASKS, TaskConfig, config_class, make_prior, shifted
from iai.tasks.config import INPUT_SHIFTS

# the predictive families with a dimension and a weight prior (the density families, 2-D
# samples without targets, are tested in test_generative.py and test_letters.py; the tables,
# whose width varies from call to call and which have no shifted variants, in test_tabular.py)
# samples of causal models, with graphs for targets, in test_scm.py
OTHERS = {
    "digits",
    "gaussian_mixtures",
    "letters",
    "tabular_regression",
    "tabular_classification",
    "scm",
}
SYNTHETIC = sorted(set(TASKS) - OTHERS)

T, N, Q, D, C = 5, 7, 6, 3, 4


def config(name: str, **fields) -> TaskConfig:
    """Family `name` of dim D, with C classes where it has classes, and `fields`."""
    sizes = {"classes": C} if "classes" in config_class(name).keys() else {}
    return TaskConfig(name=name, dim=D, **sizes, **fields)


def sample(cfg: TaskConfig, seed: int, n_tasks: int = T, n_train: int = N, n_query: int = Q):
    g = torch.Generator().manual_seed(seed)
    return make_prior(cfg).sample(n_tasks, n_train, n_query, generator=g)


@pytest.mark.parametrize("name", SYNTHETIC)
def test_shapes_and_dtypes(name):
    cfg = config(name)
    prior = make_prior(cfg)
    tasks = sample(cfg, seed=0)
    assert tasks.x_train.shape == (T, N, D)
    assert tasks.y_train.shape == (T, N)
    assert tasks.x_query.shape == (T, Q, D)
    assert tasks.y_query.shape == (T, Q)
    assert tasks.n_tasks == T
    assert tasks.x_train.dtype == tasks.x_query.dtype == torch.float32
    if prior.kind == "regression":
        assert prior.out_dim == 1
        assert tasks.y_train.dtype == tasks.y_query.dtype == torch.float32
    else:
        assert prior.kind == "classification" and prior.out_dim == C
        assert tasks.y_train.dtype == tasks.y_query.dtype == torch.int64


@pytest.mark.parametrize("name", SYNTHETIC)
def test_same_seed_same_tasks_other_seed_other_tasks(name):
    cfg = config(name)
    a, b, c = sample(cfg, seed=1), sample(cfg, seed=1), sample(cfg, seed=2)
    for field in ("x_train", "y_train", "x_query", "y_query"):
        assert torch.equal(getattr(a, field), getattr(b, field)), field
    assert not torch.equal(a.x_train, c.x_train)
    assert not torch.equal(a.y_train, c.y_train)


@pytest.mark.parametrize("name", ["linear_classification", "nonlinear_classification"])
def test_labels_are_class_indices_and_every_class_occurs(name):
    cfg = config(name)
    tasks = sample(cfg, seed=3, n_tasks=20, n_train=100, n_query=50)
    for y in (tasks.y_train, tasks.y_query):
        assert y.dtype == torch.int64
        assert y.min() >= 0 and y.max() < C
    assert set(tasks.y_train.unique().tolist()) == set(range(C))


def test_unknown_task_and_variant_are_named():
    with pytest.raises(InvalidConfig, match="unknown task 'no_such_task'"):
        make_prior(TaskConfig(name="no_such_task"))
    with pytest.raises(InvalidConfig, match="OoD variant 'sideways' does not apply"):
        shifted(TaskConfig(), "sideways")
    # a variant of another family: digits images are not shifted like Gaussian inputs
    with pytest.raises(InvalidConfig, match=r"'shift_x' does not apply to 'digits'.*'inverted'"):
        shifted(TaskConfig(name="digits"), "shift_x")


@pytest.mark.parametrize("ood", INPUT_SHIFTS)
@pytest.mark.parametrize("name", SYNTHETIC)
def test_every_variant_changes_every_family(name, ood):
    """Same seed, same family: a variant that leaves the samples unchanged is a no-op."""
    cfg = config(name)
    a, b = sample(cfg, seed=4, n_train=50), sample(shifted(cfg, ood), seed=4, n_train=50)
    changed = [not torch.equal(getattr(a, f), getattr(b, f)) for f in ("x_train", "y_train")]
    assert any(changed), f"{ood} leaves {name} unchanged"


# The quantitative checks below use different seeds for the two distributions, so they test the
# distributions and not a coupling of the same random draws.
BIG = {"n_tasks": 100, "n_train": 100, "n_query": 1}


@pytest.mark.parametrize("name", SYNTHETIC)
def test_shift_x_moves_the_input_mean_by_one(name):
    cfg = config(name)
    x_id = sample(cfg, seed=5, **BIG).x_train
    x_ood = sample(shifted(cfg, "shift_x"), seed=6, **BIG).x_train
    assert x_id.mean().item() == pytest.approx(0.0, abs=0.03)
    assert x_ood.mean().item() == pytest.approx(1.0, abs=0.03)
    assert x_ood.std().item() == pytest.approx(x_id.std().item(), rel=0.03)


@pytest.mark.parametrize("name", SYNTHETIC)
def test_wide_x_doubles_the_input_scale(name):
    cfg = config(name)
    x_id = sample(cfg, seed=7, **BIG).x_train
    x_ood = sample(shifted(cfg, "wide_x"), seed=8, **BIG).x_train
    assert x_id.std().item() == pytest.approx(1.0, rel=0.03)
    assert x_ood.std().item() == pytest.approx(2.0, rel=0.03)
    assert x_ood.mean().item() == pytest.approx(0.0, abs=0.06)


def _clean_outputs(name: str, cfg: TaskConfig, tasks) -> np.ndarray:
    """The noise-free f(x_train) of each task, from its ground truth, in numpy float64."""
    x = tasks.x_train.double().numpy()
    xb = np.concatenate([x, np.ones_like(x[..., :1])], -1)  # [x, 1]
    w = {k: v.double().numpy() for k, v in tasks.truth.items()}
    if name == "linear_regression":
        return np.einsum("tnd,td->tn", xb, w["w"])
    if name == "linear_classification":
        return xb @ w["W"]
    act = np.tanh if cfg.activation == "tanh" else lambda a: np.maximum(a, 0)
    f = act(xb @ w["W1"]) @ w["W2"]
    return f[..., 0] if name == "nonlinear_regression" else f


@pytest.mark.parametrize("name", ["linear_regression", "nonlinear_regression"])
def test_noisy_quadruples_the_regression_noise_variance(name):
    cfg = TaskConfig(name=name, dim=D, noise=0.3)
    for variant, variance in [(cfg, 0.3), (shifted(cfg, "noisy"), 1.2)]:
        tasks = sample(variant, seed=9, **BIG)
        residual = tasks.y_train.double().numpy() - _clean_outputs(name, variant, tasks)
        assert residual.mean() == pytest.approx(0.0, abs=0.03)
        assert residual.var() == pytest.approx(variance, rel=0.05)


@pytest.mark.parametrize("name", ["linear_classification", "nonlinear_classification"])
def test_noisy_doubles_the_label_temperature(name):
    """Labels ~ Categorical(softmax(f / temperature)): the share of labels that agree with
    argmax f matches the mean winning probability at the temperature the variant claims."""
    cfg = config(name, temperature=0.5)
    agreement = {}
    for key, variant, temperature in [("id", cfg, 0.5), ("noisy", shifted(cfg, "noisy"), 1.0)]:
        tasks = sample(variant, seed=10, **BIG)
        f = _clean_outputs(name, variant, tasks)  # (T, N, C)
        z = f / temperature
        p = np.exp(z - z.max(-1, keepdims=True))
        p /= p.sum(-1, keepdims=True)
        expected = p.max(-1).mean()
        agreement[key] = (tasks.y_train.numpy() == f.argmax(-1)).mean()
        assert agreement[key] == pytest.approx(expected, abs=0.02)
    assert agreement["noisy"] < agreement["id"] - 0.05


@pytest.mark.parametrize(
    "name", ["linear_regression", "nonlinear_regression", "linear_classification"]
)
def test_wide_prior_doubles_the_weight_scale(name):
    cfg = config(name, prior_scale=0.7)
    for variant, scale in [(cfg, 0.7), (shifted(cfg, "wide_prior"), 1.4)]:
        truth = sample(variant, seed=11, **BIG).truth
        weights = torch.cat([w.flatten() for w in truth.values()])
        assert weights.std().item() == pytest.approx(scale, rel=0.05)


@pytest.mark.parametrize("ood", ["id", "noisy", "wide_prior"])
def test_gp_targets_follow_the_covariance_the_variant_claims(ood):
    """y ~ N(0, s² k(X, X) + β I) per task: whitened by the Cholesky factor of the covariance
    the variant claims (s² doubled in scale by wide_prior, β ×4 by noisy), y is N(0, I)."""
    cfg = TaskConfig(name="gp_regression", dim=D, lengthscale=0.8, signal_scale=1.3, noise=0.2)
    variant = cfg if ood == "id" else shifted(cfg, ood)
    scale = {"id": 1.3, "noisy": 1.3, "wide_prior": 2.6}[ood]
    noise = {"id": 0.2, "noisy": 0.8, "wide_prior": 0.2}[ood]
    tasks = sample(variant, seed=12, n_tasks=200, n_train=20, n_query=1)

    def whitened(s: float, beta: float) -> np.ndarray:
        x, y = tasks.x_train.double().numpy(), tasks.y_train.double().numpy()
        sq = ((x[:, :, None] - x[:, None]) ** 2).sum(-1)
        cov = s**2 * np.exp(-sq / (2 * (0.8 * np.sqrt(D)) ** 2)) + beta * np.eye(x.shape[1])
        return np.linalg.solve(np.linalg.cholesky(cov), y[..., None])[..., 0]

    z = whitened(scale, noise)
    assert z.mean() == pytest.approx(0.0, abs=0.05)
    assert z.var() == pytest.approx(1.0, rel=0.1)
    if ood != "id":  # and the in-distribution covariance does not explain them
        assert whitened(1.3, 0.2).var() > 1.3


def test_digits_tasks_hold_out_digits_and_permute_labels():
    from sklearn.datasets import load_digits

    prior = make_prior(TaskConfig(name="digits", dim=64, classes=5))
    tasks = prior.sample(50, 30, 10, generator=torch.Generator().manual_seed(0))
    digits = tasks.truth["digits"]  # (T, 5), the digit behind each label
    assert not torch.isin(digits, torch.tensor([7, 8, 9])).any()
    assert (digits.sort(-1).values.diff(dim=-1) > 0).all()  # five different digits per task
    assert len({tuple(d.tolist()) for d in digits}) > 40  # subsets and label orders vary
    # each point is an image of the digit its label names (standardized pixels, as in the prior)
    raw = torch.tensor(load_digits().data, dtype=torch.float32)
    x = (raw - raw.mean()) / raw.std()
    target = torch.tensor(load_digits().target)
    for t in range(3):
        for i in range(30):
            match = (x - tasks.x_train[t, i]).abs().amax(-1) < 1e-5
            assert (target[match] == digits[t, tasks.y_train[t, i]]).all() and match.any()

    new = make_prior(shifted(TaskConfig(name="digits", dim=64, classes=5), "new_classes"))
    held = new.sample(20, 8, 4, generator=torch.Generator().manual_seed(1)).truth["digits"]
    assert all(set(row.tolist()) >= {7, 8, 9} for row in held)


@pytest.mark.parametrize("variant", ["permuted", "inverted"])
def test_digits_image_transforms_change_the_pixels_not_the_labels(variant):
    plain = make_prior(TaskConfig(name="digits", dim=64, classes=4))
    moved = make_prior(shifted(TaskConfig(name="digits", dim=64, classes=4), variant))
    a, b = (p.sample(5, 12, 3, generator=torch.Generator().manual_seed(2)) for p in (plain, moved))
    assert torch.equal(a.y_train, b.y_train) and not torch.allclose(a.x_train, b.x_train)
    if variant == "permuted":  # the same pixels, in another order
        torch.testing.assert_close(a.x_train.sort(-1).values, b.x_train.sort(-1).values)


def test_digits_config_errors_are_named():
    with pytest.raises(InvalidConfig, match="64 pixels"):
        make_prior(TaskConfig(name="digits", dim=8))
    with pytest.raises(InvalidConfig, match="task.classes = 9"):
        make_prior(TaskConfig(name="digits", dim=64, classes=9))
