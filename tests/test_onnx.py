"""ONNX export (skae.export): onnxruntime against skae's own outputs."""

import subprocess
import sys

import numpy as np
import onnx
import pandas as pd
import pytest
import skl2onnx
from sklearn.datasets import load_breast_cancer
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skae
from skae import (
    AutoencoderOutlierDetector,
    AutoencoderTransformer,
    ConvNetwork,
    LSTMNetwork,
    VAETransformer,
    to_onnx,
)
from skae._testing import CPU, dense, run_onnx
from skae.export import register_skl2onnx

# The agreement the export promises on float32 input (see to_onnx's Notes).
TOLERANCE = {"rtol": 1e-5, "atol": 1e-5}

# Tiny networks of every family over rows of 16 features (a 4x4 image, a
# window of 4 steps of 4 features).
NETWORKS = {
    "dense": dense(8),
    "conv": ConvNetwork(input_shape=(1, 4, 4), channels=(2,), kernel_size=3),
    "lstm": LSTMNetwork(input_shape=(4, 4), hidden_layer_sizes=(4,)),
}
FAST = {**CPU, "max_steps": 20}


@pytest.fixture(scope="module")
def X():
    # Raw rows in the units of no scaler, so that the folded scaling matters.
    rng = np.random.RandomState(0)
    return (rng.normal(size=(60, 16)) * 5 + 20).astype(np.float32)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("network", ["dense", "conv", "lstm"])
def test_transformer_methods_match_skae(X, network):
    ae = AutoencoderTransformer(n_components=3, network=NETWORKS[network], **FAST).fit(X)
    weights = {name: value.clone() for name, value in ae.net_.module_.state_dict().items()}

    model = to_onnx(ae, method=["transform", "score_samples"])
    outputs = run_onnx(model, X)
    np.testing.assert_allclose(outputs["transform"], ae.transform(X), **TOLERANCE)
    np.testing.assert_allclose(outputs["score_samples"], ae.score_samples(X), **TOLERANCE)
    codes = ae.transform(X)
    reconstructed = run_onnx(to_onnx(ae, method="inverse_transform"), codes)["inverse_transform"]
    np.testing.assert_allclose(reconstructed, ae.inverse_transform(codes), **TOLERANCE)
    # The batch dimension is dynamic (traced on 2 rows), and exporting changed nothing.
    for rows in (X[:1], X[:7]):
        np.testing.assert_allclose(run_onnx(model, rows)["transform"], ae.transform(rows),
                                   **TOLERANCE)
    for name, value in ae.net_.module_.state_dict().items():
        assert value.equal(weights[name])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("network", ["dense", "conv"])
def test_detector_methods_match_skae(X, network):
    detector = AutoencoderOutlierDetector(n_estimators=3, network=NETWORKS[network],
                                          **FAST).fit(X)
    X_test = X + np.float32(3) * np.random.RandomState(1).normal(size=X.shape).astype(np.float32)
    outputs = run_onnx(to_onnx(detector, method=["score_samples", "decision_function", "predict"]),
                  X_test)
    np.testing.assert_allclose(outputs["score_samples"], detector.score_samples(X_test),
                               **TOLERANCE)
    np.testing.assert_allclose(outputs["decision_function"],
                               detector.decision_function(X_test), **TOLERANCE)
    assert outputs["predict"].dtype == np.int64
    np.testing.assert_array_equal(outputs["predict"], detector.predict(X_test))
    assert set(outputs["predict"]) == {-1, 1}


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_variational_models_export_the_mean_code_and_the_elbo(X):
    # ELBO scores are sums over the features of log-densities, tens of nats:
    # float32 agrees with them to a relative 1e-5, not to 1e-5 nats.
    vae = VAETransformer(n_components=2, network=dense(8), **FAST).fit(X)
    outputs = run_onnx(to_onnx(vae, method=["transform", "score_samples"]), X)
    np.testing.assert_allclose(outputs["transform"], vae.transform(X), **TOLERANCE)
    np.testing.assert_allclose(outputs["score_samples"], vae.score_samples(X), rtol=1e-5)
    assert np.abs(vae.score_samples(X)).min() > 10
    detector = AutoencoderOutlierDetector(n_estimators=1, objective="vae", network=dense(8),
                                          **FAST).fit(X)
    np.testing.assert_allclose(run_onnx(to_onnx(detector), X)["score_samples"],
                               detector.score_samples(X), **TOLERANCE)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_path_and_target_opset(X, tmp_path):
    # Fitted on float64: the model still computes in float32, on float32 rows.
    ae = AutoencoderTransformer(n_components=2, network=dense(), **FAST).fit(
        X.astype(np.float64))
    path = tmp_path / "ae.onnx"
    model = to_onnx(ae, path, target_opset=18)
    loaded = onnx.load(path)
    assert loaded.SerializeToString() == model.SerializeToString()
    assert [entry.version for entry in loaded.opset_import if entry.domain == ""] == [18]
    assert (loaded.producer_name, loaded.producer_version) == ("skae", skae.__version__)
    np.testing.assert_allclose(run_onnx(loaded, X)["transform"], ae.transform(X), **TOLERANCE)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_bad_calls_raise_clear_errors(X):
    with pytest.raises(NotFittedError):
        to_onnx(AutoencoderTransformer())
    with pytest.raises(TypeError, match="skl2onnx"):
        to_onnx(PCA(n_components=2).fit(X))
    ae = AutoencoderTransformer(n_components=2, network=dense(), **FAST).fit(X)
    with pytest.raises(ValueError, match="method must be one of"):
        to_onnx(ae, method="predict")
    with pytest.raises(ValueError, match="method must be one of"):
        to_onnx(ae, method=["transform", "transform"])
    with pytest.raises(ValueError, match="graph of its own"):
        to_onnx(ae, method=["transform", "inverse_transform"])
    with pytest.raises(ValueError, match="target_opset"):
        to_onnx(ae, target_opset=0)
    for method in (3, [3], None.__class__, ("transform", 1)):
        with pytest.raises(ValueError, match="method must be one of"):
            to_onnx(ae, method=method)
    with pytest.raises(ValueError, match="from 1 to"):
        to_onnx(ae, target_opset=onnx.defs.onnx_opset_version() + 1)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_target_opset_is_honoured_or_refused(X):
    """torch's exporter falls back to its own opset where it cannot convert."""
    ae = AutoencoderTransformer(n_components=2, network=dense(), **FAST).fit(X)
    model = to_onnx(ae, target_opset=17)
    assert [entry.version for entry in model.opset_import if entry.domain == ""] == [17]
    with pytest.raises(ValueError, match="target_opset=12 cannot be honoured.*wrote opset"):
        to_onnx(ae, target_opset=12)


