"""Batched inference of a fitted model: codes, reconstructions and scores.

Every output of a fitted estimator is one pass of :func:`map_batches` over
its rows: batches are scaled on the host like the training data
(:class:`~skae._data.ArrayDataset`), and a function of the model's
:class:`~skae._scoring.Scorer` and the batch computes the output, in the
precision of the input (:func:`inference_module`), batch by batch into one
NumPy array. The functions take the fitted state (a dict of fitted
attributes), so they serve a fit's checks before the state is assigned.
"""

import numpy as np
import torch

from ._data import ArrayDataset, BatchIterator
from ._device import cpu_threads
from ._net import float64_copy
from ._scoring import Scorer

INFERENCE_BATCH_SIZE = 4096


class OutputOverflowError(ValueError):
    """Raised when a network's outputs on finite input are not finite."""


def missing_fill(fitted):
    """The input of a missing entry of the fitted state ``fitted``, in the units of ``X``.

    The training means; a model fitted before missing values were supported
    has none recorded, and gets its offset (0 once scaled).
    """
    return fitted.get("missing_fill_", fitted["input_offset_"])


def map_batches(fitted, X, fn, *, scaled=True, n_jobs=None):
    """``fn(scorer, inputs, target)`` over batches of ``X``, written into one NumPy array.

    Batches are scaled like the training data unless ``scaled=False`` (codes
    to decode), and computed in the precision of :func:`inference_module`.
    ``inputs`` is the network's input, its missing entries filled;
    ``target`` the scaled batch with their NaN.
    """
    net = fitted["net_"]
    module, dtype = inference_module(net, X.dtype)
    scorer = Scorer.of_fitted(fitted, module)
    n_columns = X.shape[1]
    offset, scale = ((fitted["input_offset_"], fitted["input_scale_"]) if scaled
                     else (np.zeros(n_columns), np.ones(n_columns)))
    dataset = ArrayDataset(X, offset, scale, net.device, dtype,
                           fill=missing_fill(fitted) if scaled else None)
    result, start = None, 0
    with torch.inference_mode(), cpu_threads(n_jobs):
        for inputs, target in BatchIterator(dataset, inference_batch_size(module)):
            output = fn(scorer, inputs, target)
            check_finite_output(output, inputs, target)
            output = output.cpu().numpy()
            if result is None:  # one output array, no list of batches to join
                result = np.empty((X.shape[0], *output.shape[1:]), output.dtype)
            result[start:start + len(output)] = output
            start += len(output)
    return result


def encode(fitted, X, n_jobs=None):
    """Codes of validated ``X``, in the dtype of ``X``."""
    codes = map_batches(fitted, X, lambda scorer, inputs, _: scorer.module.encode(inputs),
                        n_jobs=n_jobs)
    return codes.astype(X.dtype, copy=False)


def decode(fitted, Z, dtype, n_jobs=None):
    """Checked codes ``Z`` decoded to the original units, in ``dtype``."""
    out_dtype = torch.from_numpy(np.empty(0, dtype)).dtype
    offset, scale = (torch.as_tensor(v, dtype=out_dtype, device=fitted["net_"].device)
                     for v in (fitted["input_offset_"], fitted["input_scale_"]))

    def decoded(scorer, codes, _):  # back to the original units, batch by batch
        return torch.addcmul(offset, scorer.module.decode(codes).to(out_dtype), scale)

    return map_batches(fitted, Z, decoded, scaled=False, n_jobs=n_jobs)


def objective_scores(fitted, X, n_jobs=None):
    """The fitted objective's float64 score of every row of validated ``X``.

    The objective's per-batch scores (negative error, or ELBO) plus its
    constant shift, of shape ``(n_samples,)``, or ``(n_samples, n_members)``
    for an ensemble.
    """
    scores = map_batches(fitted, X, lambda scorer, inputs, target:
                         scorer.member_scores(inputs, target), n_jobs=n_jobs)
    objective, criterion = fitted["_objective_"], fitted["net_"].criterion_
    return (scores.astype(np.float64)
            + objective.score_shift(criterion.loss, fitted["input_scale_"]))


def inference_batch_size(module):
    """Rows per inference batch: ``INFERENCE_BATCH_SIZE`` shared by an ensemble's members.

    An ensemble computes every member's activations and reconstruction of
    each row at once, so its batches are that many times smaller, and its
    peak memory is that of one network's batch.
    """
    return max(1, INFERENCE_BATCH_SIZE // getattr(module, "n_members", 1))


def check_finite_output(output, Xb, target):
    """Raise :class:`OutputOverflowError` unless the batch ``output`` is finite.

    The input was checked finite, so a value that is not is an overflow in
    the network's layers; per-entry outputs may be NaN only where the entry
    is missing (NaN in ``target``). A finite sum proves every value finite,
    at a fraction of the cost of ``isfinite``; only a sum that is not is
    checked value by value.
    """
    if not output.is_floating_point() or torch.isfinite(output.sum()):
        return
    if output.shape == target.shape:  # per entry: a missing entry's NaN is no overflow
        output = torch.where(torch.isnan(target), 0.0, output)
    if torch.isfinite(output).all():
        return
    largest = float(Xb.abs().max())
    raise OutputOverflowError(
        f"The network's outputs overflow on this finite input: its rows reach "
        f"{largest:.3g} in the scaled space the network computes in "
        f"({str(Xb.dtype).removeprefix('torch.')}, up to "
        f"{torch.finfo(Xb.dtype).max:.3g}), and its layers give values beyond that "
        "range (inf or NaN). Check the input for wrongly huge values, or scale it "
        "like the training data."
    )


def inference_module(net, input_dtype):
    """The fitted module of ``net`` in eval mode, and the dtype it computes in.

    Inference computes in the precision of the input: float32 input runs the
    trained float32 module as it is, at the speed of the network; float64
    input on the CPU runs a float64 copy, so a float64 row's output does not
    depend on which rows share its batch (float32 matrix products vary with
    the batch shape in the 7th digit), which scikit-learn's invariance checks
    test. On CUDA everything runs as trained, in float32. The copy is made
    once per version of the fitted weights and kept beside the module, not in
    the estimator, so pickles stay small (see :func:`~skae._net.float64_copy`).
    """
    module = net.module_.eval()
    if torch.device(net.device).type == "cpu" and input_dtype == np.float64:
        module = float64_copy(module)
    return module, next(module.parameters()).dtype
