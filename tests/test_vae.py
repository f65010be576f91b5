"""Tests of VAETransformer, its network and its skorch net."""

import math
import pickle
import warnings

import numpy as np
import pytest
import torch
from scipy import integrate, stats
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.utils._param_validation import InvalidParameterError

from skae import AutoencoderTransformer, ConvNetwork, VAETransformer
from skae._net import ReconstructionLoss, VAENet, kl_divergence, negative_log_likelihood
from skae._testing import CPU, dense, steps
from skae._torch_modules import TiedLinear, VariationalAutoencoder

# The 120 rows of ``small`` in batches of 32: 4 steps per epoch.
FAST = {**CPU, "network": dense(16), "max_steps": 20, "batch_size": 32}

pytestmark = pytest.mark.usefixtures("no_convergence_warnings")


@pytest.fixture(scope="module")
def digits():
    X, _ = load_digits(return_X_y=True)
    return train_test_split(X, test_size=0.25, random_state=0)


@pytest.fixture(scope="module")
def fitted_digits(digits):
    X_train, _ = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return VAETransformer(n_components=8, network=dense(32), max_steps=steps(30, 1347, 128),
                              device="cpu", random_state=0).fit(X_train)


@pytest.fixture
def small():
    rng = np.random.RandomState(0)
    latent = rng.normal(size=(120, 2))
    return np.tanh(latent @ rng.normal(size=(2, 6))) + 0.05 * rng.normal(size=(120, 6))


def _posterior(vae, X):
    module = vae.net_.module_.eval()
    scaled = torch.as_tensor((X - vae.input_offset_) / vae.input_scale_, dtype=torch.float32)
    with torch.no_grad():
        return module.posterior(scaled)


# ------------------------------------------------------------- the network
def test_module_samples_in_training_and_uses_the_mean_in_eval():
    torch.manual_seed(0)
    module = VariationalAutoencoder(6, 3, (5,), "elu", "identity")
    x = torch.randn(4, 6)
    reconstruction, mean, log_var = module.train()(x)
    assert reconstruction.shape == (4, 6) and mean.shape == log_var.shape == (4, 3)
    assert not torch.equal(module(x)[0], module(x)[0])  # reparameterised draws
    module.eval()
    assert torch.equal(module(x)[0], module(x)[0])
    assert torch.allclose(module(x)[0], module.decode(module.encode(x)))
    assert torch.equal(module(x)[1], module.encode(x))


def test_log_variance_is_bounded_and_keeps_a_gradient():
    module = VariationalAutoencoder(3, 2, (), "elu", "identity")
    x = torch.full((1, 3), 1e6, requires_grad=True)
    mean, log_var = module.posterior(x)
    assert torch.all(log_var.abs() <= 10)
    assert torch.isfinite(kl_divergence(mean, log_var)).all()
    x = torch.randn(5, 3)
    module.posterior(x)[1].sum().backward()
    assert module.log_var.weight.grad.abs().sum() > 0


# ------------------------------------------------------- the objective parts
@pytest.mark.parametrize("loss, logpdf", [
    ("mse", lambda r: stats.norm.logpdf(r)),
    ("mae", lambda r: stats.laplace.logpdf(r)),
])
def test_negative_log_likelihood_is_the_named_density(loss, logpdf):
    rng = np.random.RandomState(0)
    x, x_hat = rng.normal(size=(2, 5, 4))
    nll = negative_log_likelihood(ReconstructionLoss(loss), torch.tensor(x_hat), torch.tensor(x))
    np.testing.assert_allclose(nll.numpy(), -logpdf(x - x_hat).sum(axis=1), rtol=1e-10)


def test_huber_likelihood_is_normalised():
    criterion = ReconstructionLoss("huber")

    def density(r):
        nll = negative_log_likelihood(criterion, torch.tensor([[r]], dtype=torch.float64),
                                      torch.zeros(1, 1, dtype=torch.float64))
        return math.exp(-nll.item())

    total, _ = integrate.quad(density, -np.inf, np.inf)
    assert total == pytest.approx(1.0, abs=1e-8)


