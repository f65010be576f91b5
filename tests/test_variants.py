"""The autoencoder variants: linear (PCA), tied weights, greedy pre-training,
denoising, sparsity, dropout and batch normalisation, and the optimisers."""

import numpy as np
import pytest
import torch
from scipy.linalg import subspace_angles
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.utils._param_validation import InvalidParameterError

import skae._inference
from skae import AutoencoderTransformer, DenseNetwork
from skae._data import ArrayDataset, BatchIterator
from skae._net import AutoencoderNet, ReconstructionLoss
from skae._testing import CPU, dense, steps
from skae._torch_modules import DenseAutoencoder, TiedLinear

# The 400 rows of ``digits`` in batches of 64: 7 steps per epoch.
FAST = {**CPU, "n_components": 4, "network": dense(16), "max_steps": steps(5, 400, 64),
        "batch_size": 64}

pytestmark = pytest.mark.usefixtures("no_convergence_warnings")


@pytest.fixture(scope="module")
def digits():
    return load_digits().data[:400]


def _n_parameters(model):
    return sum(p.numel() for p in model.net_.module_.parameters() if p.requires_grad)


# --------------------------------------------------------------- linear / PCA
def test_linear_autoencoder_recovers_pca(digits):
    pca = PCA(n_components=4).fit(digits)
    ae = AutoencoderTransformer(n_components=4, network=dense(activation="identity"),
                                scaling="center", optimizer="lbfgs", max_steps=30,
                                early_stopping=False, device="cpu",
                                random_state=0).fit(digits)
    pca_error = np.mean((pca.inverse_transform(pca.transform(digits)) - digits) ** 2)
    ae_error = np.mean((ae.inverse_transform(ae.transform(digits)) - digits) ** 2)
    assert ae_error <= 1.01 * pca_error
    decoder_weight = ae.net_.module_.decoder[0].weight.detach().numpy()
    angle = np.degrees(subspace_angles(decoder_weight, pca.components_.T).max())
    assert angle <= 5.0


def test_center_scaling_removes_the_mean_only(digits):
    ae = AutoencoderTransformer(**{**FAST, "max_steps": 7}, scaling="center").fit(digits)
    np.testing.assert_allclose(ae.input_offset_, digits.mean(axis=0))
    np.testing.assert_array_equal(ae.input_scale_, np.ones(digits.shape[1]))


@pytest.mark.parametrize("optimizer", ["sgd", "lbfgs"])
def test_optimizer_changes_the_fit(digits, optimizer):
    adam = AutoencoderTransformer(**FAST).fit(digits)
    other = AutoencoderTransformer(**FAST, optimizer=optimizer).fit(digits)
    expected = {"sgd": torch.optim.SGD, "lbfgs": torch.optim.LBFGS}[optimizer]
    assert isinstance(other.net_.optimizer_, expected)
    assert not np.allclose(adam.transform(digits), other.transform(digits))


def test_lbfgs_weight_decay_shrinks_the_weights(digits):
    def weight_norm(weight_decay):
        ae = AutoencoderTransformer(**FAST, optimizer="lbfgs",
                                    weight_decay=weight_decay).fit(digits)
        return sum(p.square().sum().item() for p in ae.net_.module_.parameters())

    assert weight_norm(1.0) < 0.5 * weight_norm(0.0)


# -------------------------------------------------------------- tied weights
def test_tied_weights_share_transposed_encoder_weights(digits):
    untied = AutoencoderTransformer(**{**FAST, "network": dense(32, 16)}).fit(digits)
    tied = AutoencoderTransformer(**{**FAST, "network": dense(32, 16, tied_weights=True)}
                                  ).fit(digits)
    module = tied.net_.module_
    encoder = [m for m in module.encoder if isinstance(m, torch.nn.Linear)]
    decoder = [m for m in module.decoder if isinstance(m, TiedLinear)]
    assert len(decoder) == len(encoder) == 3
    for enc, dec in zip(encoder, decoder[::-1]):
        assert dec.weight is enc.weight  # one matrix, trained once
        assert dec.bias.shape == (enc.in_features,)
    ratio = _n_parameters(tied) / _n_parameters(untied)
    assert 0.45 < ratio < 0.55
    x = torch.as_tensor(tied._validate_input(digits[:3], reset=False), dtype=torch.float64)
    x = (x - torch.as_tensor(tied.input_offset_)) / torch.as_tensor(tied.input_scale_)
    module = skae._inference.inference_module(tied.net_, np.float64)[0]
    manual = module.encode(x)
    for linear, act in zip([m for m in module.decoder if isinstance(m, TiedLinear)],
                           [m for m in module.decoder if not isinstance(m, TiedLinear)]):
        manual = act(manual @ linear.weight + linear.bias)
    np.testing.assert_allclose(manual.detach().numpy(), module(x)[0].detach().numpy())


