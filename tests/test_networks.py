"""Network objects (dense, convolutional, LSTM) and SlidingWindows."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.utils._param_validation import InvalidParameterError

from skae import (
    AutoencoderOutlierDetector,
    AutoencoderTransformer,
    ConvNetwork,
    DenseNetwork,
    LSTMNetwork,
    VAETransformer,
)
from skae._testing import CPU
from skae._torch_modules import LSTMAutoencoder
from skae.preprocessing import SlidingWindows

FAST = {**CPU, "n_components": 3, "batch_size": 32, "max_steps": 6}
CONV = (ConvNetwork, {"channels": (4, 8), "hidden_layer_sizes": (16,)})
LSTM = (LSTMNetwork, {"hidden_layer_sizes": (8,)})
_ESTIMATOR_PARAMETERS = set(AutoencoderTransformer().get_params(deep=False))

pytestmark = pytest.mark.usefixtures("no_convergence_warnings")


def make(base, input_shape, **params):
    """An AutoencoderTransformer with the network ``base`` (a class and its
    options) and the settings of ``FAST``, both updated by ``params``."""
    kind, options = base
    network = kind(input_shape, **{**options, **{k: v for k, v in params.items()
                                                 if k not in _ESTIMATOR_PARAMETERS}})
    return AutoencoderTransformer(**{**FAST, **{k: v for k, v in params.items()
                                                if k in _ESTIMATOR_PARAMETERS}},
                                  network=network)


@pytest.fixture
def rng():
    return np.random.RandomState(0)


def digit_images(n=240):
    """Digits as (1, 8, 8) images, flattened: 64 features in [0, 16]."""
    return load_digits().data[:n]


def sine_windows(rng, n=64, time_steps=10, n_features=2):
    """Windows of noisy sines (one random phase per window, features shifted
    by a quarter period), flattened time-major."""
    t = np.arange(time_steps)[None, :, None]
    phase = rng.uniform(0, 2 * np.pi, size=(n, 1, 1)) + np.pi / 2 * np.arange(n_features)
    windows = np.sin(0.6 * t + phase) + 0.05 * rng.randn(n, time_steps, n_features)
    return windows.reshape(n, -1)


# ------------------------------------------------------------------ shapes
@pytest.mark.parametrize("input_shape", [(1, 8, 8), (2, 7, 5), (1, 28, 28), (3, 1, 1)])
def test_conv_shapes_any_image_size(rng, input_shape):
    X = rng.rand(20, int(np.prod(input_shape)))
    ae = make(CONV, input_shape, max_steps=1).fit(X)
    codes = ae.transform(X)
    assert codes.shape == (20, 3)
    assert ae.inverse_transform(codes).shape == X.shape
    assert np.isfinite(ae.score_samples(X)).all()


@pytest.mark.parametrize("input_shape", [(5, 3), (1, 4), (12, 1)])
@pytest.mark.parametrize("sizes", [(6,), (6, 4)])
def test_lstm_shapes(rng, input_shape, sizes):
    X = rng.rand(20, int(np.prod(input_shape)))
    ae = make(LSTM, input_shape, max_steps=1, hidden_layer_sizes=sizes).fit(X)
    codes = ae.transform(X)
    assert codes.shape == (20, 3)
    assert ae.inverse_transform(codes).shape == X.shape
    encoder = ae.net_.module_.encoder_lstms
    assert [lstm.hidden_size for lstm in encoder] == list(sizes)


# ----------------------------------------------------------------- quality
def test_conv_reconstruction_improves_with_training():
    X = digit_images(128)  # 4 steps per epoch
    short = make(CONV, (1, 8, 8), max_steps=4).fit(X)
    longer = make(CONV, (1, 8, 8), max_steps=60).fit(X)
    assert longer.score(X) > short.score(X) + 0.1
    assert longer.loss_curve_[-1] < 0.7 * longer.loss_curve_[0]


def test_lstm_reconstruction_improves_with_training(rng):
    X = sine_windows(rng)  # 2 steps per epoch
    short = make(LSTM, (10, 2), max_steps=2).fit(X)
    longer = make(LSTM, (10, 2), max_steps=40, learning_rate=2e-2).fit(X)
    assert longer.score(X) > short.score(X) + 0.2
    assert longer.loss_curve_[-1] < 0.5 * longer.loss_curve_[0]


# ----------------------------------------------------- parameters matter
@pytest.mark.parametrize("base, change", [
    (CONV, {"channels": (4,)}),
    (CONV, {"kernel_size": 5}),
    (CONV, {"hidden_layer_sizes": ()}),
    (CONV, {"activation": "tanh"}),
    (LSTM, {"hidden_layer_sizes": (8, 4)}),
    (LSTM, {"reverse_decoding": True}),
])
def test_network_parameters_change_the_model(base, change):
    X = digit_images(48)
    shape = (1, 8, 8) if base is CONV else (8, 8)
    reference = make(base, shape).fit(X)
    changed = make(base, shape, **change).fit(X)
    assert not np.allclose(reference.transform(X), changed.transform(X))


def test_conv_parameters_shape_the_network():
    ae = make(CONV, (1, 8, 8), max_steps=1, channels=(2, 3, 5), kernel_size=5)
    module = ae.fit(digit_images(16)).net_.module_
    convs = [m for m in module.conv_encoder if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [2, 3, 5]
    assert all(c.kernel_size == (5, 5) for c in convs)
    assert module.map_sizes == [(8, 8), (4, 4), (2, 2), (1, 1)]
    assert [m.out_channels for m in module.upsample] == [3, 2, 2]


# ------------------------------------------------- networks as parameters
def test_network_options_are_nested_parameters():
    ae = AutoencoderTransformer(network=DenseNetwork())
    assert ae.get_params()["network__dropout"] == 0.0
    ae.set_params(network__dropout=0.2, network__hidden_layer_sizes=(4,))
    assert ae.network.dropout == 0.2
    clone_ = clone(ae)
    assert clone_.network is not ae.network and clone_.network.get_params() == \
        ae.network.get_params()
    X = digit_images(64)
    search = GridSearchCV(AutoencoderTransformer(**{**FAST, "network": DenseNetwork((8,))}),
                          {"network__dropout": [0.0, 0.3]}, cv=2).fit(X)
    assert [p["network__dropout"] for p in search.cv_results_["params"]] == [0.0, 0.3]


def test_dense_shorthand_is_the_default_network():
    X = digit_images(64)
    shorthand = AutoencoderTransformer(**FAST).fit(X).transform(X)
    explicit = AutoencoderTransformer(**FAST, network=DenseNetwork()).fit(X).transform(X)
    np.testing.assert_array_equal(shorthand, explicit)


@pytest.mark.parametrize("estimator", [AutoencoderTransformer, VAETransformer,
                                       AutoencoderOutlierDetector])
def test_no_network_family_parameter_on_the_estimators(estimator):
    family_only = {"input_shape", "conv_channels", "channels", "kernel_size",
                   "reverse_decoding", "hidden_layer_sizes", "hidden_sizes", "activation",
                   "tied_weights", "dropout", "batch_norm"}
    assert not family_only & set(estimator().get_params(deep=False))


# ------------------------------------------------------- reverse decoding
def test_reverse_decoding_flips_the_decoder_output_back():
    torch.manual_seed(0)
    forward = LSTMAutoencoder((6, 2), 3, (5,))
    backward = LSTMAutoencoder((6, 2), 3, (5,), reverse_decoding=True)
    backward.load_state_dict(forward.state_dict())
    z = torch.randn(4, 3)
    out_forward = forward.decode(z).reshape(4, 6, 2)
    out_backward = backward.decode(z).reshape(4, 6, 2)
    torch.testing.assert_close(out_backward, out_forward.flip(1))


def test_reverse_decoding_reconstructs_in_the_original_order(rng):
    # Ramps: reversed windows are far from the originals.
    n, steps = 64, 6
    slope = rng.uniform(0.5, 1.5, size=(n, 1))
    X = slope * np.linspace(-1, 1, steps)[None, :] + 0.02 * rng.randn(n, steps)
    ae = make(LSTM, (steps, 1), max_steps=80, learning_rate=2e-2,
              reverse_decoding=True).fit(X)
    reconstruction = ae.inverse_transform(ae.transform(X))
    error = np.mean((reconstruction - X) ** 2)
    assert error < 0.1 * np.mean((reconstruction - X[:, ::-1]) ** 2)


# ------------------------------------------------------------ bad shapes
@pytest.mark.parametrize("network, message", [
    (ConvNetwork((8, 8)), r"ConvNetwork needs input_shape=\(channels, height, width\)"),
    (LSTMNetwork((1, 8, 8)), r"LSTMNetwork needs input_shape=\(time_steps, n_features\)"),
    (ConvNetwork((1, 8, 9)),
     r"input_shape=\(1, 8, 9\)\) describes rows of 72 features, but X has 64 features"),
    (LSTMNetwork((10, 6)), r"describes rows of 60 features, but X has 64 features"),
    (ConvNetwork((1, 0, 64)), "input_shape must be a positive integer or a flat sequence of"),
    (ConvNetwork((1, 8, 8), kernel_size=4), "kernel_size must be odd"),
    (ConvNetwork((1, 8, 8), channels=()), "at least one entry in channels"),
    (ConvNetwork((1, 8, 8), channels=(4, -2)),
     "channels must be a positive integer or a flat sequence"),
    (LSTMNetwork((16, 4), hidden_layer_sizes=()), "at least one entry in hidden_layer_sizes"),
])
def test_invalid_shapes_and_architectures(rng, network, message):
    X = rng.rand(10, 64)
    with pytest.raises(ValueError, match=message):
        AutoencoderTransformer(**FAST, network=network).fit(X)


@pytest.mark.parametrize("network", [
    "recurrent", "conv", ConvNetwork((1, 8, 8), kernel_size=0),
    ConvNetwork((1, 8, 8), kernel_size=2.5), LSTMNetwork((8, 8), reverse_decoding="yes"),
    ConvNetwork("28x28"), ConvNetwork((1, 8, 8), channels=16), DenseNetwork(activation="swish"),
])
def test_invalid_parameter_values(rng, network):
    with pytest.raises(InvalidParameterError):
        AutoencoderTransformer(**FAST, network=network).fit(rng.rand(10, 64))


@pytest.mark.parametrize("network", [ConvNetwork((1, 4, 4)), LSTMNetwork((4, 4))])
def test_arrays_of_images_or_windows_are_refused_with_a_hint(rng, network):
    X = rng.rand(10, *network.input_shape)
    with pytest.raises(ValueError, match=r"X has \d dimensions.*X.reshape\(len\(X\), -1\)"):
        AutoencoderTransformer(**FAST, network=network).fit(X)


def test_wrong_width_at_transform_is_refused(rng):
    ae = make(CONV, (1, 4, 4)).fit(rng.rand(10, 16))
    with pytest.raises(ValueError, match="X has 20 features"):
        ae.transform(rng.rand(5, 20))


# ------------------------------------------------------- data and state
@pytest.mark.parametrize("params, shape", [(CONV, (1, 8, 8)), (LSTM, (8, 8))])
def test_sparse_float32_pickle_and_batch_independence(params, shape):
    X = digit_images(48)
    ae = make(params, shape).fit(X)
    codes = ae.transform(X)
    # Sparse input is densified a batch at a time and gives the same codes.
    sparse_ae = make(params, shape).fit(sp.csr_matrix(X))
    np.testing.assert_allclose(sparse_ae.transform(sp.csr_matrix(X)), codes, rtol=1e-5,
                               atol=1e-6)
    # float32 in, float32 out.
    X32 = X.astype(np.float32)
    assert ae.transform(X32).dtype == np.float32
    assert ae.inverse_transform(codes.astype(np.float32)).dtype == np.float32
    # A row's code does not depend on the rows beside it.
    np.testing.assert_allclose(ae.transform(X[5:9]), codes[5:9], rtol=1e-12)
    # Pickling round trip.
    restored = pickle.loads(pickle.dumps(ae))
    np.testing.assert_array_equal(restored.transform(X), codes)
    np.testing.assert_array_equal(restored.score_samples(X), ae.score_samples(X))


@pytest.mark.parametrize("params, shape", [(CONV, (1, 8, 8)), (LSTM, (8, 8))])
def test_random_state_repeats_and_input_is_not_modified(params, shape):
    X = digit_images(32)
    X_copy = X.copy()
    first = make(params, shape).fit(X).transform(X)
    second = clone(make(params, shape)).fit(X).transform(X)
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(X, X_copy)


# --------------------------------------------------------- SlidingWindows
def test_sliding_windows_values_match_a_loop(rng):
    series = rng.rand(11, 3)
    for length, step in [(4, 1), (4, 3), (1, 1), (11, 2), (2, 5)]:
        windows = SlidingWindows(length, step=step).fit_transform(series)
        expected = [series[start:start + length].ravel()
                    for start in range(0, len(series) - length + 1, step)]
        np.testing.assert_array_equal(windows, np.array(expected))
        assert windows.shape == ((11 - length) // step + 1, length * 3)


@pytest.mark.parametrize("step", [1, 3])
def test_sliding_windows_keeps_dtype_and_input(rng, step):
    series = rng.rand(10, 2).astype(np.float32)
    before = series.copy()
    windows = SlidingWindows(3, step=step).fit_transform(series)
    assert windows.dtype == np.float32
    assert not np.shares_memory(windows, series)
    windows[:] = 0
    np.testing.assert_array_equal(series, before)


def test_sliding_windows_is_stateless_across_series_lengths(rng):
    windows = SlidingWindows(5).fit(rng.rand(50, 2))
    assert windows.n_features_in_ == 2
    assert windows.transform(rng.rand(7, 2)).shape == (3, 10)
    with pytest.raises(ValueError, match="X has 3 features"):
        windows.transform(rng.rand(7, 3))


def test_sliding_windows_too_short_series(rng):
    with pytest.raises(ValueError, match="X has 4 rows .*window_length=5"):
        SlidingWindows(5).fit_transform(rng.rand(4, 2))


@pytest.mark.parametrize("params", [{"window_length": 0}, {"window_length": 3, "step": 0},
                                    {"window_length": 2.0}])
def test_sliding_windows_invalid_parameters(rng, params):
    with pytest.raises(InvalidParameterError):
        SlidingWindows(**params).fit(rng.rand(10, 2))


def test_sliding_windows_feature_names_and_pandas_output(rng):
    import pandas as pd
    frame = pd.DataFrame(rng.rand(6, 2), columns=["a", "b"],
                         index=pd.date_range("2024-01-01", periods=6))
    windows = SlidingWindows(3, step=2).set_output(transform="pandas").fit_transform(frame)
    assert list(windows.columns) == ["a_t0", "b_t0", "a_t1", "b_t1", "a_t2", "b_t2"]
    # Each window is labelled by its last time step.
    assert list(windows.index) == list(frame.index[[2, 4]])
    np.testing.assert_array_equal(windows.iloc[1], frame.to_numpy()[2:5].ravel())
    names = SlidingWindows(2).fit(rng.rand(4, 2)).get_feature_names_out()
    assert list(names) == ["x0_t0", "x1_t0", "x0_t1", "x1_t1"]


def test_windows_then_lstm_pipeline_gives_one_code_per_window(rng):
    series = np.cumsum(rng.randn(60, 3), axis=0)
    pipe = Pipeline([
        ("windows", SlidingWindows(5)),
        ("ae", make(LSTM, (5, 3))),
    ])
    codes = pipe.fit_transform(series)
    assert codes.shape == (56, 3)
    assert list(pipe.get_feature_names_out()) == [f"autoencodertransformer{i}"
                                                  for i in range(3)]
    np.testing.assert_allclose(pipe.transform(series[:10]), codes[:6], rtol=1e-10)


@pytest.mark.parametrize("network", [ConvNetwork((1, 4, 4)), LSTMNetwork((4, 4))])
def test_vae_is_fully_connected_only(network):
    X = np.random.RandomState(0).rand(20, 16)
    with pytest.raises(ValueError, match="'network' parameter of VAETransformer"):
        VAETransformer(network=network, max_steps=1).fit(X)
    detector = AutoencoderOutlierDetector(objective="vae", network=network, max_steps=1)
    with pytest.raises(ValueError, match="supports network=DenseNetwork"):
        detector.fit(X)
