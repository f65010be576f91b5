"""Missing values (NaN): masked losses and scores, the filled input, the imputer."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.impute import KNNImputer, SimpleImputer

from skae import (
    AutoencoderImputer,
    AutoencoderOutlierDetector,
    AutoencoderTransformer,
    VAETransformer,
    load,
    save,
)
from skae._net import ReconstructionLoss, negative_log_likelihood
from skae._testing import CPU, dense

FAST = {**CPU, "network": dense(8), "max_steps": 40, "batch_size": 32}

ESTIMATORS = [
    AutoencoderTransformer(**FAST),
    VAETransformer(**FAST),
    AutoencoderOutlierDetector(**FAST),
    AutoencoderOutlierDetector(**FAST, objective="vae"),
]
IDS = ["ae", "vae", "detector", "detector-vae"]


def _low_rank(n_rows=200, n_features=6, seed=0):
    rng = np.random.RandomState(seed)
    return rng.normal(size=(n_rows, 2)) @ rng.normal(size=(2, n_features))


def _with_gaps(X, rate=0.2, seed=1):
    """A copy of ``X`` with ``rate`` of its entries NaN, every row keeping one."""
    rng = np.random.RandomState(seed)
    X = X.copy()
    missing = rng.rand(*X.shape) < rate
    missing[:, 0] &= ~missing[:, 1:].all(axis=1)  # no empty row
    X[missing] = np.nan
    return X


@pytest.fixture(scope="module")
def data():
    X = _low_rank()
    return X, _with_gaps(X)


@pytest.mark.usefixtures("no_convergence_warnings")
@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
def test_every_method_takes_nan(estimator, data):
    _, X = data
    before = X.copy()
    estimator.fit(X).partial_fit(X)
    assert estimator.__sklearn_tags__().input_tags.allow_nan
    assert np.all(np.isfinite(estimator.score_samples(X)))
    if hasattr(estimator, "transform"):
        codes = estimator.transform(X)
        assert np.all(np.isfinite(codes))
        assert np.all(np.isfinite(estimator.inverse_transform(codes)))
    else:
        assert np.all(np.isfinite(estimator.decision_function(X)))
        assert set(np.unique(estimator.predict(X))) <= {-1, 1}
        errors = estimator.feature_errors(X)
        np.testing.assert_array_equal(np.isnan(errors), np.isnan(X))
    np.testing.assert_array_equal(X, before)  # input untouched
    assert np.all(np.isfinite(estimator.loss_curve_))


@pytest.mark.usefixtures("no_convergence_warnings")
def test_p_values_with_gaps(data):
    _, X = data
    detector = AutoencoderOutlierDetector(**FAST, false_alarm_rate=0.2,
                                          calibration_fraction=0.3).fit(X)
    p = detector.p_values(X)
    assert np.all((p > 0) & (p <= 1))


@pytest.mark.usefixtures("no_convergence_warnings")
def test_network_sees_the_training_mean_in_a_gap(data):
    _, X = data
    ae = AutoencoderTransformer(**FAST).fit(X)
    np.testing.assert_allclose(ae.missing_fill_, np.nanmean(X, axis=0))
    filled = np.where(np.isnan(X), ae.missing_fill_, X)
    np.testing.assert_allclose(ae.transform(X), ae.transform(filled), rtol=1e-6, atol=1e-9)


@pytest.mark.usefixtures("no_convergence_warnings")
@pytest.mark.parametrize("scaling", ["standard", "minmax"])
def test_scaling_statistics_ignore_nan(scaling, data):
    _, X = data
    ae = AutoencoderTransformer(**FAST, scaling=scaling).fit(X)
    if scaling == "standard":
        expected = np.nanmean(X, axis=0), np.nanstd(X, axis=0)
    else:
        expected = np.nanmin(X, axis=0), np.nanmax(X, axis=0) - np.nanmin(X, axis=0)
    np.testing.assert_allclose(ae.input_offset_, expected[0])
    np.testing.assert_allclose(ae.input_scale_, expected[1])


@pytest.mark.usefixtures("no_convergence_warnings")
def test_row_score_is_the_mean_over_observed_entries(data):
    X_full, X = data
    detector = AutoencoderOutlierDetector(**FAST).fit(X)
    np.testing.assert_allclose(detector.score_samples(X),
                               -np.nanmean(detector.feature_errors(X), axis=1), rtol=1e-6)
    # A row's score with a gap is the mean error of its other entries (of
    # the row the network sees, the gap at the training mean): neither
    # favoured nor punished for the missing term.
    gapped = X_full[:5].copy()
    gapped[:, 2] = np.nan
    seen = gapped.copy()
    seen[:, 2] = detector.missing_fill_[2]
    expected = -np.delete(detector.feature_errors(seen), 2, axis=1).mean(axis=1)
    np.testing.assert_allclose(detector.score_samples(gapped), expected, rtol=1e-6)


def test_masked_loss_skips_missing_entries_and_their_gradient():
    criterion = ReconstructionLoss("mse")
    target = torch.tensor([[1.0, float("nan"), 3.0], [0.0, 2.0, float("nan")]])
    reconstruction = torch.zeros(2, 3, requires_grad=True)
    loss = criterion(reconstruction, target)
    assert loss.item() == pytest.approx((1 + 9 + 0 + 4) / 4)
    loss.backward()
    gradient = reconstruction.grad
    assert torch.isfinite(gradient).all()
    assert gradient[0, 1] == 0 and gradient[1, 2] == 0
    entries = criterion.elementwise(reconstruction.detach(), target)
    assert torch.isnan(entries[0, 1]) and torch.isnan(entries[1, 2])


def test_masked_likelihood_rescales_to_all_features():
    criterion = ReconstructionLoss("mse")
    target = torch.tensor([[1.0, float("nan"), 3.0, 1.0]])
    nll = negative_log_likelihood(criterion, torch.zeros(1, 4), target)
    observed = 0.5 * (1 + 9 + 1) * 4 / 3 + 4 * 0.5 * np.log(2 * np.pi)
    assert nll.item() == pytest.approx(observed, rel=1e-6)


@pytest.mark.usefixtures("no_convergence_warnings")
def test_complete_rows_score_as_before(data):
    # Gaps elsewhere in a batch do not change a complete row's score.
    X_full, X = data
    ae = AutoencoderTransformer(**FAST).fit(X)
    mixed = np.vstack([X_full[:3], X[3:20]])
    np.testing.assert_allclose(ae.score_samples(mixed)[:3], ae.score_samples(X_full[:3]))


@pytest.mark.parametrize("estimator", [AutoencoderTransformer(**FAST),
                                       AutoencoderOutlierDetector(**FAST),
                                       AutoencoderImputer(**FAST)],
                         ids=["ae", "detector", "imputer"])
def test_bad_missing_input_gets_a_clear_error(estimator, data):
    _, X = data
    infinite = X.copy()
    infinite[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        estimator.fit(infinite)
    empty_column = X.copy()
    empty_column[:, 3] = np.nan
    with pytest.raises(ValueError, match=r"column\(s\) with every entry missing.*\[3\]"):
        estimator.fit(empty_column)
    empty_row = X.copy()
    empty_row[4] = np.nan
    with pytest.raises(ValueError, match=r"row\(s\) with every entry missing.*index 4"):
        estimator.fit(empty_row)
    assert not estimator.__sklearn_is_fitted__()  # a failed fit leaves nothing


@pytest.mark.usefixtures("no_convergence_warnings")
def test_empty_row_cannot_be_scored(data):
    _, X = data
    detector = AutoencoderOutlierDetector(**FAST).fit(X)
    with pytest.raises(ValueError, match="nothing to encode or score"):
        detector.score_samples(np.full((1, X.shape[1]), np.nan))


@pytest.mark.usefixtures("no_convergence_warnings")
def test_sparse_input_with_nan(data):
    _, X = data
    dense_fit = AutoencoderTransformer(**FAST).fit(X)
    sparse_fit = AutoencoderTransformer(**FAST).fit(sp.csr_matrix(X))
    np.testing.assert_allclose(sparse_fit.input_offset_, dense_fit.input_offset_)
    np.testing.assert_allclose(sparse_fit.score_samples(sp.csr_matrix(X)),
                               dense_fit.score_samples(X), rtol=1e-5)


@pytest.mark.usefixtures("no_convergence_warnings")
def test_safe_format_round_trip_with_nan(data, tmp_path):
    _, X = data
    detector = AutoencoderOutlierDetector(**FAST).fit(X)
    save(detector, tmp_path / "detector.skae")
    loaded = load(tmp_path / "detector.skae")
    np.testing.assert_array_equal(loaded.missing_fill_, detector.missing_fill_)
    np.testing.assert_allclose(loaded.score_samples(X), detector.score_samples(X))


@pytest.mark.usefixtures("no_convergence_warnings")
def test_onnx_export_fills_gaps_as_the_estimator(data):
    import onnxruntime as ort
    import onnxscript  # noqa: F401

    from skae import to_onnx

    _, X = data
    detector = AutoencoderOutlierDetector(**FAST).fit(X)
    model = to_onnx(detector, method="score_samples")
    session = ort.InferenceSession(model.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    (scores,) = session.run(None, {"X": X.astype(np.float32)})
    np.testing.assert_allclose(scores, detector.score_samples(X.astype(np.float32)),
                               rtol=1e-4, atol=1e-4)


@pytest.mark.usefixtures("no_convergence_warnings")
def test_map_blocks_with_nan(data):
    import dask.array as da

    from skae.distributed import map_blocks

    _, X = data
    detector = AutoencoderOutlierDetector(**FAST).fit(X)
    scores = map_blocks(detector, da.from_array(X, chunks=(50, -1)),
                        method="score_samples").compute()
    np.testing.assert_allclose(scores, detector.score_samples(X))


def test_fit_data_parallel_refuses_nan(data):
    from skae._data_parallel import _DataParallelFit

    _, X = data

    class Parallel(_DataParallelFit, AutoencoderTransformer):
        pass

    with pytest.raises(ValueError, match="fit_data_parallel does not take missing"):
        Parallel(**FAST).fit(X)


# ---------------------------------------------------------------- imputer
@pytest.mark.usefixtures("no_convergence_warnings")
def test_imputer_fills_gaps_and_keeps_observed_entries(data):
    X_full, X = data
    before = X.copy()
    imputer = AutoencoderImputer(**{**CPU, "max_steps": 400, "batch_size": 32})
    filled = imputer.fit_transform(X)
    observed = ~np.isnan(X)
    np.testing.assert_array_equal(filled[observed], X[observed])
    assert not np.isnan(filled).any()
    np.testing.assert_array_equal(X, before)
    # On low-rank data the reconstruction beats the column mean by far, and
    # is about as good as the nearest rows (0.62 against 0.63 here).
    gaps = ~observed
    rmse = np.sqrt(np.mean((filled[gaps] - X_full[gaps]) ** 2))
    mean_rmse = np.sqrt(np.mean((SimpleImputer().fit_transform(X)[gaps] - X_full[gaps]) ** 2))
    knn_rmse = np.sqrt(np.mean((KNNImputer().fit_transform(X)[gaps] - X_full[gaps]) ** 2))
    assert rmse < 0.55 * mean_rmse
    assert rmse < 1.1 * knn_rmse


@pytest.mark.usefixtures("no_convergence_warnings")
def test_imputer_indicator_and_feature_names(data):
    import pandas as pd
    _, X = data
    X = X.copy()
    X[:, 5] = np.where(np.isnan(X[:, 5]), 0.0, X[:, 5])  # no gap in x5
    frame = pd.DataFrame(X, columns=[f"c{i}" for i in range(6)])
    imputer = AutoencoderImputer(**FAST, add_indicator=True).set_output(transform="pandas")
    out = imputer.fit_transform(frame)
    expected = [f"c{i}" for i in range(6)] + [f"missingindicator_c{i}" for i in range(5)]
    assert list(out.columns) == expected
    np.testing.assert_array_equal(out.iloc[:, 6:].to_numpy(), np.isnan(X[:, :5]))
    without = AutoencoderImputer(**FAST).fit(X)
    assert without.transform(X).shape == (len(X), 6)


@pytest.mark.usefixtures("no_convergence_warnings")
def test_imputer_numeric_placeholder(data):
    _, X = data
    placeholder = np.where(np.isnan(X), -999.0, X)
    with_nan = AutoencoderImputer(**FAST).fit(X)
    with_placeholder = AutoencoderImputer(**FAST, missing_values=-999.0).fit(placeholder)
    np.testing.assert_allclose(with_placeholder.transform(placeholder), with_nan.transform(X))
    with pytest.raises(ValueError, match="NaN"):
        with_placeholder.transform(X)


@pytest.mark.usefixtures("no_convergence_warnings")
def test_imputer_fills_an_empty_row_with_the_reconstructed_mean(data):
    _, X = data
    imputer = AutoencoderImputer(**FAST).fit(X)
    row = imputer.transform(np.full((1, X.shape[1]), np.nan))
    assert np.all(np.isfinite(row))


@pytest.mark.usefixtures("no_convergence_warnings")
def test_imputer_masking_noise_changes_the_fit(data):
    _, X = data
    plain = AutoencoderImputer(**FAST, mask_probability=0.0).fit_transform(X)
    masked = AutoencoderImputer(**FAST, mask_probability=0.5).fit_transform(X)
    assert not np.allclose(plain, masked)


# ------------------------------------------------- categorical and string columns
@pytest.mark.parametrize("make", [
    lambda pd: pd.DataFrame({"a": [1.0, 2, 3, 4], "colour": pd.Categorical(list("xyxy"))}),
    lambda pd: pd.DataFrame({"a": [1.0, 2, 3, 4], "colour": list("xyxz")}),
    lambda pd: pd.DataFrame({"a": [1.0, 2, 3, 4], "colour": [1, "x", 2.0, 3]}),  # mixed
], ids=["categorical", "strings", "mixed"])
@pytest.mark.parametrize("estimator", [AutoencoderOutlierDetector(**FAST),
                                       AutoencoderImputer(**FAST)], ids=["detector", "imputer"])
def test_non_numeric_columns_are_named_with_the_encoder_to_use(make, estimator):
    import pandas as pd
    frame = make(pd)
    before = frame.copy()
    with pytest.raises(ValueError, match=r"column\(s\): 'colour'\. .*OneHotEncoder"):
        estimator.fit(frame)
    pd.testing.assert_frame_equal(frame, before)
    assert not estimator.__sklearn_is_fitted__()


def test_string_array_points_to_the_encoders():
    X = np.array([["a", "1"], ["b", "2"], ["a", "3"]], dtype=object)
    with pytest.raises(ValueError, match="holds strings.*OneHotEncoder"):
        AutoencoderTransformer(**FAST).fit(X)


@pytest.mark.usefixtures("no_convergence_warnings")
def test_boolean_columns_are_numbers():
    import pandas as pd
    frame = pd.DataFrame({"a": np.arange(20.0), "flag": np.arange(20) % 2 == 0})
    assert AutoencoderTransformer(**FAST).fit(frame).n_features_in_ == 2


@pytest.mark.usefixtures("no_convergence_warnings")
@pytest.mark.parametrize("include_scaling", [True, False])
def test_encoder_module_fills_gaps_as_transform(include_scaling, data):
    _, X = data
    ae = AutoencoderTransformer(**FAST).fit(X)
    rows = X if include_scaling else (X - ae.input_offset_) / ae.input_scale_
    encoder = ae.encoder_module(include_scaling=include_scaling).eval()
    with torch.no_grad():
        codes = encoder(torch.as_tensor(rows, dtype=torch.float32)).numpy()
    np.testing.assert_allclose(codes, ae.transform(X), rtol=1e-4, atol=1e-4)


@pytest.mark.usefixtures("no_convergence_warnings")
def test_float32_input_with_gaps(data):
    _, X = data
    X32 = X.astype(np.float32)
    detector = AutoencoderOutlierDetector(**FAST).fit(X32)
    scores = detector.score_samples(X32)
    assert scores.dtype == np.float64 and np.all(np.isfinite(scores))
    # Values too large for the network still name the cause, gaps or not.
    huge = (X / np.nanmax(np.abs(X)) * 3e38).astype(np.float32)
    with pytest.raises(ValueError, match="after scaling"):
        AutoencoderTransformer(**{**FAST, "scaling": None}).fit(huge)


@pytest.mark.usefixtures("no_convergence_warnings")
def test_partial_fit_takes_gaps_after_a_complete_chunk(data):
    X_full, X = data
    ae = AutoencoderTransformer(**FAST).partial_fit(X_full[:100])
    fill = ae.missing_fill_.copy()
    ae.partial_fit(X[100:])
    np.testing.assert_array_equal(ae.missing_fill_, fill)  # the first chunk's means
    assert np.all(np.isfinite(ae.loss_curve_))
