"""Beyond one process: scoring on Dask and data-parallel training with torch.distributed.

Three ways a scikit-learn user outgrows one process, each on an existing
engine rather than a scheduler of skae's own:

- **Tuning.** Nothing to import from here: skae estimators pickle, resolve
  their ``device`` in ``fit`` on the worker and never touch the global random
  generators, so ``GridSearchCV`` runs unchanged under joblib's Dask backend,
  ``with joblib.parallel_config(backend="dask"): search.fit(X)``, with the
  results of ``n_jobs=1`` (tested on a ``LocalCluster``).
- **Scoring.** :func:`map_blocks` applies a fitted estimator to a Dask array
  or Dask DataFrame block by block and returns a lazy Dask collection, with
  the model sent to each worker once.
- **Training.** :func:`fit_data_parallel` fits an estimator on several
  processes started here, each on its own share of the rows, with the
  gradients averaged over the processes every step (``torch.distributed``:
  gloo on the CPU, nccl on CUDA); :func:`fit_in_process_group` is the same
  fit inside a process group that is already running (``torchrun``).

Dask is an optional dependency (``pip install skae[distributed]``), imported
only when :func:`map_blocks` runs; ``torch.distributed`` comes with PyTorch.
The user guide page "Scaling out" has runnable recipes, GPU placement and the
failure modes.
"""

import os
import pickle
import tempfile
import warnings
from numbers import Integral, Real
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import clone
from sklearn.utils import check_array
from sklearn.utils.sparsefuncs import mean_variance_axis, min_max_axis
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks import Callback

from ._base import _BaseAutoencoder, _scaling_statistics, _unscaled_constants
from ._device import draw_seed, resolve_device
from ._missing import has_missing

__all__ = ["fit_data_parallel", "fit_in_process_group", "map_blocks", "worker_environment"]

# ------------------------------------------------------------------ scoring

#: The methods :func:`map_blocks` applies, and the width of their input.
_METHODS = {
    "transform": "n_features_in_",
    "inverse_transform": "n_components_",
    "score_samples": "n_features_in_",
    "decision_function": "n_features_in_",
    "predict": "n_features_in_",
    "feature_errors": "n_features_in_",
}


#: glibc malloc settings under which skae's inference runs at full speed.
#: Dask starts its worker processes with ``MALLOC_TRIM_THRESHOLD_=65536``;
#: setting any such variable turns off glibc's dynamic mmap threshold, so
#: every array larger than 128 KiB (each batch's activations) is mapped and
#: unmapped again, and ``score_samples`` ran 2.8 times slower in a worker than
#: in the main process. A high mmap threshold and trim threshold restore it.
_WORKER_MALLOC = {"MALLOC_TRIM_THRESHOLD_": str(2**30), "MALLOC_MMAP_THRESHOLD_": str(2**25)}


def worker_environment():
    """Dask configuration that starts worker processes with fast malloc settings.

    Dask starts each worker process with ``MALLOC_TRIM_THRESHOLD_=65536``,
    which makes glibc map and unmap every batch-sized array: inference in such
    a worker ran 2.8 times slower than in the main process (250,000 rows,
    ``score_samples`` of the default detector, one thread each). This sets
    Dask's ``distributed.nanny.pre-spawn-environ`` so that workers started
    afterwards keep large allocations instead (a 1 GiB trim threshold, a
    32 MiB mmap threshold). It changes nothing in running workers: start the
    cluster, or the ``dask worker`` processes, under it.

    Returns
    -------
    config : dask.config.set
        The configuration change, already in effect; use it as a context
        manager to undo it on exit.

    Examples
    --------
    >>> import dask
    >>> from skae.distributed import worker_environment
    >>> with worker_environment():  # doctest: +SKIP
    ...     cluster = LocalCluster(n_workers=2, threads_per_worker=1)
    >>> with worker_environment():
    ...     dask.config.get("distributed.nanny.pre-spawn-environ.MALLOC_MMAP_THRESHOLD_")
    '33554432'
    """
    dask, _, _ = _import_dask()
    return dask.config.set({f"distributed.nanny.pre-spawn-environ.{name}": value
                            for name, value in _WORKER_MALLOC.items()})


