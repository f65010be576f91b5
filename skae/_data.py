"""Whole-batch access to 2-D arrays for training and inference.

skorch's default ``DataLoader`` collates every mini-batch from per-row
``Dataset.__getitem__`` calls, which on small tabular data costs more than the
network itself (skorch issues #433 and #1100). Here a batch is one slice of a
tensor that already lives on the training device, or, for scipy sparse input,
one CSR row block densified on its own, so the full matrix is never densified.
"""

import numpy as np
import scipy.sparse as sp
import torch


class ArrayDataset(torch.utils.data.Dataset):
    """Rows of a dense array or CSR matrix, scaled and served as float32 batches.

    Parameters
    ----------
    X : ndarray or scipy.sparse matrix of shape (n_samples, n_features)
        The data. It is never modified: scaling writes to new tensors.
    offset, scale : ndarray of shape (n_features,)
        Each row is served as ``(row - offset) / scale``.
    device : torch.device
        Where batches are made.
    dtype : torch.dtype, default=torch.float32
        Floating point type of the batches.
    """

    def __init__(self, X, offset, scale, device, dtype=torch.float32):
        self.X = X.tocsr() if sp.issparse(X) else X
        self.offset = torch.as_tensor(offset, dtype=dtype, device=device)
        self.scale = torch.as_tensor(scale, dtype=dtype, device=device)
        self.device = device
        self.dtype = dtype
        self._dense = None

    def __len__(self):
        return self.X.shape[0]

    def __getitem__(self, i):
        return self.batch(np.array([i]))[0]

    def _scaled(self, block):
        block = np.asarray(block, dtype=torch.empty((), dtype=self.dtype).numpy().dtype)
        if not block.flags.writeable:  # torch warns on read-only memory
            block = block.copy()
        block = torch.from_numpy(block).to(self.device)
        return (block - self.offset) / self.scale

    def batch(self, rows):
        """Return the scaled rows ``rows`` (a slice or an index tensor/array)."""
        if sp.issparse(self.X):
            if isinstance(rows, torch.Tensor):
                rows = rows.cpu().numpy()
            return self._scaled(self.X[rows].toarray())
        if self._dense is None:
            # One float32 copy on the device, scaled once, sliced per batch.
            self._dense = self._scaled(self.X)
        return self._dense[rows]

    def subset(self, rows):
        """A dataset of the rows ``rows`` only, scaled the same way."""
        return ArrayDataset(self.X[rows], self.offset.cpu().numpy(),
                            self.scale.cpu().numpy(), self.device, self.dtype)


class BatchIterator:
    """Iterate over an :class:`ArrayDataset` in mini-batches of ``(X, X)``.

    It takes the place of skorch's ``iterator_train`` / ``iterator_valid``
    (``torch.utils.data.DataLoader``), so it accepts the same leading
    arguments. The target of an autoencoder is its input, so each batch is the
    pair ``(Xb, Xb)``.

    Parameters
    ----------
    dataset : ArrayDataset
    batch_size : int
    shuffle : bool, default=False
        Draw a new row order for every pass.
    seed : int, default=0
        Seed of the private generator that draws the row orders; the global
        torch generator is never touched.
    merge_single : bool, default=False
        Join a last batch of a single row to the batch before it (batch
        normalisation cannot train on one row).
    max_batches : int, default=None
        Most batches yielded over all passes together: the pass that reaches
        it is cut short (a training budget in optimiser steps).
    """

    def __init__(self, dataset, batch_size, shuffle=False, seed=0, merge_single=False,
                 max_batches=None):
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.merge_single = merge_single
        self.max_batches = max_batches
        self.n_yielded = 0
        self.generator = torch.Generator().manual_seed(int(seed))

    def _starts(self):
        n_samples = len(self.dataset)
        starts = list(range(0, n_samples, self.batch_size))
        if self.merge_single and len(starts) > 1 and n_samples - starts[-1] == 1:
            starts.pop()
        return starts

    def __len__(self):
        return len(self._starts())

    def __iter__(self):
        n_samples = len(self.dataset)
        order = None
        if self.shuffle:
            order = torch.randperm(n_samples, generator=self.generator)
            if sp.issparse(self.dataset.X):
                order = order.numpy()
            else:
                order = order.to(self.dataset.device)
        starts = self._starts()
        for start, stop in zip(starts, [*starts[1:], n_samples]):
            if self.max_batches is not None and self.n_yielded >= self.max_batches:
                return
            self.n_yielded += 1
            rows = slice(start, stop) if order is None else order[start:stop]
            Xb = self.dataset.batch(rows)
            yield Xb, Xb
