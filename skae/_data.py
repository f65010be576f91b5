"""Whole-batch access to 2-D arrays for training and inference.

skorch's default ``DataLoader`` collates every mini-batch from per-row
``Dataset.__getitem__`` calls, which on small tabular data costs more than the
network itself (skorch issues #433 and #1100). Here a training batch is one
slice of a scaled tensor that already lives on the training device, and an
inference batch is one block of rows scaled on its own, so inference needs
memory for a batch, not for all of ``X``. Float32 rows are scaled in float32
(in torch), everything else in float64 and then cast. Scipy sparse input
is densified one block of rows at a time, never as a whole. A missing entry
(NaN) stays NaN in the target of a batch and is filled in its input (see
:mod:`skae._missing`).
"""

import numpy as np
import scipy.sparse as sp
import torch

from ._missing import filled, has_missing


class ArrayDataset(torch.utils.data.Dataset):
    """Rows of a dense array or CSR matrix, scaled and served as float32 batches.

    Every block of rows is scaled in float64 and only then cast to ``dtype``,
    so a large common offset (timestamps, sensor baselines) costs no precision;
    except float32 rows served as float32, which are scaled in float32, in
    torch: they carry a rounding of 2**-24 of their magnitude already, and
    scaling in float32 adds about that much again, at a fraction of the cost
    of a float64 round trip.
    A contiguous block (a slice, as inference and validation read rows) is
    scaled on its own, so memory grows with the batch, not with ``X``; rows in
    a shuffled order (training) are gathered from one copy of the whole
    scaled array in ``dtype`` on the device, made once, block by block.

    Parameters
    ----------
    X : ndarray or scipy.sparse matrix of shape (n_samples, n_features)
        The data. It is never modified: scaling writes to new arrays.
    offset, scale : ndarray of shape (n_features,)
        Each row is served as ``(row - offset) / scale``.
    device : torch.device
        Where batches are made.
    dtype : torch.dtype, default=torch.float32
        Floating point type of the batches.
    fill : ndarray of shape (n_features,), default=None
        The value, in the units of ``X``, that the input of a batch holds for
        a missing (NaN) entry; ``None`` is ``offset`` (0 once scaled).

    Raises
    ------
    ValueError
        When a batch is made whose scaled values do not fit in ``dtype``.
    """

    # Rows scaled at a time when the whole scaled copy is made.
    _BLOCK_ROWS = 4096

    def __init__(self, X, offset, scale, device, dtype=torch.float32, fill=None):
        self.X = X.tocsr() if sp.issparse(X) else X
        self.offset = np.asarray(offset, dtype=np.float64)
        self.scale = np.asarray(scale, dtype=np.float64)
        self.device = device
        self.dtype = dtype
        self.fill = self.offset if fill is None else np.asarray(fill, dtype=np.float64)
        self.has_missing = has_missing(self.X)
        self._scaled_fill = None  # the fill, scaled, as a tensor, made once
        self._numpy_dtype = torch.empty((), dtype=dtype).numpy().dtype
        self._dense = None
        self._scaling32 = None  # offset and scale as float32 tensors, made once

    def __len__(self):
        return self.X.shape[0]

    def __getitem__(self, i):
        return self.batch(np.array([i]))[0]

    def _scaled64(self, block):
        """``block`` (rows of ``X``) scaled, as a float64 NumPy array."""
        if sp.issparse(block):
            block = block.toarray()
        scaled = np.subtract(block, self.offset, dtype=np.float64)
        scaled /= self.scale
        return scaled

    def _scaled(self, block):
        """``block`` (rows of ``X``) scaled, as a ``dtype`` tensor on the device."""
        if self.dtype == torch.float32 and block.dtype == np.float32 and not sp.issparse(block):
            return self._scaled32(block)
        scaled = self._scaled64(block)
        with np.errstate(over="ignore"):  # an overflow is reported below
            cast = scaled.astype(self._numpy_dtype, copy=False)
        if not np.isfinite(cast).all() and np.isinf(cast).any():  # NaN: missing
            self._raise_too_large(block)
        return torch.from_numpy(cast).to(self.device)

    def _scaled32(self, block):
        """Float32 ``block`` scaled in float32 by torch, on the device.

        One fused pass, ``block * (1 / scale) - offset / scale``; its rounding
        is of the order of the input's own. A finite sum proves every value
        finite at a fraction of the cost of ``isfinite``; only a sum that
        overflowed is checked value by value.
        """
        if self._scaling32 is None:
            self._scaling32 = tuple(torch.as_tensor(v, dtype=torch.float32, device=self.device)
                                    for v in (-self.offset / self.scale, 1.0 / self.scale))
        shift, factor = self._scaling32
        if not (block.flags.writeable and min(block.strides) >= 0):
            # A read-only memmap, or reversed rows (X[::-1]): torch takes
            # neither, so this block is copied.
            block = np.array(block)
        scaled = torch.addcmul(shift, torch.from_numpy(block).to(self.device), factor)
        if not (torch.isfinite(scaled.sum()) or not torch.isinf(scaled).any()):
            self._raise_too_large(block)
        return scaled

    def _raise_too_large(self, block):
        with np.errstate(over="ignore"):
            largest = np.nanmax(np.abs(self._scaled64(block)))
        raise ValueError(
            f"X has values of magnitude up to {largest:.3g} after "
            f"scaling, which do not fit in {self._numpy_dtype}, the precision "
            "the network computes in. Scale the input (scaling='standard' or "
            "'minmax', or a scikit-learn scaler before the estimator)."
        )

    def _row_blocks(self):
        """``(start, rows)`` of consecutive blocks of ``_BLOCK_ROWS`` rows of ``X``."""
        for start in range(0, len(self), self._BLOCK_ROWS):
            yield start, self.X[start:start + self._BLOCK_ROWS]

    def batch(self, rows):
        """Return the scaled rows ``rows`` (a slice or an index tensor/array)."""
        if isinstance(rows, slice):
            return self._scaled(self.X[rows])
        if sp.issparse(self.X):
            if isinstance(rows, torch.Tensor):
                rows = rows.cpu().numpy()
            return self._scaled(self.X[rows])
        if self._dense is None:
            # One copy on the device in ``dtype``, sliced per batch.
            self._dense = torch.empty(self.X.shape, dtype=self.dtype, device=self.device)
            for start, block in self._row_blocks():
                self._dense[start:start + block.shape[0]] = self._scaled(block)
        return self._dense[rows]

    def scaled_blocks(self):
        """Yield the network's input in consecutive blocks of rows, as float64 NumPy arrays.

        The rows are scaled, and their missing entries filled as in
        :meth:`inputs`.
        """
        scaled_fill = (self.fill - self.offset) / self.scale
        for _, block in self._row_blocks():
            scaled = self._scaled64(block)
            yield np.where(np.isnan(scaled), scaled_fill, scaled) if self.has_missing else scaled

    def max_abs(self):
        """The largest magnitude of a scaled value, in float64."""
        if len(self) == 0:
            return 0.0
        return max(float(np.nanmax(np.abs(self._scaled64(block))))
                   for _, block in self._row_blocks())

    def inputs(self, Xb):
        """The network's input for the scaled batch ``Xb``: its missing entries filled."""
        if not self.has_missing:
            return Xb
        if self._scaled_fill is None:
            self._scaled_fill = torch.as_tensor((self.fill - self.offset) / self.scale,
                                                dtype=self.dtype, device=self.device)
        return filled(Xb, self._scaled_fill.to(Xb.dtype))

    def subset(self, rows):
        """A dataset of the rows ``rows`` only, scaled and filled the same way."""
        return ArrayDataset(self.X[rows], self.offset, self.scale, self.device, self.dtype,
                            self.fill)


class BatchIterator:
    """Iterate over an :class:`ArrayDataset` in mini-batches of ``(X, X)``.

    It takes the place of skorch's ``iterator_train`` / ``iterator_valid``
    (``torch.utils.data.DataLoader``), so it accepts the same leading
    arguments. The target of an autoencoder is its input, so each batch is the
    pair ``(Xb, Xb)``; with missing entries, ``(input, Xb)``, where the input
    has them filled (:meth:`ArrayDataset.inputs`) and ``Xb`` keeps their NaN.

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
            yield self.dataset.inputs(Xb), Xb