def test_bce_likelihood_is_bernoulli():
    x = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    p = torch.tensor([[0.8, 0.3]], dtype=torch.float64)
    nll = negative_log_likelihood(ReconstructionLoss("bce"), p, x)
    assert nll.item() == pytest.approx(-(math.log(0.8) + math.log(0.7)))


def test_kl_divergence_matches_closed_form_and_is_zero_at_the_prior():
    mean = torch.tensor([[0.5, -1.0]])
    log_var = torch.tensor([[math.log(2.0), 0.0]])
    expected = 0.5 * (2.0 + 0.25 - 1 - math.log(2.0)) + 0.5 * 1.0
    assert kl_divergence(mean, log_var).item() == pytest.approx(expected)
    assert kl_divergence(torch.zeros(1, 3), torch.zeros(1, 3)).item() == 0.0


@pytest.mark.parametrize("warmup, weights", [
    (0, [1.0, 1.0, 1.0]),
    (3, [0.25, 0.5, 0.75, 1.0, 1.0]),
])
def test_kl_weight_ramps_from_a_positive_value(warmup, weights):
    net = VAENet(VariationalAutoencoder, criterion=ReconstructionLoss,
                 kl_warmup_epochs=warmup).initialize_history()
    observed = []
    for _ in weights:
        net.history.new_epoch()
        observed.append(net.kl_weight)
    assert observed == pytest.approx(weights)


# ---------------------------------------------------------------- fitting
def test_fitted_attributes_record_both_parts(small):
    vae = VAETransformer(**FAST).fit(small)
    assert len(vae.reconstruction_loss_curve_) == len(vae.kl_loss_curve_) == vae.n_iter_
    assert all(kl > 0 for kl in vae.kl_loss_curve_)
    # beta=1 and no warm-up: the training loss is the sum of the parts.
    np.testing.assert_allclose(
        vae.loss_curve_,
        np.add(vae.reconstruction_loss_curve_, vae.kl_loss_curve_), rtol=1e-6)
    assert vae.get_feature_names_out()[0] == "vaetransformer0"


def test_validation_parts_are_recorded_with_early_stopping(small):
    vae = VAETransformer(**FAST, early_stopping=True).fit(small)
    history = vae.net_.history
    assert np.isfinite(history[:, "valid_reconstruction"]).all()
    assert np.all(np.asarray(history[:, "valid_kl"]) > 0)


def test_kl_term_acts_from_the_first_epoch(small):
    """Even at the start of a long warm-up the KL term pulls the posterior."""
    params = {**FAST, "max_steps": 4, "kl_warmup_epochs": 9}
    weak = VAETransformer(**params, beta=1e-3).fit(small)
    strong = VAETransformer(**params, beta=200.0).fit(small)
    assert 0 < strong.kl_loss_curve_[0] < weak.kl_loss_curve_[0]


def test_beta_changes_behaviour(small):
    params = {**FAST, "max_steps": 80, "learning_rate": 1e-2}
    low = VAETransformer(**params, beta=0.1).fit(small)
    high = VAETransformer(**params, beta=10.0).fit(small)
    # A heavier KL weight buys a posterior nearer the prior with reconstruction.
    assert high.kl_loss_curve_[-1] < low.kl_loss_curve_[-1] / 10
    assert high.reconstruction_loss_curve_[-1] > low.reconstruction_loss_curve_[-1]


def test_kl_warmup_changes_behaviour(small):
    plain = VAETransformer(**FAST).fit(small)
    warm = VAETransformer(**FAST, kl_warmup_epochs=4).fit(small)
    # A weaker KL pull in the first epochs leaves a wider posterior spread.
    assert warm.kl_loss_curve_[0] > plain.kl_loss_curve_[0]
    assert not np.allclose(warm.transform(small), plain.transform(small))


def test_early_stopping_waits_for_the_warmup(small):
    # Any change below tol=1e9 is a miss: stopping comes at the first chance.
    params = {**FAST, "max_steps": 80, "tol": 1e9, "n_iter_no_change": 1}
    assert VAETransformer(**params).fit(small).n_iter_ == 2
    assert VAETransformer(**params, kl_warmup_epochs=5).fit(small).n_iter_ == 7