def _import_dask():
    try:
        import dask
        import dask.array as da
    except ImportError as exc:  # pragma: no cover - the extra is installed in CI
        raise ImportError(
            "skae.distributed.map_blocks needs Dask: pip install skae[distributed]"
        ) from exc
    try:
        import dask.dataframe as dd
    except ImportError:  # dask without pandas: arrays only
        dd = None
    return dask, da, dd


def _apply_block(block, estimator, method, empty):
    """``estimator.method(block)`` as a NumPy array (``empty`` for no rows)."""
    if block.shape[0] == 0:
        return empty
    return np.asarray(getattr(estimator, method)(block))


def _apply_partition(partition, estimator, method, meta):
    """``estimator.method(partition)`` as a pandas object shaped like ``meta``."""
    import pandas as pd

    if len(partition) == 0:
        return meta
    result = np.asarray(getattr(estimator, method)(partition))
    if result.ndim == 1:
        return pd.Series(result, index=partition.index, name=meta.name)
    return pd.DataFrame(result, index=partition.index, columns=meta.columns)


def _output_sample(estimator, method, sample):
    """The estimator's output on one row of zeros: its width and dtype."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(getattr(estimator, method)(sample))


def _output_columns(estimator, method, width):
    """Column names of a 2-D output of ``method``."""
    if method == "transform" and hasattr(estimator, "get_feature_names_out"):
        return list(estimator.get_feature_names_out())
    names = getattr(estimator, "feature_names_in_", None)
    return list(names) if names is not None and len(names) == width else list(range(width))


def map_blocks(estimator, X, method="transform"):
    """Apply a fitted estimator to a Dask array or DataFrame, block by block, lazily.

    Each block (chunk of rows, or partition) is passed to
    ``estimator.method`` on its own, so memory per task grows with the block,
    not with ``X``. The estimator enters the task graph once, as one task:
    the distributed scheduler sends it to each worker once, where it stays
    for every block that worker scores. Every method of a skae estimator
    treats each row on its own, so row ``i`` of the result is the in-memory
    ``estimator.method(X)[i]``: exactly for ``predict``, and for the float
    outputs up to the last digit (about ``1e-16`` of the value), since
    matrix products round differently with the number of rows in a block.

    Parameters
    ----------
    estimator : fitted estimator
        Usually a skae estimator; any fitted scikit-learn estimator whose
        ``method`` maps each row to one output row works.
    X : dask.array.Array or dask.dataframe.DataFrame of shape (n_samples, n_columns)
        The data, ``n_features_in_`` columns wide (``n_components_`` for
        ``inverse_transform``). An array chunked along its columns is
        rechunked to whole rows.
    method : {'transform', 'inverse_transform', 'score_samples', \
'decision_function', 'predict', 'feature_errors'}, default='transform'
        The method to apply; the estimator must have it.

    Returns
    -------
    result : dask.array.Array, dask.dataframe.DataFrame or dask.dataframe.Series
        Lazy, with the row chunks (partitions) of ``X``: a 2-D array (a
        DataFrame for DataFrame input) for ``transform``,
        ``inverse_transform`` and ``feature_errors``, a 1-D array (a Series
        named after ``method``) for the others. Its dtype is that of the
        in-memory result; call ``.compute()`` or write it out chunk by chunk
        (``to_zarr``, ``to_parquet``).

    Raises
    ------
    TypeError
        If ``X`` is not a Dask array or DataFrame.
    ValueError
        If ``method`` is not one of the above, the estimator does not have it,
        or ``X`` does not have 2 dimensions of the expected width.

    See Also
    --------
    fit_data_parallel : Train on several processes.
    dask.array.Array.map_blocks : The Dask operation this builds on.

    Examples
    --------
    >>> import dask.array as da
    >>> from sklearn.datasets import load_digits
    >>> from skae import AutoencoderOutlierDetector
    >>> from skae.distributed import map_blocks
    >>> X, _ = load_digits(return_X_y=True)
    >>> detector = AutoencoderOutlierDetector(max_steps=20, random_state=0).fit(X)
    >>> scores = map_blocks(detector, da.from_array(X, chunks=200), "score_samples")
    >>> scores.shape, scores.numblocks
    ((1797,), (9,))
    >>> bool((scores.compute() == detector.score_samples(X)).all())
    True
    """
    dask, da, dd = _import_dask()
    check_is_fitted(estimator)
    if method not in _METHODS:
        raise ValueError(f"method must be one of {sorted(_METHODS)}, got {method!r}.")
    if not hasattr(estimator, method):
        raise ValueError(f"{type(estimator).__name__} has no method {method!r}.")
    is_frame = dd is not None and isinstance(X, dd.DataFrame)
    if not (is_frame or isinstance(X, da.Array)):
        raise TypeError(
            "map_blocks takes a dask.array.Array or a dask.dataframe.DataFrame, got "
            f"{type(X).__name__}; for data in memory call estimator.{method}(X)."
        )
    width = getattr(estimator, _METHODS[method])
    n_columns = len(X.columns) if is_frame else (X.shape[1] if X.ndim == 2 else None)
    if n_columns != width:
        shape = f"{n_columns} columns" if n_columns is not None else f"{X.ndim} dimension(s)"
        raise ValueError(
            f"X has {shape}, but {type(estimator).__name__}.{method} is expecting "
            f"2-D input with {width} columns ({_METHODS[method]})."
        )
    # One task holds the estimator; every block depends on it.
    model = dask.delayed(estimator, pure=True)
    if is_frame:
        return _map_partitions(estimator, X, method, model)
    X = X.rechunk({1: -1}) if X.numblocks[1] > 1 else X
    sample = _output_sample(estimator, method, np.zeros((1, width), dtype=X.dtype))
    empty = np.empty((0, *sample.shape[1:]), dtype=sample.dtype)
    if sample.ndim == 1:
        return X.map_blocks(_apply_block, model, method, empty, drop_axis=1,
                            dtype=sample.dtype, meta=empty)
    return X.map_blocks(_apply_block, model, method, empty,
                        chunks=(X.chunks[0], (sample.shape[1],)), dtype=sample.dtype,
                        meta=empty)


def _map_partitions(estimator, X, method, model):
    """:func:`map_blocks` of a Dask DataFrame."""
    import pandas as pd

    zeros = pd.DataFrame(np.zeros((1, len(X.columns))), columns=X.columns).astype(X.dtypes)
    sample = _output_sample(estimator, method, zeros)
    if sample.ndim == 1:
        meta = pd.Series(np.empty(0, dtype=sample.dtype), name=method)
    else:
        meta = pd.DataFrame(np.empty((0, sample.shape[1]), dtype=sample.dtype),
                            columns=_output_columns(estimator, method, sample.shape[1]))
    return X.map_partitions(_apply_partition, model, method, meta, meta=meta)


# ----------------------------------------------------------------- training

#: The name of the callback that keeps the processes in step.
_CALLBACK_NAME = "skae_data_parallel"


def _dist():
    import torch.distributed as dist

    if not dist.is_available():  # pragma: no cover - every PyPI build has it
        raise ImportError("this PyTorch build has no torch.distributed.")
    return dist


def _collective_device():
    """Where tensors of a collective live: CUDA for nccl, else the CPU."""
    dist = _dist()
    return torch.device("cuda", torch.cuda.current_device()) \
        if dist.get_backend() == "nccl" else torch.device("cpu")


def _all_gather(array):
    """``array`` (float64, same shape on every process) of every process, stacked."""
    dist = _dist()
    tensor = torch.as_tensor(np.ascontiguousarray(array, dtype=np.float64),
                             device=_collective_device())
    parts = [torch.empty_like(tensor) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, tensor)
    return torch.stack(parts).cpu().numpy()


def _all_reduce(array, op):
    """``array`` (float64) reduced over every process by ``op``."""
    dist = _dist()
    tensor = torch.as_tensor(np.array(array, dtype=np.float64), device=_collective_device())
    dist.all_reduce(tensor, op=op)
    return tensor.cpu().numpy()


def _reduced_scaling_statistics(X, scaling):
    """The scaling statistics of the rows of every process together.

    What :func:`~skae._base._scaling_statistics` computes on the
    concatenation of every process's ``X``: the extrema reduced, and the
    means and variances combined from every process's count, mean and
    variance (Chan et al.'s pairwise rule, in rank order, so every process
    gets the same figures). With one process they are exactly those of
    ``X``.
    """
    if scaling is None:
        return _scaling_statistics(X, None)
    dist = _dist()
    if scaling == "minmax":
        low, high = min_max_axis(X, axis=0) if sp.issparse(X) else (X.min(0), X.max(0))
        low = _all_reduce(low, dist.ReduceOp.MIN).astype(X.dtype)
        high = _all_reduce(high, dist.ReduceOp.MAX).astype(X.dtype)
        return _unscaled_constants(low, high - low)
    if sp.issparse(X):
        mean, variance = mean_variance_axis(X, axis=0)
    else:
        mean, variance = X.mean(axis=0, dtype=np.float64), X.var(axis=0, dtype=np.float64)
    parts = _all_gather(np.stack([np.full(X.shape[1], X.shape[0]), mean, variance]))
    count, mean, variance = parts[0]
    for other_count, other_mean, other_variance in parts[1:]:
        total = count + other_count
        delta = other_mean - mean
        mean = mean + delta * (other_count / total)
        variance = ((count * variance + other_count * other_variance) / total
                    + delta ** 2 * (count * other_count / total ** 2))
        count = total
    scale = np.sqrt(variance) if scaling == "standard" else np.ones(X.shape[1])
    return _unscaled_constants(mean, scale)


class _AverageOverProcesses(Callback):
    """Keep the processes of a data-parallel fit in step.

    - at the start, every process takes rank 0's initial weights;
    - every step, the gradients are averaged over the processes before the
      optimiser uses them, so the weights stay identical everywhere;
    - every batch, the losses logged in the history are averaged too, so the
      stopping rules (early stopping, the divergence guard) and the loss
      curves see the loss of all rows and decide the same everywhere;
    - at the end, every process takes rank 0's buffers (batch norm
      statistics, computed on each process's own batches).
    """

    def on_train_begin(self, net, **kwargs):
        dist = _dist()
        for tensor in net.module_.state_dict().values():
            dist.broadcast(tensor, src=0)

    def on_grad_computed(self, net, named_parameters, **kwargs):
        dist = _dist()
        grads = [param.grad for _, param in named_parameters if param.grad is not None]
        if not grads:
            return
        flat = torch.cat([grad.reshape(-1) for grad in grads])
        dist.all_reduce(flat)
        flat /= dist.get_world_size()
        start = 0
        for grad in grads:
            grad.copy_(flat[start:start + grad.numel()].view_as(grad))
            start += grad.numel()

    def on_batch_end(self, net, training=False, **kwargs):
        prefix = "train_" if training else "valid_"
        batch = net.history[-1]["batches"][-1]
        names = sorted(name for name, value in batch.items()
                       if name.startswith(prefix) and not name.endswith("_batch_size")
                       and isinstance(value, Real))
        if names:
            dist = _dist()
            means = _all_reduce([batch[name] for name in names], dist.ReduceOp.SUM)
            means /= dist.get_world_size()
            for name, mean in zip(names, means):
                net.history.record_batch(name, float(mean))

    def on_train_end(self, net, **kwargs):
        dist = _dist()
        for buffer in net.module_.buffers():
            dist.broadcast(buffer, src=0)


class _DataParallelFit:
    """Mixed into the estimator's class for the fit on one process of a group.

    The input scaling comes from the rows of every process, and scores
    computed during ``fit`` (the detector's threshold and member scales) are
    those of every process's rows.
    """

    def _input_statistics(self, X):
        if has_missing(X):
            raise ValueError(
                "fit_data_parallel does not take missing values (NaN): impute them "
                "first, or fit in one process with the estimator's fit, which does."
            )
        return _reduced_scaling_statistics(X, self.scaling)

    @staticmethod
    def _sum_over_processes(array):
        return _all_reduce(array, _dist().ReduceOp.SUM)

    def _objective_scores(self, X, fitted):
        scores = super()._objective_scores(X, fitted)
        gathered = _all_gather(scores)
        return gathered.reshape(-1, *scores.shape[1:])


_FIT_CLASSES = {}


def _fit_class(cls):
    """``cls`` with :class:`_DataParallelFit` mixed in (same name, same parameters)."""
    if cls not in _FIT_CLASSES:
        _FIT_CLASSES[cls] = type(cls.__name__, (_DataParallelFit, cls),
                                 {"__module__": __name__, "__qualname__": cls.__qualname__})
    return _FIT_CLASSES[cls]


def _check_data_parallel(estimator):
    """Raise when ``estimator`` cannot be fitted data-parallel."""
    if not isinstance(estimator, _BaseAutoencoder):
        raise TypeError(f"data-parallel fits take a skae estimator, got "
                        f"{type(estimator).__name__}.")
    estimator._validate_params()
    if estimator.optimizer == "lbfgs":
        raise ValueError(
            "optimizer='lbfgs' cannot be fitted data-parallel: its line search "
            "reads each process's own loss, so the processes would take different "
            "steps; use optimizer='adam' or 'sgd'."
        )
    if getattr(estimator, "pretrain_epochs", 0):
        raise ValueError(
            "pretrain_epochs > 0 cannot be fitted data-parallel: the greedy "
            "pre-training runs on each process's rows alone; set pretrain_epochs=0."
        )


def _shape(X):
    return X.shape if hasattr(X, "shape") else np.shape(X)


def fit_in_process_group(estimator, X):
    """Fit ``estimator`` data-parallel inside a running ``torch.distributed`` group.

    Call it on every process of the default process group (for example each
    process that ``torchrun`` starts, after
    ``torch.distributed.init_process_group()``), each with its own rows. The
    processes train one model together: they start from rank 0's initial
    weights, scale the input by the statistics of all the rows, and average
    their gradients every step, so the weights stay identical everywhere.
    Each process trains on mini-batches of ``batch_size`` of its own rows,
    so one step uses ``batch_size`` times the number of processes rows, and
    ``max_steps`` counts the steps of each process. The logged losses,
    early stopping and, for the detector, the threshold and member scales
    are those of all the rows.

    Parameters
    ----------
    estimator : AutoencoderTransformer, VAETransformer or AutoencoderOutlierDetector
        The estimator to fit, the same on every process. Its parameters are
        used as they are, except that an integer ``random_state`` is taken
        from rank 0 (``None`` draws one there); ``optimizer='lbfgs'`` and
        ``pretrain_epochs > 0`` are not supported.
    X : {array-like, sparse matrix} of shape (n_rows, n_features)
        This process's rows. Every process must give the same number of rows
        (and columns): the processes take the same number of steps in
        lockstep.

    Returns
    -------
    estimator : object
        ``estimator`` itself, fitted, as after ``estimator.fit``: an ordinary
        estimator that pickles and scores without a process group. Every
        process returns the same model; save rank 0's.

    Raises
    ------
    RuntimeError
        If no process group is initialised.
    ValueError
        If the processes give different numbers of rows or columns, or the
        estimator's options cannot be fitted data-parallel.

    See Also
    --------
    fit_data_parallel : Start the processes and fit, in one call.

    Notes
    -----
    If a process fails (a bad value in its rows, a diverged fit), the others
    wait for it in the next collective operation; ``torchrun`` and
    :func:`fit_data_parallel` then stop them all.

    Examples
    --------
    A group of one process, as ``torchrun --nproc-per-node=1`` would start:

    >>> import tempfile
    >>> import torch.distributed as dist
    >>> from sklearn.datasets import load_digits
    >>> from skae import AutoencoderTransformer
    >>> from skae.distributed import fit_in_process_group
    >>> X, _ = load_digits(return_X_y=True)
    >>> folder = tempfile.mkdtemp()
    >>> dist.init_process_group("gloo", init_method=f"file://{folder}/rendezvous",
    ...                         rank=0, world_size=1)
    >>> ae = AutoencoderTransformer(n_components=8, max_steps=50, random_state=0)
    >>> fit_in_process_group(ae, X).transform(X).shape
    (1797, 8)
    >>> dist.destroy_process_group()
    """
    dist = _dist()
    if not dist.is_initialized():
        raise RuntimeError(
            "fit_in_process_group runs inside a torch.distributed process group: "
            "call torch.distributed.init_process_group() first (torchrun sets its "
            "arguments), or let skae.distributed.fit_data_parallel start the processes."
        )
    _check_data_parallel(estimator)
    shape = _shape(X)
    shapes = _all_gather(np.array([shape[0], shape[1] if len(shape) > 1 else -1]))
    if len({tuple(row) for row in shapes}) > 1:
        found = ", ".join(f"{int(rows)} x {int(columns)}" for rows, columns in shapes)
        raise ValueError(
            "Every process of a data-parallel fit must give the same number of rows "
            f"and columns, so that they take the same steps; got {found} (by rank)."
        )
    # One seed for all: rank 0's (initial weights, row order, noise).
    seed = estimator.random_state
    seed = int(seed) if isinstance(seed, Integral) else draw_seed(seed)
    seed = int(_all_reduce([seed if dist.get_rank() == 0 else 0], dist.ReduceOp.SUM)[0])
    params = estimator.get_params(deep=False)
    worker = _fit_class(type(estimator))(**{
        **params, "random_state": seed,
        "callbacks": [*(params["callbacks"] or ()), (_CALLBACK_NAME, _AverageOverProcesses())],
    })
    worker.fit(X)
    fitted = worker._fitted_state()
    net = fitted["net_"]
    net.callbacks = [item for item in net.callbacks
                     if not (isinstance(item, tuple) and item[0] == _CALLBACK_NAME)]
    net.callbacks_ = [(name, callback) for name, callback in net.callbacks_
                      if name != _CALLBACK_NAME]
    estimator._set_fitted(fitted)
    return estimator


def _fit_rank(rank, n_processes, backend, folder, estimator, X, columns):
    """The body of one process of :func:`fit_data_parallel`."""
    dist = _dist()
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // n_processes))
    if backend == "nccl":
        torch.cuda.set_device(rank)
    dist.init_process_group(backend, init_method=f"file://{folder}/rendezvous",
                            rank=rank, world_size=n_processes)
    try:
        n_rows = X.shape[0] // n_processes
        shard = X[rank * n_rows:(rank + 1) * n_rows]
        if isinstance(shard, torch.Tensor):
            shard = shard.numpy()
        if columns is not None:
            import pandas as pd

            shard = pd.DataFrame(shard, columns=columns)
        fit_in_process_group(estimator, shard)
        if rank == 0:
            partial = Path(folder) / "estimator.partial"
            with partial.open("wb") as stream:
                pickle.dump(estimator, stream, protocol=pickle.HIGHEST_PROTOCOL)
            partial.rename(Path(folder) / "estimator.pkl")
    finally:
        dist.destroy_process_group()


def fit_data_parallel(estimator, X, *, n_processes=2, backend=None):
    """Fit ``estimator`` on ``n_processes`` processes at once, data-parallel.

    Starts ``n_processes`` processes on this machine
    (``torch.multiprocessing``, start method spawn), gives each an equal,
    contiguous share of the rows of ``X`` and runs
    :func:`fit_in_process_group` in each: one model trained by all, with
    the gradients averaged over the processes every step. A dense ``X``
    reaches the processes through shared memory, not as copies (a sparse
    matrix is pickled to each). Each step uses
    ``batch_size`` rows of every process, so it sees ``n_processes`` times
    the rows of a one-process step: for the same passes over the data, give
    ``max_steps`` divided by ``n_processes``.

    Parameters
    ----------
    estimator : AutoencoderTransformer, VAETransformer or AutoencoderOutlierDetector
        The estimator to fit; ``optimizer='lbfgs'`` and ``pretrain_epochs >
        0`` are not supported. With ``device`` on CUDA, process ``i`` trains
        on GPU ``i`` (one GPU per process).
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Training data. When ``n_samples`` is not a multiple of
        ``n_processes``, its last ``n_samples % n_processes`` rows are left
        out, so that every process has the same number of rows.
    n_processes : int, default=2
        Number of processes.
    backend : {'gloo', 'nccl'}, default=None
        The ``torch.distributed`` backend; ``None`` picks nccl when the
        estimator trains on CUDA and gloo otherwise.

    Returns
    -------
    estimator : object
        ``estimator`` itself, fitted with rank 0's model, as after
        ``estimator.fit``; its parameters are untouched. A failed fit leaves
        it as it was.

    Raises
    ------
    ValueError
        If ``n_processes`` is not a positive integer, exceeds the rows or the
        GPUs, or the estimator's options cannot be fitted data-parallel.
    torch.multiprocessing.ProcessRaisedException
        If a process failed; its message holds that process's traceback.

    See Also
    --------
    fit_in_process_group : The same fit in processes you started (torchrun).

    Notes
    -----
    The processes re-import the caller's main module (spawn), so a script
    must call this under ``if __name__ == "__main__":``. Each process uses
    ``os.cpu_count() // n_processes`` torch threads.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import AutoencoderTransformer
    >>> from skae.distributed import fit_data_parallel
    >>> X, _ = load_digits(return_X_y=True)
    >>> ae = AutoencoderTransformer(n_components=8, max_steps=50, random_state=0)
    >>> fit_data_parallel(ae, X, n_processes=2).transform(X).shape
    (1797, 8)
    """
    _check_data_parallel(estimator)
    if isinstance(n_processes, bool) or not isinstance(n_processes, Integral) \
            or n_processes < 1:
        raise ValueError(f"n_processes must be a positive integer, got {n_processes!r}.")
    if backend not in (None, "gloo", "nccl"):
        raise ValueError(f"backend must be 'gloo', 'nccl' or None, got {backend!r}.")
    on_cuda = torch.device(resolve_device(estimator.device)).type == "cuda"
    backend = backend or ("nccl" if on_cuda else "gloo")
    if on_cuda and n_processes > torch.cuda.device_count():
        raise ValueError(
            f"n_processes={n_processes} processes need one GPU each, but this machine "
            f"has {torch.cuda.device_count()}; lower n_processes or train on the CPU."
        )
    columns = getattr(X, "columns", None)
    columns = list(columns) if columns is not None and all(
        isinstance(name, str) for name in columns) else None
    X = check_array(X, accept_sparse="csr", dtype=(np.float64, np.float32))
    if X.shape[0] < n_processes:
        raise ValueError(f"n_processes={n_processes} processes need at least one row "
                         f"each; X has {X.shape[0]}.")
    if not sp.issparse(X):  # one copy in shared memory, not one per process
        X = torch.from_numpy(np.ascontiguousarray(X)).share_memory_()
    with tempfile.TemporaryDirectory(prefix="skae-fit-") as folder:
        torch.multiprocessing.spawn(
            _fit_rank, args=(n_processes, backend, folder, clone(estimator), X, columns),
            nprocs=n_processes, join=True)
        with (Path(folder) / "estimator.pkl").open("rb") as stream:
            fitted = pickle.load(stream)
    estimator._set_fitted(fitted._fitted_state())
    return estimator
