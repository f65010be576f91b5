"""Reliability: precision, interrupts, private randomness, memory, devices,
early stopping, the inference copy, callbacks and persistence (issue 11).

Every test fits tiny networks for a few steps on small data made here.
Run as a script, the file measures the extra peak memory of ``transform`` on
a 20,000 x 500 float32 input (see :func:`measure_transform_memory`).
"""

import copy
import pickle
import threading
import tracemalloc
from typing import ClassVar

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from skorch.callbacks import Callback, EarlyStopping, LRScheduler

from skae import AutoencoderOutlierDetector, AutoencoderTransformer, VAETransformer
from skae._data import ArrayDataset
from skae._device import available_devices
from skae._inference import INFERENCE_BATCH_SIZE as _INFERENCE_BATCH_SIZE
from skae._inference import map_batches
from skae.networks import DenseNetwork

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def small(estimator=AutoencoderTransformer, *, hidden=(8,), dropout=0.0, linear_path="auto",
          **params):
    """A tiny, fast estimator: 4 steps an epoch on 40 rows, 8 epochs."""
    params = {"n_components": 2, "batch_size": 10, "max_steps": 32,
              "learning_rate": 1e-2, "random_state": 0, "device": "cpu", **params}
    return estimator(network=DenseNetwork(hidden_layer_sizes=hidden, dropout=dropout,
                                          linear_path=linear_path), **params)


def data(n_samples=40, n_features=5, seed=0, dtype=np.float64):
    rng = np.random.RandomState(seed)
    return (rng.standard_normal((n_samples, 2)) @ rng.standard_normal((2, n_features))
            + 0.1 * rng.standard_normal((n_samples, n_features))).astype(dtype)


# ------------------------------------------------------------------ precision
def test_large_offset_costs_no_precision():
    Z = data()
    # Without the PCA start: at PCA's optimum Adam's normalised steps turn
    # differences of 1e-8 in the gradient into steps of the learning rate.
    codes = small(linear_path=False).fit(Z).transform(Z)
    shifted = 1e6 + 0.01 * Z
    shifted_codes = small(linear_path=False).fit(shifted).transform(shifted)
    np.testing.assert_allclose(shifted_codes, codes, atol=1e-4)


@pytest.mark.parametrize("value, dtype", [(3e38, np.float32), (1e100, np.float64)])
def test_huge_finite_values_train_after_standard_scaling(value, dtype):
    X = (data() / np.abs(data()).max() * value).astype(dtype)
    assert np.isfinite(X).all()
    model = small(scaling="standard").fit(X)
    assert np.isfinite(model.transform(X)).all()
    assert np.isfinite(model.score_samples(X)).all()


@pytest.mark.parametrize("value, dtype", [(3e38, np.float32), (1e100, np.float64)])
def test_values_too_large_for_float32_name_the_cause(value, dtype):
    X = (data() / np.abs(data()).max() * value).astype(dtype)
    with pytest.raises(ValueError, match="after scaling") as info:
        small(scaling=None).fit(X)
    assert "learning_rate" not in str(info.value)