# ------------------------------------------------------- greedy pre-training
def test_pretraining_helps_a_deep_narrow_network(digits):
    # Without the PCA start and the validation split: what pre-training adds.
    deep = {**CPU, "n_components": 2, "early_stopping": False,
            "network": dense(8, 4, 4, 4, 4, activation="elu", linear_path=False),
            "max_steps": steps(30, 400, 64), "batch_size": 64}
    plain = AutoencoderTransformer(**deep).fit(digits)
    pretrained = AutoencoderTransformer(**deep, pretrain_epochs=30).fit(digits)
    assert pretrained.score(digits) >= plain.score(digits)
    assert pretrained.loss_curve_[-1] <= plain.loss_curve_[-1]


def test_pretraining_trains_each_layer_pair_in_place(digits):
    params = dict(FAST, network=dense(16, 8), max_steps=7, early_stopping=False)
    plain = AutoencoderTransformer(**params).fit(digits)
    pretrained = AutoencoderTransformer(**params, pretrain_epochs=3).fit(digits)
    pairs = pretrained.net_.module_.layer_pairs()
    assert len(pairs) == 3
    assert not np.allclose(plain.transform(digits), pretrained.transform(digits))
    assert pretrained.n_iter_ == 1  # history of the fine-tuning only


# ----------------------------------------------------------------- denoising
class _RecordingNet(AutoencoderNet):
    def get_loss(self, y_pred, y_true, X=None, training=False):
        if training:
            self.seen_ = (X.detach().clone(), y_true.detach().clone())
        return super().get_loss(y_pred, y_true, X=X, training=training)


@pytest.mark.parametrize("noise", [{"noise_std": 0.5}, {"mask_probability": 0.5}])
def test_noise_corrupts_the_input_not_the_target(noise):
    X = torch.randn(32, 6)
    dataset = ArrayDataset(X.numpy(), np.zeros(6), np.ones(6), "cpu")
    net = _RecordingNet(DenseAutoencoder, module__n_features=6, module__n_components=2,
                        criterion=ReconstructionLoss, max_epochs=1, batch_size=32,
                        iterator_train__shuffle=False, train_split=None, **noise)
    net.fit(dataset)
    seen_input, seen_target = net.seen_
    torch.testing.assert_close(seen_target, X)
    assert not torch.allclose(seen_input, X)
    if "mask_probability" in noise:
        zeroed = (seen_input == 0).float().mean().item()
        assert 0.3 < zeroed < 0.7
        kept = seen_input != 0
        torch.testing.assert_close(seen_input[kept], X[kept])


def test_denoising_autoencoder_removes_noise_better(digits):
    rng = np.random.RandomState(0)
    X = digits / 16.0
    noisy = np.clip(X + 0.3 * rng.standard_normal(X.shape), 0, 1)
    # Without the PCA start and the validation split, which may keep that
    # start for both.
    params = {**CPU, "n_components": 16, "network": dense(64, linear_path=False),
              "scaling": None, "early_stopping": False,
              "max_steps": steps(60, 400, 32), "batch_size": 32}
    plain = AutoencoderTransformer(**params).fit(X)
    denoising = AutoencoderTransformer(**params, noise_std=0.3).fit(X)

    def error(model):
        return np.mean((model.inverse_transform(model.transform(noisy)) - X) ** 2)

    assert error(denoising) < error(plain)


def test_noise_is_repeatable_and_leaves_global_rng_alone(digits):
    params = dict(FAST, noise_std=0.3, mask_probability=0.2, network=dense(16, dropout=0.2))
    torch_state = torch.get_rng_state()
    first = AutoencoderTransformer(**params).fit(digits).transform(digits)
    second = AutoencoderTransformer(**params).fit(digits).transform(digits)
    np.testing.assert_array_equal(first, second)
    assert torch.equal(torch_state, torch.get_rng_state())
    clean = AutoencoderTransformer(**{**params, "noise_std": 0.0,
                                      "mask_probability": 0.0}).fit(digits)
    assert not np.allclose(first, clean.transform(digits))


