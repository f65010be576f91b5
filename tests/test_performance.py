"""Performance paths (issue 13): inference in the input's precision, the compiled
training step and its fallback, and ``partial_fit``."""

import numpy as np
import pytest
import torch
from conftest import CPU, dense

from skae import AutoencoderOutlierDetector, AutoencoderTransformer

FAST = {**CPU, "network": dense(8), "max_steps": 20, "batch_size": 16}


def data(n_samples=60, n_features=6, seed=0, dtype=np.float64):
    rng = np.random.RandomState(seed)
    return (rng.standard_normal((n_samples, 2)) @ rng.standard_normal((2, n_features))
            + 0.1 * rng.standard_normal((n_samples, n_features))).astype(dtype)


# ------------------------------------------------------------------ inference
@pytest.mark.usefixtures("no_convergence_warnings")
def test_float32_input_runs_the_trained_float32_module():
    X = data(dtype=np.float32)
    model = AutoencoderTransformer(**FAST).fit(X)
    module = model.net_.module_
    scaled = torch.from_numpy(((X - model.input_offset_) / model.input_scale_)
                              .astype(np.float32))
    with torch.inference_mode():
        codes, reconstruction = module.encode(scaled), module(scaled)[0]
    np.testing.assert_allclose(model.transform(X), codes.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(model.score_samples(X),
                               -(reconstruction - scaled).square().mean(1).numpy(),
                               rtol=1e-4, atol=1e-6)
    inverse = model.inverse_transform(model.transform(X))
    assert inverse.dtype == np.float32
    np.testing.assert_allclose(
        inverse, reconstruction.numpy() * model.input_scale_ + model.input_offset_,
        rtol=1e-4, atol=1e-4)


@pytest.mark.usefixtures("no_convergence_warnings")
def test_float64_input_computes_in_float64_and_is_batch_independent():
    X = data()
    model = AutoencoderTransformer(**FAST).fit(X)
    seen = []
    model.net_.module_.encoder.register_forward_hook(lambda *args: seen.append(1))
    full = model.transform(X)
    assert full.dtype == np.float64
    assert not seen  # the float64 copy ran, not the float32 module
    rows = np.vstack([model.transform(X[i:i + 1]) for i in range(len(X))])
    np.testing.assert_allclose(rows, full, rtol=1e-12, atol=1e-14)
    # float32 input of the same rows agrees to float32 precision
    np.testing.assert_allclose(model.transform(X.astype(np.float32)), full,
                               rtol=1e-4, atol=1e-5)
    assert seen


@pytest.mark.usefixtures("no_convergence_warnings")
def test_float32_scaling_reports_values_too_large():
    X = 1e-3 * data(dtype=np.float32)  # a range of about 1e-3: scaling multiplies by 1e3
    model = AutoencoderTransformer(**FAST, scaling="minmax").fit(X)
    with pytest.raises(ValueError, match="after scaling"):
        model.transform(np.full((3, X.shape[1]), 3e38, np.float32))


@pytest.mark.usefixtures("no_convergence_warnings")
def test_feature_errors_in_float32_match_float64():
    X = data()
    detector = AutoencoderOutlierDetector(**{**FAST, "n_estimators": 2}).fit(X)
    np.testing.assert_allclose(detector.feature_errors(X.astype(np.float32)),
                               detector.feature_errors(X), rtol=1e-4, atol=1e-5)
