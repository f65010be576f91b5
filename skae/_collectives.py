"""Collective operations of a data-parallel fit on NumPy arrays, and the scaling they merge.

Every function here runs inside the default ``torch.distributed`` process
group and is called by every process in the same order.
"""

import functools

import numpy as np
import torch

from ._scaling import ColumnStatistics


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

    Every process summarises its own rows (:class:`~skae._scaling.ColumnStatistics`),
    the summaries are gathered and merged in rank order, so every process
    gets the same figures; with one process they are exactly those of ``X``.
    """
    own = ColumnStatistics.of(X, variance=scaling == "standard")
    parts = all_gather(np.stack([own.count, own.mean, own.variance, own.low, own.high]))
    merged = functools.reduce(ColumnStatistics.merge, (
        ColumnStatistics(count, mean, variance, low.astype(X.dtype), high.astype(X.dtype))
        for count, mean, variance, low, high in parts))
    return merged.scaling(scaling)