# ------------------------------------------------------------------ sparsity
def test_kl_sparsity_reaches_the_target_activation(digits):
    sparse = AutoencoderTransformer(n_components=16, network=dense(32),
                                    code_activation="sigmoid", sparsity_target=0.1,
                                    sparsity_weight=0.5, max_steps=steps(60, 400, 64),
                                    batch_size=64,
                                    device="cpu", random_state=0).fit(digits)
    assert abs(sparse.transform(digits).mean() - 0.1) <= 0.05
    plain = AutoencoderTransformer(**sparse.get_params(deep=False) | {"sparsity_weight": 0.0})
    assert abs(plain.fit(digits).transform(digits).mean() - 0.1) > 0.05


def test_activity_l1_shrinks_the_codes(digits):
    params = dict(FAST, max_steps=steps(20, 400, 64))
    plain = AutoencoderTransformer(**params).fit(digits)
    l1 = AutoencoderTransformer(**params, activity_l1=1.0).fit(digits)
    assert np.abs(l1.transform(digits)).mean() < 0.7 * np.abs(plain.transform(digits)).mean()


def test_sparsity_needs_sigmoid_codes(digits):
    with pytest.raises(ValueError, match="code_activation='sigmoid'"):
        AutoencoderTransformer(**FAST, sparsity_weight=0.1).fit(digits)


def test_code_activation_bounds_the_codes(digits):
    codes = AutoencoderTransformer(**FAST, code_activation="sigmoid").fit_transform(digits)
    assert codes.min() > 0 and codes.max() < 1


# ------------------------------------------------ dropout and batch norm
def test_dropout_and_batch_norm_layers(digits):
    ae = AutoencoderTransformer(**{**FAST, "network": dense(16, dropout=0.3, batch_norm=True)}
                                ).fit(digits)
    layers = list(ae.net_.module_.modules())
    assert sum(isinstance(m, torch.nn.Dropout) for m in layers) == 2
    assert sum(isinstance(m, torch.nn.BatchNorm1d) for m in layers) == 2
    # Inference is deterministic and row-wise although training was not.
    np.testing.assert_allclose(ae.transform(digits[:5]), ae.transform(digits)[:5], rtol=1e-12)
    plain = AutoencoderTransformer(**FAST).fit(digits)
    assert not np.allclose(plain.transform(digits), ae.transform(digits))


@pytest.mark.parametrize("params", [
    {"optimizer": "rmsprop"}, {"network": DenseNetwork(tied_weights="yes")},
    {"network": DenseNetwork(dropout=1.0)}, {"network": DenseNetwork(dropout=-0.1)},
    {"network": DenseNetwork(batch_norm=1)}, {"noise_std": -0.1},
    {"mask_probability": 1.0}, {"sparsity_target": 0.0}, {"sparsity_target": 1.0},
    {"sparsity_weight": -1.0}, {"activity_l1": -1.0}, {"pretrain_epochs": -1},
    {"pretrain_epochs": 1.5}, {"code_activation": "softmax"}, {"scaling": "centre"},
])
def test_bad_variant_parameters(digits, params):
    with pytest.raises(InvalidParameterError):
        AutoencoderTransformer(**{**FAST, **params}).fit(digits)


def test_batch_norm_never_trains_on_a_single_row(digits):
    dataset = ArrayDataset(digits[:33], np.zeros(64), np.ones(64), "cpu")
    sizes = [len(Xb) for Xb, _ in BatchIterator(dataset, 32, merge_single=True)]
    assert sizes == [33]
    assert len(BatchIterator(dataset, 32, merge_single=True)) == 1
    # 33 rows in batches of 32 would otherwise end with a batch of one row.
    batch_norm = dense(16, batch_norm=True)
    AutoencoderTransformer(**{**FAST, "batch_size": 32, "network": batch_norm}).fit(digits[:33])
    with pytest.raises(ValueError, match="n_samples = 1"):
        AutoencoderTransformer(**{**FAST, "network": batch_norm}).fit(digits[:1])