# ------------------------------------------------------------------ Ctrl-C
class InterruptAt(Callback):
    """Raise KeyboardInterrupt at the end of epoch ``epoch`` (from 1)."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == self.epoch:
            raise KeyboardInterrupt


class CountFits(Callback):
    """Count the trainings that begin, in a list shared by all copies."""

    started: ClassVar[list] = []

    def on_train_begin(self, net, **kwargs):
        self.started.append(1)


@pytest.mark.parametrize("epoch", [1, 3])
def test_interrupt_stops_a_first_fit(epoch):
    X = data()
    model = small(callbacks=[InterruptAt(epoch)])
    with pytest.raises(KeyboardInterrupt):
        model.fit(X)
    with pytest.raises(NotFittedError):
        model.transform(X)


def test_interrupt_leaves_a_refit_model_as_it_was():
    X = data()
    model = small().fit(X)
    codes = model.transform(X)
    model.set_params(callbacks=[InterruptAt(2)], random_state=1)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X)
    np.testing.assert_array_equal(model.transform(X), codes)


def test_interrupt_stops_pretraining(monkeypatch):
    from skae._torch_modules import SequentialAutoencoder

    forward = SequentialAutoencoder.forward
    calls = {"pretraining": 0, "fine_tuning": 0}

    def interrupted(self, x):
        if type(self) is SequentialAutoencoder:  # a layer pair of pre-training
            calls["pretraining"] += 1
            if calls["pretraining"] == 3:
                raise KeyboardInterrupt
        else:
            calls["fine_tuning"] += 1
        return forward(self, x)

    monkeypatch.setattr(SequentialAutoencoder, "forward", interrupted)
    with pytest.raises(KeyboardInterrupt):
        small(hidden=(6, 4), pretrain_epochs=2).fit(data())
    assert calls == {"pretraining": 3, "fine_tuning": 0}


def test_interrupt_stops_a_search():
    CountFits.started.clear()
    search = GridSearchCV(small(callbacks=[CountFits(), InterruptAt(2)]),
                          {"learning_rate": [1e-2, 2e-2, 3e-2]}, cv=2, error_score=np.nan)
    with pytest.raises(KeyboardInterrupt):
        search.fit(data())
    assert len(CountFits.started) == 1


@pytest.mark.parametrize("stopper", ["builtin", "skorch"])
def test_stopping_rules_still_end_fit_normally(stopper):
    if stopper == "builtin":
        model = small(n_iter_no_change=2, tol=10.0, max_steps=400)
    else:
        model = small(callbacks=[EarlyStopping(monitor="train_loss", patience=2,
                                               threshold=10.0, threshold_mode="abs")],
                      max_steps=400)
    model.fit(data())
    assert model.n_iter_ == 3
    assert len(model.loss_curve_) == model.n_iter_


# ---------------------------------------------------------- RNG and threads
_BARRIER = {"barrier": None}


class Lockstep(Callback):
    """Make concurrent fits wait for each other at every epoch end."""

    def on_epoch_end(self, net, **kwargs):
        barrier = _BARRIER["barrier"]
        if barrier is not None:
            barrier.wait(timeout=60)


RANDOM_CONFIGS = {
    "denoising+dropout": {"estimator": AutoencoderTransformer, "dropout": 0.3,
                          "noise_std": 0.3, "mask_probability": 0.2},
    "vae+dropout": {"estimator": VAETransformer, "dropout": 0.3, "noise_std": 0.3},
}


@pytest.mark.parametrize("config", RANDOM_CONFIGS)
def test_fits_in_threads_match_a_sequential_fit(config):
    X = data()

    def fit():
        return small(**RANDOM_CONFIGS[config], callbacks=[Lockstep()]).fit(X).transform(X)

    torch_state = torch.random.get_rng_state()
    numpy_state = np.random.get_state()
    expected = fit()
    results = [None, None]

    def run(i):
        results[i] = fit()

    _BARRIER["barrier"] = threading.Barrier(2)
    try:
        threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        _BARRIER["barrier"] = None
    for result in results:
        np.testing.assert_array_equal(result, expected)
    assert torch.equal(torch.random.get_rng_state(), torch_state)
    assert all(np.array_equal(a, b) if isinstance(a, np.ndarray) else a == b
               for a, b in zip(np.random.get_state(), numpy_state))


def test_noise_and_dropout_do_not_use_the_global_generator():
    X = data()
    torch.manual_seed(123)
    reference = torch.rand(3)
    torch.manual_seed(123)
    small(dropout=0.3, noise_std=0.3, mask_probability=0.2).fit(X)
    small(VAETransformer, dropout=0.3).fit(X)
    assert torch.equal(torch.rand(3), reference)


# ------------------------------------------------------------------ memory
def test_transform_memory_is_bounded_by_the_batch():
    # tracemalloc sees NumPy's allocations (where the scaling happens), not
    # torch's; a float64 copy of all of X would be 8 * n * d bytes.
    n_samples, n_features = 40_000, 20
    X = np.random.RandomState(0).standard_normal((n_samples, n_features)).astype(np.float32)
    model = small(n_iter_no_change=100).fit(X[:40])
    model.transform(X[:10])  # builds the inference copy
    tracemalloc.start()
    try:
        model.transform(X)
        model.score_samples(X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    batch_bytes = _INFERENCE_BATCH_SIZE * n_features * 8
    assert peak < 4 * batch_bytes < X.size * 8


def test_an_ensemble_shares_one_inference_batch_among_its_members():
    """8 members at 4,096 rows each held 8 networks' batches at once (6x the input)."""
    X = data(n_samples=1200, dtype=np.float32)
    detector = AutoencoderOutlierDetector(n_estimators=8, max_steps=5, device="cpu",
                                          random_state=0).fit(X[:40])
    single = small().fit(X[:40])
    for estimator, members in ((detector, 8), (single, 1)):
        sizes = []

        def record(scorer, inputs, target, sizes=sizes):
            sizes.append(len(inputs))
            return inputs[:, 0]

        map_batches(vars(estimator), np.tile(X, (8, 1)), record)
        assert max(sizes) == _INFERENCE_BATCH_SIZE // members


