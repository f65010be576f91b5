"""Beyond one process (issue 14): tuning on a Dask cluster, scoring Dask collections,
data-parallel training with torch.distributed.

One ``LocalCluster`` of two worker processes serves the whole module; the
data-parallel fits start two gloo processes each (``fit_data_parallel``) or
run in a one-process group inside the test process.
"""

import io
import json
import os
import pickle

import dask.array as da
import dask.dataframe as dd
import joblib
import numpy as np
import pandas as pd
import pytest
import torch
import torch.distributed as dist
from distributed import Client, LocalCluster, get_task_stream
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from skorch.callbacks import Callback
from torch.nn.parallel import DistributedDataParallel

from skae import AutoencoderOutlierDetector, AutoencoderTransformer, VAETransformer
from skae._testing import CPU, dense
from skae.distributed import (
    fit_data_parallel,
    fit_in_process_group,
    map_blocks,
    worker_environment,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

#: Settings of a fast transformer fit.
FAST = {"n_components": 3, "network": dense(8), "max_steps": 40, "batch_size": 32, **CPU}


@pytest.fixture(scope="module")
def X():
    return load_digits().data[:480]


@pytest.fixture(scope="module")
def client():
    """Two worker processes of one thread each, started and closed here."""
    with worker_environment(), \
            LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                         dashboard_address=None) as cluster, \
            Client(cluster, set_as_default=False) as client:
        yield client


def test_workers_started_under_worker_environment_keep_large_allocations(client):
    # Dask's default MALLOC_TRIM_THRESHOLD_=65536 alone made inference 2.8x slower.
    environments = client.run(lambda: {name: os.environ.get(name)
                                       for name in ("MALLOC_TRIM_THRESHOLD_",
                                                    "MALLOC_MMAP_THRESHOLD_")})
    assert list(environments.values()) == [{"MALLOC_TRIM_THRESHOLD_": str(2**30),
                                            "MALLOC_MMAP_THRESHOLD_": str(2**25)}] * 2


@pytest.fixture(scope="module")
def fitted(X):
    return {"transformer": AutoencoderTransformer(**FAST).fit(X),
            "detector": AutoencoderOutlierDetector(n_estimators=3, network=dense(8),
                                                   max_steps=40, **CPU).fit(X)}


def _global_rng_state():
    return np.random.get_state()[1].copy(), torch.get_rng_state().clone()


def _assert_rng_state_unchanged(before):
    after = _global_rng_state()
    np.testing.assert_array_equal(before[0], after[0])
    assert torch.equal(before[1], after[1])


# ------------------------------------------------------------------- tuning
def test_grid_search_on_dask_workers_equals_n_jobs_1(client, X):
    def search(n_jobs):
        return GridSearchCV(AutoencoderTransformer(**FAST),
                            {"n_components": [2, 4], "learning_rate": [1e-3, 1e-2]},
                            cv=3, n_jobs=n_jobs)

    local = search(1).fit(X)
    before = _global_rng_state()
    with get_task_stream(client) as stream, \
            joblib.parallel_config(backend="dask", client=client):
        remote = search(-1).fit(X)
    _assert_rng_state_unchanged(before)
    assert len(stream.data) >= 12  # the 12 fits ran on the workers
    scores = [key for key in local.cv_results_ if key.endswith("_test_score")]
    assert "split2_test_score" in scores
    for key in scores:
        np.testing.assert_array_equal(remote.cv_results_[key], local.cv_results_[key])
    assert remote.best_params_ == local.best_params_
    np.testing.assert_array_equal(remote.transform(X), local.transform(X))


# ------------------------------------------------------------------ scoring
METHODS = [("transformer", "transform"), ("transformer", "inverse_transform"),
           ("transformer", "score_samples"), ("detector", "score_samples"),
           ("detector", "decision_function"), ("detector", "predict"),
           ("detector", "feature_errors")]


@pytest.mark.parametrize("scheduler", ["threads", "cluster"])
@pytest.mark.parametrize(("name", "method"), METHODS)
def test_map_blocks_equals_the_in_memory_result(fitted, X, client, scheduler, name, method):
    estimator = fitted[name]
    data = estimator.transform(X) if method == "inverse_transform" else X
    chunked = da.from_array(data, chunks=(40, 16))  # 12 row chunks, split columns
    result = map_blocks(estimator, chunked, method)
    expected = getattr(estimator, method)(data)
    assert result.numblocks[0] == 12
    assert (result.shape, result.dtype) == (expected.shape, expected.dtype)
    computed = (result.compute(scheduler="threads") if scheduler == "threads"
                else client.compute(result).result())
    np.testing.assert_array_equal(computed, expected)


