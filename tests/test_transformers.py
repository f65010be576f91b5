"""Tests of AutoencoderTransformer: scikit-learn integration, properties, data
types, errors for bad input, parameters, persistence, devices and quality."""

import io
import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_digits, make_blobs
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.manifold import TSNE
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError
from skorch.callbacks import Callback, LRScheduler

import skae._device
import skae._inference
from skae import AutoencoderTransformer, DenseNetwork, TrainingDivergedError
from skae._progress import ProgressLine
from skae._testing import CPU, dense, steps

# 60 rows in batches of 16: 4 steps per epoch.
# No validation split unless a test asks for one ('auto' holds one out from 41 rows).
FAST = {**CPU, "network": dense(8), "max_steps": 20, "batch_size": 16,
        "early_stopping": False}

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

no_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


def fast(**params):
    return AutoencoderTransformer(**{**FAST, **params})


@pytest.fixture
def rng():
    return np.random.RandomState(0)


@pytest.fixture
def X(rng):
    """60 rows, 6 correlated features on different scales and offsets."""
    latent = rng.normal(size=(60, 3))
    return latent @ rng.normal(size=(3, 6)) * [1, 10, 100, 0.1, 1, 5] + [0, 5, -50, 1, 2, 3]


# ------------------------------------------------------ scikit-learn integration
def test_pipeline_scaler_autoencoder_classifier():
    X, y = make_blobs(n_samples=90, n_features=6, centers=3, random_state=0)
    pipe = Pipeline([("scale", StandardScaler()),
                     ("ae", fast(n_components=2, max_steps=80)),
                     ("clf", LogisticRegression())]).fit(X, y)
    assert pipe.predict(X).shape == (90,)
    assert pipe.score(X, y) > 0.9


def test_grid_search_with_the_default_score(X):
    search = GridSearchCV(fast(max_steps=120),
                          {"n_components": [1, 3], "network__hidden_layer_sizes": [(4,), (8,)]},
                          cv=2).fit(X)
    scores = search.cv_results_["mean_test_score"]
    assert len(scores) == 4 and np.isfinite(scores).all() and (scores < 0).all()
    # The data has rank 3: a 3-wide code reconstructs it better than a 1-wide one.
    assert search.best_params_["n_components"] == 3
    assert search.best_score_ == scores.max()


def test_cross_val_score_is_the_negative_reconstruction_error(X):
    scores = cross_val_score(fast(), X, cv=3)
    assert scores.shape == (3,) and np.isfinite(scores).all() and (scores < 0).all()


def test_clone_copies_parameters_and_not_the_fit(X):
    model = fast(n_components=3, callbacks=[LRScheduler()]).fit(X)
    copy = clone(model)
    assert copy.get_params().keys() == model.get_params().keys()
    assert copy.n_components == 3 and isinstance(copy.callbacks[0], LRScheduler)
    with pytest.raises(NotFittedError):
        copy.transform(X)
    np.testing.assert_array_equal(copy.fit(X).transform(X), model.transform(X))


def test_autoencoder_then_tsne(X):
    embedding = make_pipeline(fast(n_components=4),
                              TSNE(perplexity=5, random_state=0)).fit_transform(X)
    assert embedding.shape == (60, 2) and np.isfinite(embedding).all()


def test_autoencoder_then_pca_round_trips(X):
    pipe = make_pipeline(fast(n_components=4), PCA(n_components=2)).fit(X)
    assert pipe.transform(X).shape == (60, 2)
    assert pipe.inverse_transform(pipe.transform(X)).shape == X.shape


# ---------------------------------------------------------- property tests
shapes = st.tuples(st.integers(1, 30), st.integers(1, 8), st.integers(1, 4),
                   st.integers(0, 2**16))


@settings(max_examples=10, deadline=None)
@given(shapes)
def test_output_shapes_and_finite_values(shape):
    n_samples, n_features, n_components, seed = shape
    X = np.random.RandomState(seed).normal(scale=100, size=(n_samples, n_features))
    original = X.copy()
    model = fast(n_components=n_components, max_steps=8).fit(X)
    codes = model.transform(X)
    assert codes.shape == (n_samples, n_components) and np.isfinite(codes).all()
    reconstruction = model.inverse_transform(codes)
    assert reconstruction.shape == X.shape and np.isfinite(reconstruction).all()
    scores = model.score_samples(X)
    assert scores.shape == (n_samples,) and np.isfinite(scores).all()
    np.testing.assert_array_equal(X, original)