# ------------------------------------------------------------------ devices
@pytest.mark.parametrize("device", ["xpu", "hpu", "meta", "mps", "cuda", "cuda:7", "tpu"])
def test_unavailable_devices_are_refused_clearly(device):
    if device in available_devices():
        pytest.skip(f"{device} is available here")
    if device == "cuda:7" and torch.cuda.device_count() > 7:
        pytest.skip("this machine has 8 CUDA devices")
    model = small(device=device)
    with pytest.raises(ValueError, match=r"device=.*this machine has cpu"):
        model.fit(data())
    with pytest.raises(NotFittedError):
        model.transform(data())


# ------------------------------------------------------------ early stopping
class RecordWeights(Callback):
    """Keep the module's weights at the end of every epoch's training, by epoch
    (from 1), in a dict shared by all copies."""

    weights: ClassVar[dict] = {}

    def on_batch_end(self, net, batch=None, training=False, **kwargs):
        if training:
            self.weights[len(net.history)] = copy.deepcopy(net.module_.state_dict())


def test_early_stopping_keeps_the_best_epoch():
    RecordWeights.weights.clear()
    X = data(n_samples=200)
    tol = 0.02
    model = small(early_stopping=True, validation_fraction=0.3, tol=tol, linear_path=False,
                  n_iter_no_change=3, learning_rate=3e-3, max_steps=2000,
                  batch_size=20, callbacks=[RecordWeights()]).fit(X)
    scores = model.validation_scores_
    best = int(np.argmax(scores))
    # The best epoch improved on the last epoch that improved by tol by less than tol,
    # so a stopping rule that keeps the last epoch improving by tol keeps another.
    last_by_tol, threshold = 0, -np.inf
    for epoch, score in enumerate(scores):
        if score > threshold:
            last_by_tol, threshold = epoch, score + tol
    assert best != last_by_tol
    assert model.best_validation_score_ == scores[best]
    kept = model.net_.module_.state_dict()
    for name, value in RecordWeights.weights[best + 1].items():
        torch.testing.assert_close(kept[name], value, rtol=0, atol=0)


def test_vae_early_stopping_describes_the_weights_it_keeps():
    # During the KL warm-up the loss is not the final objective: those epochs
    # are neither kept nor reported.
    RecordWeights.weights.clear()
    warmup = 3
    model = small(VAETransformer, early_stopping=True, validation_fraction=0.3,
                  kl_warmup_epochs=warmup, n_iter_no_change=3, max_steps=160,
                  callbacks=[RecordWeights()]).fit(data(n_samples=100))
    scores = model.validation_scores_
    best = warmup + int(np.argmax(scores[warmup:]))
    assert model.best_validation_score_ == scores[best]
    kept = model.net_.module_.state_dict()
    for name, value in RecordWeights.weights[best + 1].items():
        torch.testing.assert_close(kept[name], value, rtol=0, atol=0)


# ------------------------------------------------------ stale inference copy
def test_inference_copy_follows_partial_fit():
    X = data()
    model = small().fit(X)
    before = model.transform(X)
    dataset = ArrayDataset(X, model.input_offset_, model.input_scale_, "cpu")
    model.net_.partial_fit(dataset)
    after = model.transform(X)
    assert not np.allclose(after, before)
    module = copy.deepcopy(model.net_.module_).double().eval()
    scaled = torch.from_numpy((X - model.input_offset_) / model.input_scale_)
    with torch.no_grad():
        np.testing.assert_allclose(after, module.encode(scaled).numpy(), rtol=1e-6, atol=1e-9)