def test_map_blocks_puts_the_model_in_the_graph_once(fitted, X):
    estimator = fitted["detector"]
    result = map_blocks(estimator, da.from_array(X, chunks=(40, -1)), "score_samples")
    graph = dict(result.__dask_graph__())
    model = [key for key in graph if str(key).startswith("AutoencoderOutlierDetector-")]
    assert len(model) == 1
    scores = [task for key, task in graph.items() if key[0] == result.name]
    assert len(scores) == 12 and all(model[0] in task.dependencies for task in scores)
    assert len(graph) == 1 + 2 * 12  # the model, the 12 chunks, the 12 scores


def test_map_blocks_keeps_float32(fitted, X):
    X32 = X.astype(np.float32)
    estimator = fitted["transformer"]
    result = map_blocks(estimator, da.from_array(X32, chunks=40))
    assert result.dtype == np.float32
    np.testing.assert_allclose(result.compute(scheduler="threads"),
                               estimator.transform(X32), rtol=1e-5, atol=1e-5)


def test_map_blocks_on_a_dask_dataframe(X, client):
    frame = pd.DataFrame(X, columns=[f"pixel{i}" for i in range(X.shape[1])])
    frame = frame.sort_values("pixel10", kind="stable")
    model = AutoencoderTransformer(**FAST).fit(frame)
    parts = dd.from_pandas(frame, npartitions=12, sort=False)
    codes = map_blocks(model, parts)
    assert list(codes.columns) == list(model.get_feature_names_out())
    pd.testing.assert_frame_equal(
        client.compute(codes).result(),
        pd.DataFrame(model.transform(frame), index=frame.index, columns=codes.columns))
    # Filtering leaves some partitions empty: they give empty outputs.
    kept = parts[parts["pixel10"] > 8]
    scores = map_blocks(model, kept, "score_samples").compute(scheduler="threads")
    assert scores.name == "score_samples"
    selected = frame[frame["pixel10"] > 8]
    assert 0 < len(selected) < len(frame)
    pd.testing.assert_series_equal(
        scores, pd.Series(model.score_samples(selected), index=selected.index,
                          name="score_samples"))


def test_map_blocks_errors(fitted, X):
    transformer = fitted["transformer"]
    with pytest.raises(TypeError, match="dask.array.Array or a dask.dataframe.DataFrame"):
        map_blocks(transformer, X)
    with pytest.raises(ValueError, match="has no method 'decision_function'"):
        map_blocks(transformer, da.from_array(X), "decision_function")
    with pytest.raises(ValueError, match="method must be one of"):
        map_blocks(transformer, da.from_array(X), "fit")
    with pytest.raises(ValueError, match="expecting 2-D input with 3 columns"):
        map_blocks(transformer, da.from_array(X), "inverse_transform")
    with pytest.raises(ValueError, match="1 dimension"):
        map_blocks(transformer, da.from_array(X[:, 0]))
    with pytest.raises(NotFittedError):
        map_blocks(AutoencoderTransformer(), da.from_array(X))


# ----------------------------------------------------------------- training
@pytest.fixture
def one_process_group(tmp_path):
    """A gloo process group of one process: this one."""
    dist.init_process_group("gloo", init_method=f"file://{tmp_path}/rendezvous",
                            rank=0, world_size=1)
    yield
    dist.destroy_process_group()


def _assert_same_model(model, reference):
    for name in ("input_offset_", "input_scale_", "loss_curve_", "n_steps_"):
        np.testing.assert_array_equal(getattr(model, name), getattr(reference, name))
    for ours, theirs in zip(model.net_.module_.state_dict().values(),
                            reference.net_.module_.state_dict().values()):
        assert torch.equal(ours, theirs)


def _assert_ordinary_estimator(model, params):
    assert model.get_params() == params
    assert "skae_data_parallel" not in dict(model.net_.callbacks_)
    # The bare module, not its DistributedDataParallel wrapper of training.
    assert not isinstance(model.net_.module_, DistributedDataParallel)
    assert not any(key.startswith("module.") for key in model.net_.module_.state_dict())
    assert pickle.loads(pickle.dumps(model)).device_ == "cpu"


