"""Collective operations of a data-parallel fit on NumPy arrays, and the scaling they reduce.

Every function here runs inside the default ``torch.distributed`` process
group and is called by every process in the same order.
"""

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.utils.sparsefuncs import mean_variance_axis, min_max_axis

from ._base import _scaling_statistics, _unscaled_constants


def torch_distributed():
    """``torch.distributed``, or an ImportError for a PyTorch build without it."""
    import torch.distributed as dist

    if not dist.is_available():  # pragma: no cover - every PyPI build has it
        raise ImportError("this PyTorch build has no torch.distributed.")
    return dist


def _collective_device():
    """Where tensors of a collective live: CUDA for nccl, else the CPU."""
    dist = torch_distributed()
    return torch.device("cuda", torch.cuda.current_device()) \
        if dist.get_backend() == "nccl" else torch.device("cpu")


def all_gather(array):
    """``array`` (float64, same shape on every process) of every process, stacked."""
    dist = torch_distributed()
    tensor = torch.as_tensor(np.ascontiguousarray(array, dtype=np.float64),
                             device=_collective_device())
    parts = [torch.empty_like(tensor) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, tensor)
    return torch.stack(parts).cpu().numpy()


def all_reduce(array, op):
    """``array`` (float64) reduced over every process by ``op``."""
    dist = torch_distributed()
    tensor = torch.as_tensor(np.array(array, dtype=np.float64), device=_collective_device())
    dist.all_reduce(tensor, op=op)
    return tensor.cpu().numpy()


def reduced_scaling_statistics(X, scaling):
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
    dist = torch_distributed()
    if scaling == "minmax":
        low, high = min_max_axis(X, axis=0) if sp.issparse(X) else (X.min(0), X.max(0))
        low = all_reduce(low, dist.ReduceOp.MIN).astype(X.dtype)
        high = all_reduce(high, dist.ReduceOp.MAX).astype(X.dtype)
        return _unscaled_constants(low, high - low)
    if sp.issparse(X):
        mean, variance = mean_variance_axis(X, axis=0)
    else:
        mean, variance = X.mean(axis=0, dtype=np.float64), X.var(axis=0, dtype=np.float64)
    parts = all_gather(np.stack([np.full(X.shape[1], X.shape[0]), mean, variance]))
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