def test_inference_copy_follows_load_params(tmp_path):
    X = data()
    model, other = small().fit(X), small(random_state=1).fit(X)
    model.transform(X)  # the inference copy of the old weights
    other.net_.save_params(f_params=tmp_path / "params.pt")
    model.net_.load_params(f_params=tmp_path / "params.pt")
    np.testing.assert_allclose(model.transform(X), other.transform(X), rtol=1e-6, atol=1e-9)


# ---------------------------------------------------------------- callbacks
@pytest.mark.parametrize("estimator", [AutoencoderTransformer, VAETransformer])
def test_plain_and_tuple_callbacks(estimator):
    X = data()
    schedules = (LRScheduler(policy="StepLR", step_size=1, gamma=0.5),
                 LRScheduler(policy="StepLR", step_size=2, gamma=0.5))
    for callbacks in (list(schedules), schedules, [("lr", schedules[0])]):
        model = small(estimator, callbacks=callbacks).fit(X)
        assert np.isfinite(model.transform(X)).all()
    assert model.callbacks[0][1] is schedules[0]  # the parameter is not modified


# ---------------------------------------------------------------- security
def test_parameters_load_without_running_code(tmp_path):
    X = data()
    model = small().fit(X)
    assert model.net_.torch_load_kwargs == {"weights_only": True}
    model.net_.save_params(f_params=tmp_path / "params.pt")
    fresh = small(random_state=1).fit(X)
    fresh.net_.load_params(f_params=tmp_path / "params.pt")
    np.testing.assert_array_equal(fresh.transform(X), model.transform(X))
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.transform(X), model.transform(X))


# ------------------------------------------------- memory figure, as a script
def measure_transform_memory(n_samples=20_000, n_features=500, method="transform"):
    """Extra peak RSS of ``method`` on an ``n_samples x n_features`` float32 input.

    RSS is sampled every millisecond in a thread while ``transform`` runs;
    torch's allocations are in RSS but not in tracemalloc.

    Returns
    -------
    input_mib, extra_peak_mib : float
    """
    import time

    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * 4096

    X = np.random.RandomState(0).standard_normal((n_samples, n_features)).astype(np.float32)
    model = small(n_iter_no_change=100, max_steps=20).fit(X[:500])
    model.transform(X[:10])  # the float64 inference copy, made once per model
    peak, running = [0], [True]

    def sample():
        while running[0]:
            peak[0] = max(peak[0], rss())
            time.sleep(0.001)

    before = rss()
    sampler = threading.Thread(target=sample)
    sampler.start()
    getattr(model, method)(X)
    running[0] = False
    sampler.join()
    return X.nbytes / 2**20, (max(peak[0], rss()) - before) / 2**20


if __name__ == "__main__":
    import sys

    method = sys.argv[1] if len(sys.argv) > 1 else "transform"
    input_mib, extra_mib = measure_transform_memory(method=method)
    print(f"input {input_mib:.1f} MiB; extra peak RSS of {method} {extra_mib:.1f} MiB "
          f"({extra_mib / input_mib:.2f}x the input)")


@pytest.mark.parametrize("estimator", [
    AutoencoderOutlierDetector(n_estimators=2, max_steps=5, loss="mse", device="cpu",
                               random_state=0),
    AutoencoderTransformer(n_components=2, max_steps=5, device="cpu", random_state=0)])
def test_scoring_finite_input_that_overflows_names_the_overflow(estimator):
    """Rows of +-1e37 pass the input checks, scaled too; their errors overflow.

    They used to score -inf or NaN silently.
    """
    X = data(dtype=np.float32)
    fitted = estimator.fit(X)
    huge = np.where(np.arange(X.shape[1]) % 2, 1e37, -1e37).astype(np.float32)
    rows = np.vstack([X[:3], huge])
    assert np.isfinite(rows).all()
    with pytest.raises(ValueError, match="outputs overflow on this finite input"):
        fitted.score_samples(rows)
    assert np.isfinite(fitted.score_samples(X)).all()