def test_the_skl2onnx_converter_of_an_unfitted_estimator_says_so(X):
    register_skl2onnx()
    for estimator in (AutoencoderTransformer(), AutoencoderOutlierDetector()):
        with pytest.raises(NotFittedError):
            skl2onnx.to_onnx(estimator, X[:1])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_missing_extra_names_it(X, monkeypatch):
    # import skae (and skae.export) needs none of the onnx extra.
    blocked = ["onnx", "onnxscript", "onnxruntime", "skl2onnx"]
    code = (f"import sys; sys.modules.update(dict.fromkeys({blocked!r})); "
            "import skae, skae.export; skae.to_onnx, skae.export.register_skl2onnx")
    subprocess.run([sys.executable, "-c", code], check=True)
    ae = AutoencoderTransformer(n_components=2, network=dense(), **CPU, max_steps=1).fit(X)
    monkeypatch.setitem(sys.modules, "onnxscript", None)  # import onnxscript fails
    with pytest.raises(ImportError, match=r"pip install skae\[onnx\]"):
        to_onnx(ae)
    with pytest.raises(ImportError, match=r"pip install skae\[onnx\]"):
        register_skl2onnx()


# ------------------------------------------------------------------ skl2onnx
@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return X.astype(np.float32), y


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("transformer", [AutoencoderTransformer, VAETransformer])
def test_classifier_pipeline_exports_whole(cancer, transformer):
    register_skl2onnx()
    X, y = cancer
    pipe = make_pipeline(StandardScaler(),
                         transformer(n_components=3, network=dense(8), **FAST),
                         LogisticRegression()).fit(X, y)
    model = skl2onnx.to_onnx(pipe, X[:1], options={"zipmap": False})
    outputs = run_onnx(model, X)
    np.testing.assert_array_equal(outputs["label"], pipe.predict(X))
    np.testing.assert_allclose(outputs["probabilities"], pipe.predict_proba(X), **TOLERANCE)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_converter_takes_one_float32_input(X):
    register_skl2onnx()
    ae = AutoencoderTransformer(n_components=2, network=dense(), **CPU, max_steps=1).fit(X)
    with pytest.raises(TypeError, match="float32"):
        skl2onnx.to_onnx(ae, X[:1].astype(np.float64))
    frame = pd.DataFrame(X[:, :3], columns=["a", "b", "c"])
    ae.fit(frame)
    with pytest.raises(RuntimeError, match="one input tensor"):
        skl2onnx.to_onnx(ae, frame[:1])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_detector_pipeline_exports_labels_and_scores(cancer):
    register_skl2onnx()
    X, _ = cancer
    pipe = make_pipeline(StandardScaler(),
                         AutoencoderOutlierDetector(n_estimators=2, network=dense(8),
                                                    **FAST)).fit(X)
    # As skl2onnx converts IsolationForest: label and decision_function.
    outputs = run_onnx(skl2onnx.to_onnx(pipe, X[:1]), X)
    assert set(outputs) == {"label", "scores"}
    np.testing.assert_array_equal(outputs["label"], pipe.predict(X))
    np.testing.assert_allclose(outputs["scores"], pipe.decision_function(X), **TOLERANCE)
    # The converter option adds score_samples.
    model = skl2onnx.to_onnx(pipe, X[:1], options={AutoencoderOutlierDetector:
                                                   {"score_samples": True}})
    np.testing.assert_allclose(run_onnx(model, X)["score_samples"], pipe.score_samples(X),
                               **TOLERANCE)