@pytest.mark.parametrize("params", [
    {"beta": 0.0}, {"beta": -1.0}, {"beta": "one"},
    {"kl_warmup_epochs": -1}, {"kl_warmup_epochs": 1.5}, {"kl_warmup_epochs": None},
])
def test_bad_parameters_are_rejected(small, params):
    with pytest.raises(InvalidParameterError):
        VAETransformer(**FAST, **params).fit(small)


# -------------------------------------------------------------- inference
def test_shapes_dtypes_and_determinism(small):
    vae = VAETransformer(**FAST, n_components=3).fit(small)
    codes = vae.transform(small)
    assert codes.shape == (120, 3)
    np.testing.assert_array_equal(codes, vae.transform(small))
    np.testing.assert_allclose(codes[:7], vae.transform(small[:7]), rtol=1e-12)
    assert vae.transform(small.astype(np.float32)).dtype == np.float32
    assert vae.inverse_transform(codes).shape == (120, 6)
    scores = vae.score_samples(small)
    assert scores.shape == (120,) and scores.dtype == np.float64
    assert np.isfinite(scores).all()
    np.testing.assert_array_equal(scores, vae.score_samples(small))
    np.testing.assert_allclose(scores[5:9], vae.score_samples(small[5:9]), rtol=1e-12)
    assert vae.score(small) == pytest.approx(scores.mean())
    assert vae.sample(4).shape == (4, 6)
    # The same random_state gives the same model and the same scores.
    again = VAETransformer(**FAST, n_components=3).fit(small)
    np.testing.assert_array_equal(scores, again.score_samples(small))


def test_sample_is_repeatable_and_leaves_global_rngs_alone(small):
    vae = VAETransformer(**FAST).fit(small)
    np_state, torch_state = np.random.get_state(), torch.get_rng_state()
    first = vae.sample(10, random_state=3)
    np.testing.assert_array_equal(first, vae.sample(10, random_state=3))
    assert not np.allclose(first, vae.sample(10, random_state=4))
    assert not np.allclose(vae.sample(10), vae.sample(10))
    rng = np.random.RandomState(0)
    assert not np.allclose(vae.sample(5, random_state=rng), vae.sample(5, random_state=rng))
    assert np.all(np.random.get_state()[1] == np_state[1])
    assert torch.equal(torch.get_rng_state(), torch_state)


@pytest.mark.parametrize("n_samples", [0, -2, 1.5, "3"])
def test_sample_rejects_bad_sizes(small, n_samples):
    vae = VAETransformer(**FAST).fit(small)
    with pytest.raises((ValueError, TypeError), match="n_samples"):
        vae.sample(n_samples)


def test_sample_before_fit_raises():
    from sklearn.exceptions import NotFittedError
    with pytest.raises(NotFittedError):
        VAETransformer().sample(2)