@settings(max_examples=5, deadline=None)
@given(shapes)
def test_integer_random_state_gives_identical_transforms(shape):
    n_samples, n_features, n_components, seed = shape
    X = np.random.RandomState(seed).normal(size=(n_samples, n_features))
    first = fast(n_components=n_components, random_state=seed).fit(X).transform(X)
    second = fast(n_components=n_components, random_state=seed).fit(X).transform(X)
    np.testing.assert_array_equal(first, second)


@settings(max_examples=6, deadline=None)
@given(st.sampled_from(["float64", "float32", "csr", "dataframe"]), st.booleans())
def test_input_is_never_modified(kind, early_stopping):
    X = np.random.RandomState(0).normal(size=(20, 4)) * 7 + 3
    X[X < 3] = 0.0
    data = {"float64": X, "float32": X.astype(np.float32), "csr": sp.csr_matrix(X),
            "dataframe": pd.DataFrame(X, columns=list("abcd"))}[kind]
    before = pickle.dumps(data)
    model = fast(early_stopping=early_stopping).fit(data)
    model.inverse_transform(model.transform(data))
    model.score_samples(data)
    assert pickle.dumps(data) == before


def test_different_random_states_give_different_fits(X):
    assert not np.allclose(fast(random_state=0).fit_transform(X),
                           fast(random_state=1).fit_transform(X))


# ---------------------------------------------------------------- RNG hygiene
@pytest.mark.parametrize("random_state", [0, None, "instance"])
@pytest.mark.parametrize("early_stopping", [False, True])
def test_fit_leaves_global_rng_state_alone(X, random_state, early_stopping):
    if random_state == "instance":
        random_state = np.random.RandomState(3)
    np.random.seed(123)
    torch.manual_seed(123)
    numpy_state, torch_state = np.random.get_state(), torch.get_rng_state()
    fast(random_state=random_state, early_stopping=early_stopping).fit(X).transform(X)
    after = np.random.get_state()
    assert after[0] == numpy_state[0] and after[2:] == numpy_state[2:]
    np.testing.assert_array_equal(after[1], numpy_state[1])
    assert torch.equal(torch.get_rng_state(), torch_state)


# ------------------------------------------------------------ bad input
@pytest.mark.parametrize("method", ["fit", "transform", "score_samples"])
@pytest.mark.parametrize("value", [np.inf, -np.inf])
def test_inf_is_rejected(X, method, value):
    # NaN is a missing entry (tests/test_missing.py); infinity is an error.
    model = fast().fit(X)
    bad = X.copy()
    bad[3, 2] = value
    with pytest.raises(ValueError, match="Input X contains infinity"):
        getattr(model, method)(bad)


def test_nan_codes_are_rejected_by_inverse_transform(X):
    model = fast(n_components=2).fit(X)
    with pytest.raises(ValueError, match="Input contains NaN"):
        model.inverse_transform(np.full((3, 2), np.nan))


def test_empty_input_is_rejected():
    with pytest.raises(ValueError, match=r"0 sample\(s\)"):
        fast().fit(np.empty((0, 4)))


def test_one_dimensional_input_is_rejected(X):
    with pytest.raises(ValueError, match="Expected 2D array, got 1D array"):
        fast().fit(X[:, 0])
    with pytest.raises(ValueError, match="Expected 2D array, got 1D array"):
        fast().fit(X).transform(X[0])


def test_wrong_feature_count_in_transform(X):
    model = fast().fit(X)
    with pytest.raises(ValueError, match="X has 4 features, but AutoencoderTransformer "
                                         "is expecting 6 features"):
        model.transform(X[:, :4])


