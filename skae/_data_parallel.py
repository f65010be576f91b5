"""Data-parallel training: one model fitted by several processes, on DistributedDataParallel.

Each process of a ``torch.distributed`` group trains on its own rows. During
``net.partial_fit``, the net's module is wrapped in
``torch.nn.parallel.DistributedDataParallel``, which takes rank 0's
weights at the start and averages the gradients over the processes during
each backward pass, bucket by bucket, while the rest of the backward runs.
The estimator's fit is otherwise the ordinary one, with three hooks of the
estimator base overridden (:class:`_DataParallelFit`): the input scaling and
the PCA start come from the rows of every process, and so do the scores that
``fit`` computes (the detector's threshold and member scales).
"""

import os
import pickle
import tempfile
from numbers import Integral, Real
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import clone
from sklearn.utils import check_array
from skorch.callbacks import Callback
from torch.nn.parallel import DistributedDataParallel

from ._base import _BaseAutoencoder, assign_fitted, fitted_state
from ._collectives import all_gather, all_reduce, reduced_scaling_statistics, torch_distributed
from ._device import draw_seed, resolve_device
from ._missing import has_missing
from ._net import BestEpochEarlyStopping

#: The name of the callback that keeps the processes in step.
_CALLBACK_NAME = "skae_data_parallel"


class _ReplicatedModule(DistributedDataParallel):
    """``DistributedDataParallel`` that stands in for the net's module while it trains.

    Its forward is DDP's (the gradients of the backward pass that follows
    are averaged over the processes). Every other attribute (``encode``,
    ``decode``, ``starts_as_pca``, ...) is the wrapped module's, and so is its
    state dict, without DDP's ``module.`` prefix: the best-epoch checkpoint
    of early stopping and the restore of a failed step save and load the
    bare module's weights, as in a one-process fit.
    """

    def __getattr__(self, name):
        try:
            return super().__getattr__(name)
        except AttributeError:
            if name == "module":  # not yet set, inside DDP's __init__
                raise
            return getattr(self.module, name)

    def state_dict(self, *args, **kwargs):
        return self.module.state_dict(*args, **kwargs)

    def load_state_dict(self, state_dict, strict=True, assign=False):
        return self.module.load_state_dict(state_dict, strict=strict, assign=assign)


class _KeepProcessesInStep(Callback):
    """Keep the processes of a data-parallel fit in step.

    - at the start of training, the net's module is wrapped in
      :class:`_ReplicatedModule`: every process takes rank 0's weights and
      buffers, and from then on DDP averages the gradients of every step;
      early stopping's score of the starting weights (the PCA start, epoch
      0) is averaged too, or the processes could stop at different epochs;
    - every batch, the losses logged in the history are averaged, so the
      stopping rules (early stopping, the divergence guard) and the loss
      curves see the loss of all rows and decide the same everywhere;
    - at the end, every process takes rank 0's buffers (batch norm
      statistics, updated by each process's own last batch) and the net
      gets its bare module back, as after a one-process fit.
    """

    def on_train_begin(self, net, **kwargs):
        device = next(net.module_.parameters()).device
        net.module_ = _ReplicatedModule(
            net.module_, device_ids=[device] if device.type == "cuda" else None)
        for _, callback in net.callbacks_:
            if isinstance(callback, BestEpochEarlyStopping) \
                    and getattr(callback, "best_score_", None) is not None:
                _average_start_score(callback)

    def on_batch_end(self, net, training=False, **kwargs):
        prefix = "train_" if training else "valid_"
        batch = net.history[-1]["batches"][-1]
        names = sorted(name for name, value in batch.items()
                       if name.startswith(prefix) and not name.endswith("_batch_size")
                       and isinstance(value, Real))
        if names:
            dist = torch_distributed()
            means = all_reduce([batch[name] for name in names], dist.ReduceOp.SUM)
            means /= dist.get_world_size()
            for name, mean in zip(names, means):
                net.history.record_batch(name, float(mean))

    def on_train_end(self, net, **kwargs):
        module = net.module_.module
        dist = torch_distributed()
        for buffer in module.buffers():
            dist.broadcast(buffer, src=0)
        net.module_ = module


def _average_start_score(stopper):
    """Early stopping's score of the starting weights, averaged over the processes.

    ``stopper`` scored the PCA start (epoch 0) on this process's validation
    rows before training; every process has as many, so the mean of the
    processes' scores is the score of all their rows.
    """
    dist = torch_distributed()
    total = all_reduce([stopper.best_score_], dist.ReduceOp.SUM)[0]
    stopper.best_score_ = float(total / dist.get_world_size())
    stopper.dynamic_threshold_ = stopper._calc_new_threshold(stopper.best_score_)


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
        return reduced_scaling_statistics(X, self.scaling)

    @staticmethod
    def _sum_over_processes(array):
        return all_reduce(array, torch_distributed().ReduceOp.SUM)

    def _objective_scores(self, X, fitted):
        scores = super()._objective_scores(X, fitted)
        gathered = all_gather(scores)
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
    if getattr(estimator, "categorical_features", None) is not None:
        raise ValueError(
            "categorical_features cannot be fitted data-parallel: each process would "
            "learn the categories of its own rows; encode the categorical columns "
            "first (OneHotEncoder) and leave categorical_features=None."
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
    their gradients every step (the net's module is wrapped in
    ``torch.nn.parallel.DistributedDataParallel`` while it trains), so
    the weights stay identical everywhere.
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
    dist = torch_distributed()
    if not dist.is_initialized():
        raise RuntimeError(
            "fit_in_process_group runs inside a torch.distributed process group: "
            "call torch.distributed.init_process_group() first (torchrun sets its "
            "arguments), or let skae.distributed.fit_data_parallel start the processes."
        )
    _check_data_parallel(estimator)
    shape = _shape(X)
    shapes = all_gather(np.array([shape[0], shape[1] if len(shape) > 1 else -1]))
    if len({tuple(row) for row in shapes}) > 1:
        found = ", ".join(f"{int(rows)} x {int(columns)}" for rows, columns in shapes)
        raise ValueError(
            "Every process of a data-parallel fit must give the same number of rows "
            f"and columns, so that they take the same steps; got {found} (by rank)."
        )
    # One seed for all: rank 0's (initial weights, row order, noise).
    seed = estimator.random_state
    seed = int(seed) if isinstance(seed, Integral) else draw_seed(seed)
    seed = int(all_reduce([seed if dist.get_rank() == 0 else 0], dist.ReduceOp.SUM)[0])
    params = estimator.get_params(deep=False)
    worker = _fit_class(type(estimator))(**{
        **params, "random_state": seed,
        "callbacks": [*(params["callbacks"] or ()), (_CALLBACK_NAME, _KeepProcessesInStep())],
    })
    worker.fit(X)
    fitted = fitted_state(worker)
    net = fitted["net_"]
    net.callbacks = [item for item in net.callbacks
                     if not (isinstance(item, tuple) and item[0] == _CALLBACK_NAME)]
    net.callbacks_ = [(name, callback) for name, callback in net.callbacks_
                      if name != _CALLBACK_NAME]
    assign_fitted(estimator, fitted)
    return estimator


def _fit_rank(rank, n_processes, backend, folder, estimator, X, columns):
    """The body of one process of :func:`fit_data_parallel`."""
    dist = torch_distributed()
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
    assign_fitted(estimator, fitted_state(fitted))
    return estimator