def test_score_is_a_density_of_x_in_its_original_units(small):
    """Rescaling X by c leaves the standardised model alone and shifts the
    log-density by -n_features * log(c)."""
    vae = VAETransformer(**FAST).fit(small)
    scaled = VAETransformer(**FAST).fit(10.0 * small)
    np.testing.assert_allclose(vae.transform(small), scaled.transform(10.0 * small),
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(vae.score_samples(small) - 6 * np.log(10.0),
                               scaled.score_samples(10.0 * small), rtol=1e-4)


def test_pickle_round_trip(small):
    vae = VAETransformer(**FAST).fit(small)
    restored = pickle.loads(pickle.dumps(vae))
    np.testing.assert_array_equal(vae.transform(small), restored.transform(small))
    np.testing.assert_array_equal(vae.score_samples(small), restored.score_samples(small))
    np.testing.assert_array_equal(vae.sample(3, random_state=0),
                                  restored.sample(3, random_state=0))


@pytest.mark.parametrize("loss", ["mae", "huber"])
def test_other_likelihoods_fit(small, loss):
    vae = VAETransformer(**FAST, loss=loss).fit(small)
    assert np.isfinite(vae.score_samples(small)).all()
    assert vae.score(small) != VAETransformer(**FAST).fit(small).score(small)


def test_bce_path(digits):
    X_train, X_test = digits
    vae = VAETransformer(**FAST, loss="bce", scaling="minmax").fit(X_train)
    assert vae.net_.module_.decoder[-1].__class__.__name__ == "Sigmoid"
    samples = vae.sample(20, random_state=0)
    assert samples.min() >= 0 and samples.max() <= 16
    assert np.isfinite(vae.score_samples(X_test)).all()
    with pytest.raises(ValueError, match="scaling='minmax'"):
        VAETransformer(**FAST, loss="bce").fit(X_train)


@pytest.mark.parametrize("scaling, factor", [("standard", 1.0), (None, 1e4)])
def test_no_nan_on_standardised_or_large_unscaled_data(small, scaling, factor):
    X = factor * small + 3 * factor
    vae = VAETransformer(**FAST, scaling=scaling).fit(X)
    for output in (vae.transform(X), vae.inverse_transform(vae.transform(X)),
                   vae.score_samples(X), vae.sample(5, random_state=0),
                   vae.loss_curve_, vae.kl_loss_curve_):
        assert np.isfinite(output).all()


def test_grid_search_over_beta_and_n_components_without_a_scorer(small):
    search = GridSearchCV(VAETransformer(**FAST), {"beta": [0.5, 1.0], "n_components": [1, 2]},
                          cv=2).fit(small)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_params_["beta"] in (0.5, 1.0)


# --------------------------------------------------------- quality on digits
def test_latent_dimensions_are_used_on_digits(fitted_digits, digits):
    mean, log_var = _posterior(fitted_digits, digits[1])
    kl_per_dim = 0.5 * (log_var.exp() + mean ** 2 - 1 - log_var).mean(dim=0)
    assert torch.all(kl_per_dim > 0)
    assert int((kl_per_dim > 0.01).sum()) >= 2


def test_training_raises_the_test_elbo(fitted_digits, digits):
    X_train, X_test = digits
    untrained = VAETransformer(n_components=8, network=dense(32), max_steps=steps(1, 1347, 128),
                               learning_rate=1e-9, device="cpu", random_state=0).fit(X_train)
    assert fitted_digits.score(X_test) > untrained.score(X_test) + 50


def test_samples_lie_in_the_data_range(fitted_digits, digits):
    X_train, _ = digits
    samples = fitted_digits.sample(500, random_state=0)
    low, high = X_train.min(axis=0), X_train.max(axis=0)
    margin = 0.1 * (high - low) + 0.5
    inside = (samples >= low - margin) & (samples <= high + margin)
    assert inside.mean() > 0.97
    # and they are not all one image
    assert samples.std(axis=0).mean() > 0.5


@pytest.mark.parametrize("name", ["code_activation", "sparsity_target", "sparsity_weight",
                                  "activity_l1", "pretrain_epochs"])
def test_vae_lists_no_deterministic_only_parameter(name):
    assert name in AutoencoderTransformer().get_params()
    assert name not in VAETransformer().get_params()


@pytest.mark.parametrize("params, match", [
    ({"optimizer": "lbfgs"}, "'optimizer' parameter"),
    ({"network": "conv"}, "'network' parameter"),
    ({"network": ConvNetwork(input_shape=(1, 1, 5))}, "'network' parameter"),
])
def test_vae_rejects_what_it_does_not_support(params, match):
    X = np.random.RandomState(0).rand(30, 5)
    with pytest.raises(ValueError, match=match):
        VAETransformer(max_steps=2, **params).fit(X)


def test_vae_tied_weights_mirror_the_mean_head(small):
    vae = VAETransformer(**{**FAST, "network": dense(16, tied_weights=True)}).fit(small)
    module = vae.net_.module_
    first = module.decoder[0]
    assert isinstance(first, TiedLinear) and first.weight is module.mean.weight
    assert np.isfinite(vae.score_samples(small)).all()


def test_vae_hidden_regularisation_and_denoising_change_the_fit():
    X = load_digits().data[:200]
    base = {"n_components": 2, "network": dense(16), "max_steps": steps(3, 200, 128),
            "random_state": 0}
    reference = VAETransformer(**base).fit(X).transform(X)
    for option in ({"network": dense(16, dropout=0.2)}, {"network": dense(16, batch_norm=True)},
                   {"noise_std": 0.3}):
        codes = VAETransformer(**{**base, **option}).fit(X).transform(X)
        assert np.isfinite(codes).all()
        assert not np.allclose(codes, reference), option
