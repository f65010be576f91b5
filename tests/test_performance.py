"""Performance paths (issue 13): inference in the input's precision, the compiled
training step and its fallback, and ``partial_fit``."""

import copy
import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from skorch.callbacks import Callback

from skae import AutoencoderOutlierDetector, AutoencoderTransformer
from skae._testing import CPU, dense, steps
from skae._training import compile_mode as _compile_mode

FAST = {**CPU, "network": dense(8), "max_steps": 20, "batch_size": 16, "early_stopping": False}


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
def test_float32_input_in_any_memory_layout():
    X = data(dtype=np.float32)
    model = AutoencoderTransformer(**FAST).fit(X[::-1])  # negative strides
    codes = model.transform(X)
    for view in (X[::-1][::-1], np.asfortranarray(X), X.repeat(2, axis=1)[:, ::2]):
        np.testing.assert_allclose(model.transform(view), codes, rtol=1e-5, atol=1e-6)
    readonly = X.copy()
    readonly.flags.writeable = False
    np.testing.assert_allclose(model.transform(readonly), codes, rtol=1e-5, atol=1e-6)


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


# ------------------------------------------------------------------- compile
def _eager_backend_compile(calls):
    """``torch.compile`` with dynamo's eager backend (no C compiler, fast), counted."""
    real = torch.compile

    def compile(module, **kwargs):
        calls.append(kwargs)
        compiled = real(module, backend="eager")

        def counted(*args, **kw):
            calls.append("step")
            return compiled(*args, **kw)

        counted._orig_mod = module
        return counted

    return compile


@pytest.mark.usefixtures("no_convergence_warnings")
def test_compile_runs_the_compiled_step_with_the_eager_results(monkeypatch):
    X = data()
    eager = AutoencoderTransformer(**FAST).fit(X)
    calls = []
    monkeypatch.setattr(torch, "compile", _eager_backend_compile(calls))
    compiled = AutoencoderTransformer(**FAST, compile=True).fit(X)
    assert calls[0] == {"mode": None}  # 'default' on the CPU
    assert calls.count("step") == compiled.n_steps_  # every training step, compiled
    np.testing.assert_allclose(compiled.transform(X), eager.transform(X), rtol=1e-4, atol=1e-5)
    restored = pickle.loads(pickle.dumps(compiled))  # the compiled forward is not pickled
    np.testing.assert_array_equal(restored.transform(X), compiled.transform(X))
    AutoencoderTransformer(**FAST, compile="max-autotune").fit(X)
    assert {"mode": "max-autotune"} in calls


def test_compile_true_means_cuda_graphs_on_cuda():
    assert _compile_mode(True, "cuda:0") == "reduce-overhead"
    assert _compile_mode(True, "cpu") == "default"
    assert _compile_mode("max-autotune", "cpu") == "max-autotune"
    assert _compile_mode(False, "cuda") is None


def _fails_at_compile(module, **kwargs):
    raise RuntimeError("torch.compile is not supported on this platform")


def _fails_at_first_step(module, **kwargs):
    def compiled(*args, **kw):
        raise RuntimeError("InductorError: no working C++ compiler found")

    return compiled


@pytest.mark.usefixtures("no_convergence_warnings")
@pytest.mark.parametrize("failing", [_fails_at_compile, _fails_at_first_step])
def test_compile_failure_warns_and_trains_eagerly(monkeypatch, failing):
    X = data()
    eager = AutoencoderTransformer(**FAST).fit(X)
    monkeypatch.setattr(torch, "compile", failing)
    model = AutoencoderTransformer(**FAST, compile=True)
    with pytest.warns(RuntimeWarning, match="without compiling.*(platform|C\\+\\+ compiler)"):
        model.fit(X)
    # the failed step ran again eagerly: exactly the eager fit
    np.testing.assert_array_equal(model.transform(X), eager.transform(X))
    pickle.loads(pickle.dumps(model))


# --------------------------------------------------------------- partial_fit
CHUNKED = {**CPU, "network": dense(16), "batch_size": 32, "n_components": 3}