def test_wrong_code_width_in_inverse_transform(X):
    model = fast(n_components=2).fit(X)
    with pytest.raises(ValueError, match=r"Z has 3 features, .* expecting 2 features "
                                         r"\(n_components_\)"):
        model.inverse_transform(np.zeros((5, 3)))


def test_string_columns_in_a_numpy_object_array_are_rejected():
    X = np.array([[1.0, "a"], [2.0, "b"], [3.0, "c"]], dtype=object)
    with pytest.raises(ValueError, match="could not convert string to float.*OneHotEncoder"):
        fast().fit(X)


def test_string_columns_in_a_dataframe_are_rejected():
    X = pd.DataFrame({"x": [1.0, 2.0, 3.0], "colour": ["red", "green", "blue"]})
    with pytest.raises(ValueError, match=r"column\(s\): 'colour'\. .*OneHotEncoder"):
        fast().fit(X)


@pytest.mark.parametrize("param, value", [
    ("n_components", 0), ("n_components", 2.5), ("network", "conv"),
    ("output_activation", "swish"), ("loss", "l2"), ("scaling", "robust"),
    ("learning_rate", 0.0), ("learning_rate", -1e-3), ("weight_decay", -0.1),
    ("batch_size", 0), ("max_steps", 0), ("early_stopping", "yes"),
    ("validation_fraction", 0.0), ("validation_fraction", 1.0), ("n_iter_no_change", 0),
    ("tol", -1.0), ("device", 0), ("callbacks", "LRScheduler"),
    ("random_state", "seed"), ("verbose", -1),
])
def test_invalid_parameter_values(X, param, value):
    with pytest.raises(InvalidParameterError, match=f"The '{param}' parameter"):
        fast(**{param: value}).fit(X)


@pytest.mark.parametrize("value", [(0,), (8, -2), (4.5,), (True,), [[4, 8]], "abc", 0,
                                   (np.nan,)])
def test_bad_hidden_layer_sizes(X, value):
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        fast(network=DenseNetwork(hidden_layer_sizes=value)).fit(X)


@pytest.mark.parametrize("value, widths", [(5, [5]), ([], []), (np.array([7, 3]), [7, 3]),
                                           ([6, 4], [6, 4])])
def test_hidden_layer_sizes_forms(X, value, widths):
    model = fast(network=DenseNetwork(hidden_layer_sizes=value), n_components=2).fit(X)
    module = model.net_.module_
    encoder_widths = [layer.out_features for layer in module.encoder
                      if isinstance(layer, torch.nn.Linear)]
    assert encoder_widths == [*widths, 2]


def test_bce_needs_data_in_the_unit_interval(X):
    with pytest.raises(ValueError, match="use scaling='minmax'"):
        fast(loss="bce").fit(X)
    with pytest.raises(ValueError, match="output_activation='sigmoid'"):
        fast(loss="bce", scaling="minmax", output_activation="identity").fit(X)


def test_unknown_device_string(X):
    with pytest.raises(ValueError, match="is not a device"):
        fast(device="gpu9").fit(X)


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cuda_without_cuda_is_a_clear_error(X):
    with pytest.raises(ValueError, match="(?i)cuda.* is not available"):
        fast(device="cuda").fit(X)


@pytest.mark.parametrize("method", ["transform", "inverse_transform", "score",
                                    "score_samples", "get_feature_names_out"])
def test_use_before_fit(X, method):
    args = () if method == "get_feature_names_out" else (X,)
    with pytest.raises(NotFittedError):
        getattr(fast(), method)(*args)


def test_early_stopping_needs_a_row_to_train_on(X):
    with pytest.raises(ValueError, match="leaves none to train on"):
        fast(early_stopping=True).fit(X[:1])


@pytest.mark.parametrize("params, match", [
    # The loss overflows: the guard stops training at the end of the epoch.
    ({"learning_rate": 1e6, "network": dense(8, linear_path=False)},
     r"diverged at epoch 1: the training loss is nan"),
    # The loss stays finite at ~1e30: the fit is checked against the mean row.
    ({"learning_rate": 1e3}, (r"diverged: after \d+ epochs .* times that of "
                              r"reconstructing every row by the mean row")),
    ({"learning_rate": 1e3, "scaling": None}, "times that of reconstructing"),
])
def test_divergence_is_a_clear_error(X, params, match):
    with pytest.raises(TrainingDivergedError, match=match) as error:
        fast(max_steps=200, **params).fit(X)
    assert f"Lower learning_rate (now {params['learning_rate']})" in str(error.value)
    assert issubclass(TrainingDivergedError, FloatingPointError)


