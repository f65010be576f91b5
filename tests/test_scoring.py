"""The one scoring path (skae._scoring): the estimator, its ONNX model and its
encoder module compute the same codes and scores, missing entries included."""

import numpy as np
import pytest
import torch

from skae import AutoencoderOutlierDetector, AutoencoderTransformer, to_onnx
from skae._scoring import decisions, labels
from skae._testing import CPU, dense, run_onnx
from skae.export import _InferenceGraph

# The agreement the export promises on float32 input (see to_onnx's Notes).
TOLERANCE = {"rtol": 1e-5, "atol": 1e-5}


@pytest.fixture(scope="module")
def X():
    """Raw rows far from the origin, a tenth of their entries missing."""
    rng = np.random.RandomState(0)
    X = (rng.normal(size=(80, 6)) @ rng.normal(size=(6, 6)) * 3 + 10).astype(np.float32)
    X[rng.uniform(size=X.shape) < 0.1] = np.nan
    return X


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_encoder_module_onnx_and_the_transformer_agree(X):
    estimator = AutoencoderTransformer(n_components=2, network=dense(8), max_steps=20,
                                       **CPU).fit(X)
    rows = torch.as_tensor(X)
    with torch.no_grad():
        encoded = estimator.encoder_module().eval()(rows).numpy()
        graph = _InferenceGraph(estimator, ("transform",))(rows)[0].numpy()
    # The same scaling (scale_rows) and the same network: the same bits.
    np.testing.assert_array_equal(encoded, graph)
    outputs = run_onnx(to_onnx(estimator, method=["transform", "score_samples"]), X)
    np.testing.assert_allclose(outputs["transform"], encoded, **TOLERANCE)
    np.testing.assert_allclose(estimator.transform(X), encoded, **TOLERANCE)
    np.testing.assert_allclose(outputs["score_samples"], estimator.score_samples(X),
                               **TOLERANCE)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_onnx_and_the_detector_give_the_same_scores_and_labels(X):
    detector = AutoencoderOutlierDetector(n_estimators=2, max_steps=10,
                                          **CPU).fit(X)
    scores = detector.score_samples(X)
    outputs = run_onnx(to_onnx(detector, method=["score_samples", "decision_function",
                                             "predict"]), X)
    np.testing.assert_allclose(outputs["score_samples"], scores, **TOLERANCE)
    np.testing.assert_allclose(outputs["decision_function"], detector.decision_function(X),
                               **TOLERANCE)
    # The labels follow the decisions by the same rule on both sides.
    np.testing.assert_array_equal(outputs["predict"], labels(outputs["decision_function"]))
    np.testing.assert_array_equal(detector.predict(X),
                                  labels(decisions(scores, detector.offset_)))