def test_partial_fit_over_chunks_approaches_fit_on_the_whole():
    X = load_digits().data  # sorted in runs of the ten digits: shuffle, as for any SGD
    X = X[np.random.RandomState(0).permutation(len(X))]
    epochs = 8
    whole = AutoencoderTransformer(**CHUNKED, max_steps=steps(epochs, len(X), 32))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        whole.fit(X)
    chunked = AutoencoderTransformer(**CHUNKED)
    for _ in range(epochs):
        for chunk in np.array_split(X, 6):
            chunked.partial_fit(chunk)
    # the same number of steps in all, within 15 % of the whole fit's error
    assert chunked.n_steps_ == pytest.approx(whole.n_steps_, abs=6 * epochs)
    assert chunked.score(X) > 1.15 * whole.score(X)  # scores are negative errors
    assert chunked.n_iter_ == 6 * epochs


def test_partial_fit_continues_the_optimiser():
    X = data(n_samples=64)
    model = AutoencoderTransformer(**FAST).partial_fit(X[:32])
    weights = [p.detach().clone() for p in model.net_.module_.parameters()]
    state = model.net_.optimizer_.state
    assert all(int(s["step"]) == 2 for s in state.values())  # 32 rows in batches of 16
    model.partial_fit(X[32:])
    assert model.net_.optimizer_.state is state
    assert all(int(s["step"]) == 4 for s in state.values())
    assert not all(torch.equal(a, b) for a, b in zip(weights, model.net_.module_.parameters()))
    # the scaling is the first chunk's
    np.testing.assert_allclose(model.input_offset_, X[:32].mean(axis=0))


@pytest.mark.usefixtures("no_convergence_warnings")
def test_fit_resets_and_partial_fit_after_fit_continues():
    X = data()
    model = AutoencoderTransformer(**FAST).fit(X)
    net, n_steps = model.net_, model.n_steps_
    model.partial_fit(X)
    assert model.net_ is net and model.n_steps_ == n_steps + 4  # 60 rows, batches of 16
    model.fit(X)
    assert model.net_ is not net and model.n_steps_ == n_steps


@pytest.mark.usefixtures("no_convergence_warnings")
@pytest.mark.parametrize("estimator", [AutoencoderTransformer, AutoencoderOutlierDetector])
def test_partial_fit_after_an_early_stopped_fit(estimator):
    # The chunk's epoch has no validation split: the fit's scores are kept,
    # and the best score no longer describes the weights, so it goes.
    X = data(n_samples=100)
    model = estimator(**{**FAST, "early_stopping": True}).fit(X)
    scores = list(model.validation_scores_)
    assert hasattr(model, "best_validation_score_")
    model.partial_fit(X)
    assert model.validation_scores_ == scores
    assert not hasattr(model, "best_validation_score_")


def test_partial_fit_checks_features_and_parameters():
    X = data()
    model = AutoencoderTransformer(**FAST).partial_fit(X)
    with pytest.raises(ValueError, match="X has 5 features, but AutoencoderTransformer "
                                         "is expecting 6 features"):
        model.partial_fit(X[:, :5])
    with pytest.raises(ValueError, match="n_components changed since it was fitted"):
        model.set_params(n_components=3).partial_fit(X)
    model.set_params(n_components=2, max_steps=7, verbose=0).partial_fit(X)  # fit-only


class _FailAtEpochEnd(Callback):
    def on_epoch_end(self, net, **kwargs):
        if len(net.history) > 1:
            raise KeyboardInterrupt


def test_failed_partial_fit_leaves_the_estimator_as_it_was():
    X = data()
    model = AutoencoderTransformer(**FAST, callbacks=[_FailAtEpochEnd()]).partial_fit(X)
    before = {name: copy.deepcopy(value) for name, value in vars(model).items()
              if name.endswith("_") and name != "net_"}
    codes, steps_before = model.transform(X), copy.deepcopy(model.net_.optimizer_.state_dict())
    with pytest.raises(KeyboardInterrupt):
        model.partial_fit(X)
    assert len(model.net_.history) == 1
    np.testing.assert_array_equal(model.transform(X), codes)
    assert all(int(a["step"]) == int(b["step"]) for a, b in
               zip(model.net_.optimizer_.state_dict()["state"].values(),
                   steps_before["state"].values()))
    assert model.n_steps_ == before["n_steps_"]