class _RecordTrainingModule(Callback):
    """Records the type of the net's module, and its code width, at each training batch."""

    def on_batch_end(self, net, training=False, batch=None, **kwargs):
        if training:
            with torch.no_grad():
                width = net.module_.encode(batch[0]).shape[1]
            self.seen_.append((type(net.module_), width))

    def on_train_begin(self, net, **kwargs):
        self.seen_ = []


def test_training_steps_run_through_distributed_data_parallel(one_process_group, X):
    params = {**FAST, "callbacks": [("record", _RecordTrainingModule())], "max_steps": 5}
    model = fit_in_process_group(AutoencoderTransformer(**params), X)
    seen = dict(model.net_.callbacks_)["record"].seen_
    # DDP's forward for the gradients, the module's own encode beside it.
    assert seen and all(issubclass(kind, DistributedDataParallel) and width == 3
                        for kind, width in seen)
    assert not isinstance(model.net_.module_, DistributedDataParallel)


@pytest.mark.parametrize("estimator", [
    AutoencoderTransformer(**FAST),
    AutoencoderTransformer(**{**FAST, "early_stopping": True, "scaling": "minmax"}),
    VAETransformer(n_components=2, network=dense(8), max_steps=40, **CPU),
    AutoencoderOutlierDetector(n_estimators=3, network=dense(8), max_steps=40,
                               contamination=0.1, **CPU),
], ids=["transformer", "early-stopping-minmax", "vae", "detector"])
def test_a_one_process_group_gives_the_plain_fit(one_process_group, X, estimator):
    # With one process every reduction is the identity: the hooks must
    # change nothing (statistics, seeds, steps, stopping, threshold).
    estimator = clone(estimator)
    reference = clone(estimator).fit(X)
    params = estimator.get_params()
    assert fit_in_process_group(estimator, X) is estimator
    _assert_same_model(estimator, reference)
    _assert_ordinary_estimator(estimator, params)
    if isinstance(estimator, AutoencoderOutlierDetector):
        assert estimator.offset_ == reference.offset_
        np.testing.assert_array_equal(estimator.member_scale_, reference.member_scale_)


def test_data_parallel_fits_leave_the_global_rng_alone(one_process_group, X):
    before = _global_rng_state()
    fit_in_process_group(AutoencoderTransformer(**{**FAST, "random_state": None}), X)
    _assert_rng_state_unchanged(before)


def test_full_batch_on_two_processes_is_the_full_batch_fit_on_all_rows(X):
    # Each process takes one full batch of its half; the average of the two
    # halves' gradients is the gradient of the whole batch, and the scaling
    # statistics are those of all rows: the one-process full-batch fit.
    half = len(X) // 2
    # Each process would hold out its own validation rows. At the PCA start,
    # Adam's normalised steps would turn the last-digit differences of the
    # summed moments into steps of the learning rate: no start here.
    params = {**FAST, "batch_size": half, "max_steps": 25, "early_stopping": False,
              "network": dense(8, linear_path=False)}
    reference = AutoencoderTransformer(**{**params, "batch_size": len(X)}).fit(X)
    frame = pd.DataFrame(X, columns=[f"pixel{i}" for i in range(X.shape[1])])
    model = fit_data_parallel(AutoencoderTransformer(**params), frame, n_processes=2)
    assert list(model.feature_names_in_) == list(frame.columns)
    np.testing.assert_allclose(model.input_offset_, reference.input_offset_, rtol=1e-12)
    np.testing.assert_allclose(model.input_scale_, reference.input_scale_, rtol=1e-12)
    np.testing.assert_allclose(model.loss_curve_, reference.loss_curve_, rtol=1e-4)
    np.testing.assert_allclose(model.transform(frame), reference.transform(X), atol=1e-3)
    # Without the averaging, rank 0 would have fitted its own half.
    alone = AutoencoderTransformer(**params).fit(X[:half])
    assert not np.allclose(model.transform(frame), alone.transform(X), atol=1e-2)


def _fit_on_rank(rank, folder, estimators, X):
    """One of two processes: fit each estimator on this rank's half of ``X``, pickle them."""
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{folder}/rendezvous",
                            rank=rank, world_size=2)
    try:
        half = len(X) // 2
        fitted = [fit_in_process_group(estimator, X[rank * half:(rank + 1) * half])
                  for estimator in estimators]
        (folder / f"rank{rank}.pkl").write_bytes(pickle.dumps(fitted))
    finally:
        dist.destroy_process_group()