@pytest.mark.parametrize("params", [
    {"learning_rate": 1e3}, {"learning_rate": 1e3, "network": dense(8, activation="relu")},
    {"learning_rate": 1e2, "scaling": None}, {"learning_rate": 1e3, "loss": "huber"},
])
def test_huge_learning_rates_never_return_nan_codes(X, params):
    try:
        codes = fast(max_steps=80, **params).fit_transform(X)
    except TrainingDivergedError:
        return
    assert np.isfinite(codes).all()


# ------------------------------------------------------------- data types
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float_dtypes_are_preserved(X, dtype):
    X = X.astype(dtype)
    model = fast(n_components=2).fit(X)
    codes = model.transform(X)
    assert codes.dtype == dtype
    assert model.inverse_transform(codes).dtype == dtype
    assert model.score_samples(X).dtype == np.float64


def test_integer_input_gives_float64(X):
    assert fast().fit(X.astype(int)).transform(X.astype(int)).dtype == np.float64


def test_dataframe_input_and_pandas_output(X):
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(6)], index=range(100, 160))
    model = fast(n_components=3).fit(frame)
    np.testing.assert_array_equal(model.feature_names_in_, frame.columns)
    codes = model.set_output(transform="pandas").transform(frame)
    assert isinstance(codes, pd.DataFrame)
    assert list(codes.columns) == [f"autoencodertransformer{i}" for i in range(3)]
    assert list(codes.index) == list(frame.index)
    np.testing.assert_array_equal(codes.to_numpy(), model.set_output(transform="default")
                                  .transform(frame))
    with pytest.raises(ValueError, match="feature names"):
        model.transform(frame.rename(columns={"f0": "other"}))