@pytest.mark.parametrize("params", [{}, {"objective": "vae"}, {"max_samples": 20}])
def test_detector_partial_fit_sets_its_threshold_from_the_latest_chunk(params):
    X = data(n_samples=120)
    detector = AutoencoderOutlierDetector(**FAST, **params, contamination=0.1)
    detector.partial_fit(X[:60]).partial_fit(X[60:])
    scores = np.sort(detector.score_samples(X[60:]))
    # Half-way between the two scores around the chunk's 10th percentile.
    n_below = np.sum(scores < np.percentile(scores, 10))
    assert scores[n_below - 1] < detector.offset_ < scores[n_below]
    assert np.mean(detector.predict(X[60:]) == -1) == pytest.approx(0.1, abs=0.02)
    if "max_samples" in params:  # 20 rows of each chunk, in batches of 16
        assert detector.n_steps_ == 4


def test_partial_fit_streams_chunks_of_a_memory_mapped_file(tmp_path):
    X = data(n_samples=400).astype(np.float32)
    np.save(tmp_path / "table.npy", X)
    table = np.load(tmp_path / "table.npy", mmap_mode="r")  # read-only, never loaded whole
    model = AutoencoderTransformer(**FAST)
    for start in range(0, len(table), 100):  # dask-ml's Incremental feeds blocks like this
        model.partial_fit(table[start:start + 100])
    assert model.n_iter_ == 4 and model.transform(table).dtype == np.float32


# ------------------------------------------------------------------ overhead
class _CountBatches(Callback):
    def initialize(self):
        self.counts = {"on_batch_begin": 0, "on_batch_end": 0, "on_grad_computed": 0}
        return self

    def on_batch_begin(self, net, **kwargs):
        self.counts["on_batch_begin"] += 1

    def on_batch_end(self, net, **kwargs):
        self.counts["on_batch_end"] += 1

    def on_grad_computed(self, net, named_parameters, **kwargs):
        self.counts["on_grad_computed"] += 1


@pytest.mark.usefixtures("no_convergence_warnings")
def test_user_callbacks_see_every_batch_in_fit_and_partial_fit():
    X = data()
    model = AutoencoderTransformer(**FAST, callbacks=[("count", _CountBatches())]).fit(X)
    counts = dict(model.net_.callbacks_)["count"].counts
    assert counts == dict.fromkeys(counts, model.n_steps_)
    model.partial_fit(X)  # the cached listeners follow callbacks_ when it is replaced
    counts = dict(model.net_.callbacks_)["count"].counts
    assert counts == dict.fromkeys(counts, model.n_steps_)
    history = model.net_.history
    assert [b["train_batch_size"] for b in history[-1, "batches"]] == [16, 16, 16, 12]


# ---------------------------------------------------------------- benchmarks
@pytest.mark.usefixtures("no_convergence_warnings")
def test_benchmark_scripts_run_small(tmp_path, monkeypatch):
    from benchmarks import gpu, inference, overhead, streaming

    rows = inference.main(["--rows", "300", "--repeats", "1", "--out", str(tmp_path)])
    assert set(rows) == {"transform", "inverse_transform", "score_samples",
                         "feature_errors (detector)"}
    assert all(row["speed_ratio"] > 0 for row in rows.values())
    results = overhead.main(["--epochs", "1", "--repeats", "1", "--batch-sizes", "32", "128",
                             "--out", str(tmp_path)])
    assert [r["batch_size"] for r in results] == [32, 128]
    assert "| 32 |" in (tmp_path / "overhead.md").read_text()
    result = streaming.main(["--rows", "3000", "--chunk", "1000", "--out", str(tmp_path)])
    assert result["n_steps"] == 3 * 8  # one epoch of three chunks of 1000 rows, batch 128
    monkeypatch.setattr(torch, "compile", _eager_backend_compile([]))
    device, times = gpu.step_times(epochs=1, n_rows=300, device="cpu")
    assert device == "cpu" and all(seconds > 0 for seconds in times.values())


def test_partial_fit_over_the_blocks_of_a_dask_array():
    # What dask-ml's Incremental does: partial_fit on each block in turn.
    import dask.array as da
    X = da.from_array(data(n_samples=200).astype(np.float32), chunks=(50, -1))
    model = AutoencoderOutlierDetector(**FAST, n_estimators=2)
    for block in X.blocks:
        model.partial_fit(block.compute())
    assert model.n_iter_ == X.numblocks[0] == 4
    assert model.predict(X.compute()).shape == (200,)