def test_every_rank_ends_with_the_same_model(tmp_path, X):
    # Early stopping from the PCA start (epoch 0 competes) and batch norm
    # buffers: the ranks must stop at the same epoch, restore the same
    # checkpoint and hold the same buffers.
    estimators = [
        AutoencoderTransformer(**{**FAST, "early_stopping": True, "n_iter_no_change": 2, "tol": 0.02,
                                  "max_steps": 200}),
        AutoencoderOutlierDetector(n_estimators=2, network=dense(8, batch_norm=True),
                                   early_stopping=True, max_steps=60, **CPU),
    ]
    torch.multiprocessing.spawn(_fit_on_rank, args=(tmp_path, estimators, X), nprocs=2)
    first, second = (pickle.loads((tmp_path / f"rank{rank}.pkl").read_bytes())
                     for rank in (0, 1))
    for ours, theirs in zip(first, second):
        _assert_same_model(ours, theirs)
        np.testing.assert_array_equal(ours.validation_scores_, theirs.validation_scores_)
    assert first[0].n_steps_ < 200  # early stopping ended the transformer's fit
    assert first[1].offset_ == second[1].offset_


def test_two_process_fit_reconstructs_as_well_as_one_process():
    X, _ = load_digits(return_X_y=True)
    train, test = X[:1500], X[1500:]
    params = {"n_components": 8, "network": dense(32), "max_steps": 600, "batch_size": 64,
              "learning_rate": 3e-3, **CPU}
    one = AutoencoderTransformer(**params).fit(train)
    two = AutoencoderTransformer(**params)
    assert fit_data_parallel(two, train, n_processes=2) is two
    _assert_ordinary_estimator(two, AutoencoderTransformer(**params).get_params())
    assert two.n_steps_ == 600

    def error(model):
        return float(np.mean((model.inverse_transform(model.transform(test)) - test) ** 2))

    assert error(two) <= 1.05 * error(one), (error(two), error(one))


def test_data_parallel_options_that_cannot_work_are_refused(X):
    with pytest.raises(RuntimeError, match="init_process_group"):
        fit_in_process_group(AutoencoderTransformer(**FAST), X)
    with pytest.raises(ValueError, match="lbfgs"):
        fit_data_parallel(AutoencoderTransformer(**{**FAST, "optimizer": "lbfgs"}), X)
    with pytest.raises(ValueError, match="pretrain_epochs"):
        fit_data_parallel(AutoencoderTransformer(**{**FAST, "pretrain_epochs": 1}), X)
    with pytest.raises(ValueError, match="categorical_features cannot be fitted data-parallel"):
        fit_data_parallel(AutoencoderTransformer(**{**FAST, "categorical_features": [0]}), X)
    with pytest.raises(TypeError, match="skae estimator"):
        fit_data_parallel(GridSearchCV(AutoencoderTransformer(), {}), X)
    with pytest.raises(ValueError, match="n_processes must be a positive integer"):
        fit_data_parallel(AutoencoderTransformer(**FAST), X, n_processes=0)
    with pytest.raises(ValueError, match="backend must be"):
        fit_data_parallel(AutoencoderTransformer(**FAST), X, backend="mpi")
    with pytest.raises(ValueError, match="at least one row each"):
        fit_data_parallel(AutoencoderTransformer(**FAST), X[:1])
    with pytest.raises(ValueError, match="NaN"):
        fit_data_parallel(AutoencoderTransformer(**FAST), np.full((4, 2), np.nan))


def test_benchmark_search_and_scoring_on_the_cluster(client, tmp_path):
    from benchmarks import distributed as benchmark

    results = benchmark.main(["--parts", "search", "scoring", "--search-steps", "2",
                              "--score-rows", "3000", "--out", str(tmp_path)],
                             client=client, stream=io.StringIO())
    assert results["search"]["candidates"] == 8 and results["search"]["scores_equal"]
    assert results["scoring"]["rows"] == 3000 and results["scoring"]["scores_equal"]
    saved = json.loads((tmp_path / "distributed.json").read_text())
    assert saved["search"]["speedup"] > 0
    report = (tmp_path / "distributed.md").read_text()
    assert "python -m benchmarks.distributed --parts search scoring --search-steps 2" in report
    assert "### Scoring (3,000 rows x 20 float32, 1 chunks" in report