def test_sparse_input_matches_dense_and_is_densified_a_batch_at_a_time(X, monkeypatch):
    X = np.where(np.abs(X) > 5, X, 0.0)
    blocks = []
    original = sp.csr_matrix.toarray

    def spy(self, *args, **kwargs):
        blocks.append(self.shape[0])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(sp.csr_matrix, "toarray", spy)
    monkeypatch.setattr(skae._inference, "INFERENCE_BATCH_SIZE", 25)
    monkeypatch.setattr(skae._data.ArrayDataset, "_BLOCK_ROWS", 25)  # the PCA start
    sparse_model = fast(batch_size=16).fit(sp.csr_matrix(X))
    sparse_codes = sparse_model.transform(sp.csr_matrix(X))
    assert blocks and max(blocks) <= 25
    dense_model = fast(batch_size=16).fit(X)
    np.testing.assert_allclose(sparse_codes, dense_model.transform(X), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(sparse_model.score_samples(sp.csr_matrix(X)),
                               dense_model.score_samples(X), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("scaling", ["standard", "minmax"])
def test_sparse_scaling_statistics_match_dense(X, scaling):
    X = np.where(np.abs(X) > 5, X, 0.0)
    dense = fast(scaling=scaling, max_steps=4).fit(X)
    sparse = fast(scaling=scaling, max_steps=4).fit(sp.csc_matrix(X))
    np.testing.assert_allclose(sparse.input_offset_, dense.input_offset_, atol=1e-10)
    np.testing.assert_allclose(sparse.input_scale_, dense.input_scale_, rtol=1e-10)


# ------------------------------------------ every parameter changes behaviour
class EpochRecorder(Callback):
    """Records the epochs it saw."""

    def __init__(self):
        self.epochs = []

    def on_epoch_end(self, net, **kwargs):
        self.epochs.append(len(net.history))


BASE = dict(FAST, max_steps=60)


def _fingerprint(model, X):
    codes = model.transform(X)
    return [codes, model.inverse_transform(codes), np.array(model.loss_curve_)]


def _differs(a, b):
    return any(x.shape != y.shape or not np.allclose(x, y) for x, y in zip(a, b))


@pytest.mark.parametrize("change, base", [
    ({"n_components": 3}, {}),
    ({"network": dense(5, 3)}, {}),
    ({"network": dense(8, activation="tanh")}, {}),
    ({"output_activation": "tanh"}, {}),
    ({"loss": "mae"}, {}),
    ({"loss": "huber"}, {}),
    ({"loss": "bce"}, {"scaling": "minmax"}),
    ({"scaling": None}, {}),
    ({"scaling": "minmax"}, {}),
    ({"learning_rate": 1e-2}, {}),
    ({"weight_decay": 0.5}, {}),
    ({"batch_size": 7}, {}),
    ({"max_steps": 12}, {}),
    ({"early_stopping": True}, {}),
    ({"validation_fraction": 0.4}, {"early_stopping": True}),
    ({"callbacks": [LRScheduler(policy="StepLR", step_size=1, gamma=0.1)]}, {}),
    ({"random_state": 1}, {}),
], ids=lambda value: "-".join(map(str, value)) if isinstance(value, dict) else None)
def test_every_parameter_changes_the_fit(X, change, base):
    reference = AutoencoderTransformer(**{**BASE, **base}).fit(X)
    changed = AutoencoderTransformer(**{**BASE, **base, **change}).fit(X)
    assert _differs(_fingerprint(reference, X), _fingerprint(changed, X))


def test_stopping_rule_parameters_change_the_epoch_count(X):
    patient = fast(max_steps=120, tol=10.0, n_iter_no_change=10).fit(X)
    impatient = fast(max_steps=120, tol=10.0, n_iter_no_change=2).fit(X)
    default_tol = fast(max_steps=120, n_iter_no_change=2).fit(X)
    # With a huge tol no epoch after the first counts as an improvement.
    assert patient.n_iter_ == 11 and impatient.n_iter_ == 3
    assert default_tol.n_iter_ > impatient.n_iter_


def test_early_stopping_records_validation_scores_and_keeps_the_best(X):
    model = fast(early_stopping=True, max_steps=120).fit(X)
    assert len(model.validation_scores_) == model.n_iter_
    # The best epoch's score, or the PCA start's when no epoch beat it.
    assert model.best_validation_score_ >= max(model.validation_scores_)
    # 'auto' holds out rows from 41 rows on (5 of them), not below.
    assert hasattr(fast(early_stopping="auto").fit(X), "validation_scores_")
    assert not hasattr(fast(early_stopping="auto").fit(X[:40]), "validation_scores_")
    # The kept weights are those of the best epoch.
    valid_rows = np.sort(np.random.RandomState(
        skae._device.draw_seed(0)).permutation(60)[:6])
    assert model.score(X[valid_rows]) == pytest.approx(model.best_validation_score_,
                                                       rel=1e-4)


def test_early_stopping_works_with_two_rows(X):
    model = fast(early_stopping=True, n_iter_no_change=50).fit(X[:2])
    assert model.n_steps_ == model.n_iter_ == 20 and np.isfinite(model.transform(X)).all()


@pytest.mark.parametrize("n_samples", [1, 3])
def test_batch_size_above_the_row_count(X, n_samples):
    model = fast(batch_size=1000).fit(X[:n_samples])
    assert model.net_.batch_size == n_samples
    assert np.isfinite(model.transform(X)).all()


def test_callbacks_are_copied_and_run(X):
    recorder = EpochRecorder()
    model = fast(callbacks=[recorder]).fit(X)
    trained = dict(model.net_.callbacks_)["EpochRecorder"]
    assert trained is not recorder and recorder.epochs == []
    assert trained.epochs == list(range(1, model.n_iter_ + 1))
    assert model.callbacks[0] is recorder


def test_verbose_prints_one_progress_line_or_the_epoch_table(X, capsys):
    fast().fit(X)
    assert capsys.readouterr().out == ""
    fast(verbose=1, max_steps=40).fit(X)
    lines = capsys.readouterr().out.splitlines()
    # Not a terminal: a line per tenth of the budget and a last one, no control codes.
    assert 2 <= len(lines) <= 11 and not any("\r" in line or "\x1b" in line for line in lines)
    assert "step 4/40" in lines[0] and "left" in lines[0]
    assert lines[-1].startswith("AutoencoderTransformer: 40 steps in ")
    fast(verbose=2).fit(X)
    out = capsys.readouterr().out
    assert "epoch" in out and "train_loss" in out


def test_progress_line_is_rewritten_in_place_on_a_terminal(X):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    model = fast(max_steps=40, callbacks=[ProgressLine("AE", 40, stream=Terminal())]).fit(X)
    text = dict(model.net_.callbacks_)["ProgressLine"].stream.getvalue()  # a copy trained
    assert text.startswith("\rAE: step 1/40") and text.count("\n") == 1
    assert f"AE: {model.n_steps_} steps in " in text


@pytest.mark.parametrize("device", ["cpu", torch.device("cpu"), "auto"])
def test_device_is_resolved(X, device):
    model = fast(device=device).fit(X)
    expected = "cuda" if device == "auto" and torch.cuda.is_available() else "cpu"
    assert model.device_ == expected
    assert model.net_.module_.encoder[0].weight.device.type == expected


# ------------------------------------------------------------ persistence
def _joblib_round_trip(model):
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    buffer.seek(0)
    return joblib.load(buffer)


@pytest.mark.parametrize("round_trip", [lambda m: pickle.loads(pickle.dumps(m)),
                                        _joblib_round_trip], ids=["pickle", "joblib"])
def test_persistence_round_trips(X, round_trip):
    model = fast(n_components=3, early_stopping=True).fit(X)
    restored = round_trip(model)
    codes = model.transform(X)
    np.testing.assert_array_equal(restored.transform(X), codes)
    np.testing.assert_array_equal(restored.inverse_transform(codes),
                                  model.inverse_transform(codes))
    np.testing.assert_array_equal(restored.score_samples(X), model.score_samples(X))


def test_pickle_carries_no_training_data(rng):
    X = rng.normal(size=(2000, 20))
    plain = fast(max_steps=8).fit(X)
    early_stopped = fast(early_stopping=True, max_steps=8).fit(X)
    assert early_stopped.net_.train_split is None
    assert all(getattr(callback, "best_model_weights_", None) is None
               for _, callback in early_stopped.net_.callbacks_)
    # The 200 validation rows alone would take 32 kB as float64.
    held_out_bytes = 200 * 20 * 8
    assert len(pickle.dumps(early_stopped)) - len(pickle.dumps(plain)) < held_out_bytes / 4


@no_cuda
def test_fitted_on_cuda_unpickles_and_transforms_on_cpu(X, monkeypatch):
    model = fast(device="cuda", early_stopping=True).fit(X)
    cuda_codes = model.transform(X)
    payload = pickle.dumps(model)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(UserWarning, match="CUDA"):
        restored = pickle.loads(payload)
    assert restored.device_ == "cpu"
    cpu_codes = restored.transform(X)
    assert isinstance(cpu_codes, np.ndarray)
    np.testing.assert_allclose(cpu_codes, cuda_codes, rtol=1e-4, atol=1e-4)


@no_cuda
def test_cuda_outputs_are_numpy_on_the_cpu(X):
    model = fast(device="cuda").fit(X)
    for output in (model.transform(X), model.score_samples(X),
                   model.inverse_transform(model.transform(X))):
        assert isinstance(output, np.ndarray)


# ---------------------------------------------------------------- quality
@pytest.mark.parametrize("seed", [0, 1])
def test_beats_pca_on_digits_with_eight_components(seed):
    X = load_digits().data
    X_train, X_test = train_test_split(X, test_size=0.25, random_state=0)
    pca = PCA(n_components=8).fit(X_train)
    pca_error = np.mean((pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2)
    # Pixels share one unit, so the error PCA minimises is the raw squared
    # error: train on raw pixels (scaling=None) to minimise the same thing.
    ae = AutoencoderTransformer(n_components=8, network=dense(128), scaling=None,
                                learning_rate=5e-3, max_steps=steps(40, 1347, 128), tol=0.0,
                                device="cpu",
                                random_state=seed).fit(X_train)
    ae_error = np.mean((ae.inverse_transform(ae.transform(X_test)) - X_test) ** 2)
    assert ae_error < 0.95 * pca_error


@pytest.mark.parametrize("dataset", ["digits", "breast_cancer"])
@pytest.mark.parametrize("n_components", [2, 8])
def test_defaults_reconstruct_better_than_standardised_pca(dataset, n_components):
    # Issue 10: with its default budget and stopping rule the autoencoder
    # converges on small tables (398 training rows of breast cancer are four
    # steps per epoch) and beats StandardScaler + PCA in standardised units.
    loader = {"digits": load_digits, "breast_cancer": load_breast_cancer}[dataset]
    X_train, X_test = train_test_split(loader().data, test_size=0.3, random_state=0)
    scaler = StandardScaler().fit(X_train)
    Z_test = scaler.transform(X_test)
    pca = PCA(n_components).fit(scaler.transform(X_train))
    pca_error = np.mean((pca.inverse_transform(pca.transform(Z_test)) - Z_test) ** 2)
    ae = AutoencoderTransformer(n_components=n_components, device="cpu",
                                random_state=0).fit(X_train)
    reconstructed = scaler.transform(ae.inverse_transform(ae.transform(X_test)))
    assert np.mean((reconstructed - Z_test) ** 2) < pca_error


# ------------------------------------------------------------ PCA start
def _pca_reconstruction(X_train, X):
    scaler = StandardScaler().fit(X_train)
    pca = PCA(n_components=3).fit(scaler.transform(X_train))
    return scaler.inverse_transform(pca.inverse_transform(pca.transform(scaler.transform(X))))


def test_linear_path_starts_at_pca(X):
    start = fast(n_components=3, max_steps=1, learning_rate=1e-12).fit(X)
    np.testing.assert_allclose(start.inverse_transform(start.transform(X)),
                               _pca_reconstruction(X, X), rtol=1e-4, atol=1e-4)
    plain = fast(n_components=3, max_steps=1, learning_rate=1e-12,
                 network=dense(8, linear_path=False)).fit(X)
    assert not np.allclose(plain.inverse_transform(plain.transform(X)),
                           _pca_reconstruction(X, X), atol=1e-2)


def test_early_stopping_keeps_the_pca_start_when_training_only_hurts(X):
    # A learning rate this large makes every epoch worse than the start.
    model = fast(n_components=3, early_stopping=True, learning_rate=0.3,
                 n_iter_no_change=3).fit(X)
    np.testing.assert_allclose(model.inverse_transform(model.transform(X)),
                               _pca_reconstruction(X, X), rtol=1e-4, atol=1e-4)
    assert model.best_validation_score_ > max(model.validation_scores_)


@pytest.mark.parametrize("n_features, width", [(5, 64), (100, 100), (1000, 256)])
def test_auto_hidden_width_follows_the_input(n_features, width):
    module = DenseNetwork().build(n_features, 2, code_activation="identity",
                                  output_activation="identity")
    assert module.encoder[0].out_features == width


@pytest.mark.parametrize("network, match", [
    (dense(8, tied_weights=True, linear_path=True), "tied weights"),
    (dense(8, linear_path=True), "code or output activation"),
])
def test_linear_path_true_refuses_where_it_does_not_apply(X, network, match):
    with pytest.raises(ValueError, match=match):
        fast(network=network, code_activation="sigmoid").fit(X)


def test_n_jobs_sets_the_threads_of_the_fit_and_restores_them(X):
    seen = []

    class Threads(Callback):
        def on_epoch_end(self, net, **kwargs):
            seen.append(torch.get_num_threads())

    before = torch.get_num_threads()
    fast(n_jobs=2, callbacks=[Threads()]).fit(X)
    assert set(seen) == {2} and torch.get_num_threads() == before
    seen.clear()
    fast(callbacks=[Threads()]).fit(X)
    assert set(seen) == {1} and torch.get_num_threads() == before
    with pytest.raises(ValueError, match="n_jobs=0"):
        fast(n_jobs=0).fit(X)
