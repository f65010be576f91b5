"""The one scoring path: raw rows, scaled, through the network, to errors and scores.

:class:`Scorer` is a torch module built from a fitted state. Its parts are
the steps every output of a fitted estimator is made of:

- :func:`scale_rows`: raw rows to the network's input (missing entries
  filled) and the scaled target (missing entries NaN);
- :meth:`Scorer.entry_errors`: the per-entry error of a reconstruction, the
  fitted criterion's (the one error function of the package);
- :meth:`Scorer.member_scores`: the fitted objective's score of every row,
  per member for an ensemble, with the objective's constant shift;
- :func:`combined_scores`: an ensemble's score of a row from its members';
- :func:`decisions` and :func:`labels`: a detector's shifted scores and its
  +1 / -1 labels.

Batched inference (:mod:`skae._inference`) scales batches on the host, in
float64 (so sparse rows and large offsets keep their precision), and calls
the scorer's methods on each scaled batch; the ONNX graph
(:mod:`skae.export`) and ``encoder_module`` call :meth:`Scorer.forward` and
:func:`scale_rows` on raw float32 rows. So the estimator, its ONNX model and
its encoder module compute the same thing in the same order.
"""

import torch
from torch import nn

from ._missing import filled, observed_mean


def scale_rows(x, offset, scale, scaled_fill):
    """Raw rows ``x`` as the network's input and as the scaled target.

    Parameters
    ----------
    x : torch.Tensor of shape (n_rows, n_features)
        Raw rows; NaN is a missing entry. Cast to the dtype of ``offset``.
    offset, scale, scaled_fill : torch.Tensor of shape (n_features,)
        The input scaling, ``(x - offset) / scale``, and the scaled input of a
        missing entry.

    Returns
    -------
    inputs, target : torch.Tensor of shape (n_rows, n_features)
        The scaled rows with missing entries filled, and with them NaN.
    """
    target = (x.to(offset.dtype) - offset) / scale
    return filled(target, scaled_fill), target


def reconstruction_errors(module, criterion, inputs, target):
    """Per-entry errors of ``module``'s reconstruction of the scaled ``inputs``.

    The criterion's error of every entry (NaN where ``target`` is missing),
    of shape ``(n_rows, n_features)``, or ``(n_members, n_rows, n_features)``
    for an ensemble.
    """
    return criterion.elementwise(module(inputs)[0], target)


def combined_scores(member_scores, member_scale=None):
    """The score of every row from its members' (rows x members), NumPy or torch.

    The mean of the members' scores divided by ``member_scale``; without
    ``member_scale``, the scores as they are (a single network).
    """
    if member_scale is None:
        return member_scores
    return (member_scores / member_scale).mean(axis=1)


def decisions(scores, offset):
    """A detector's decision values: ``scores - offset``, negative for outliers."""
    return scores - offset


def labels(decision):
    """+1 where ``decision >= 0`` (inliers), -1 elsewhere, as integers (NumPy or torch)."""
    return (decision >= 0) * 2 - 1


class Scorer(nn.Module):
    """A fitted model's scoring, from raw rows to per-entry errors and row scores.

    Parameters
    ----------
    module : torch.nn.Module
        The fitted autoencoder module, in eval mode (a precision copy for
        inference, or a CPU float32 copy for export).
    criterion : skae._net.ReconstructionLoss
        The fitted criterion.
    objective : skae._objectives.Reconstruction
        The fitted objective.
    draws : ndarray or None
        The fixed code draws of an ELBO score (``_elbo_draws_``).
    score_shift : float
        The objective's constant added to every score.
    offset, scale, fill : ndarray of shape (n_features,)
        The input scaling and the raw input of a missing entry; kept as
        float32 buffers for :meth:`forward`.
    member_scale : ndarray of shape (n_members,), default=None
        An ensemble's member scales (``member_scale_``).
    threshold : float, default=None
        A detector's threshold on the scores (``offset_``).
    """

    def __init__(self, module, criterion, objective, draws, score_shift, offset, scale,
                 fill, member_scale=None, threshold=None):
        super().__init__()
        self.module = module
        self.criterion = criterion
        self.objective = objective
        self.draws = draws
        self.score_shift = score_shift
        self.register_buffer("offset", torch.as_tensor(offset, dtype=torch.float32))
        self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.float32))
        self.register_buffer("scaled_fill", torch.as_tensor((fill - offset) / scale,
                                                            dtype=torch.float32))
        self.register_buffer("member_scale", None if member_scale is None else
                             torch.as_tensor(member_scale, dtype=torch.float32))
        self.threshold = threshold

    @classmethod
    def of_fitted(cls, fitted, module=None, criterion=None):
        """The scorer of the fitted state ``fitted`` (a dict of fitted attributes).

        ``module`` and ``criterion`` replace the fitted ones (by default
        ``net_.module_`` and ``net_.criterion_``).
        """
        criterion = fitted["net_"].criterion_ if criterion is None else criterion
        objective = fitted["_objective_"]
        return cls(fitted["net_"].module_ if module is None else module, criterion,
                   objective, fitted.get("_elbo_draws_"),
                   objective.score_shift(criterion.loss, fitted["input_scale_"]),
                   fitted["input_offset_"], fitted["input_scale_"],
                   fitted.get("missing_fill_", fitted["input_offset_"]),
                   fitted.get("member_scale_"), fitted.get("offset_"))

    def entry_errors(self, reconstruction, target):
        """The criterion's error of every entry of ``reconstruction`` (NaN where missing)."""
        return self.criterion.elementwise(reconstruction, target)

    def reconstruction_errors(self, inputs, target):
        """Per-entry errors of the network's reconstruction (:func:`reconstruction_errors`)."""
        return reconstruction_errors(self.module, self.criterion, inputs, target)

    def row_errors(self, inputs, target):
        """Every row's error: the mean over its observed entries (and over members)."""
        entry_errors = self.reconstruction_errors(inputs, target)
        if entry_errors.ndim == 3:  # an ensemble's members: their mean
            entry_errors = entry_errors.mean(dim=0)
        return observed_mean(entry_errors, dim=1)

    def member_scores(self, inputs, target):
        """The objective's score of every row, ``(n_rows,)`` or ``(n_rows, n_members)``.

        Without the constant :attr:`score_shift`, which batched inference adds
        in float64 to the whole result.
        """
        return self.objective.batch_scores(self.module, self.criterion, inputs, self.draws,
                                           target).transpose(0, -1)

    def scaled(self, x):
        """Raw rows ``x`` as the network's input and the scaled target (:func:`scale_rows`)."""
        return scale_rows(x, self.offset, self.scale, self.scaled_fill)

    def scores(self, inputs, target):
        """Every row's score, its members' combined and shifted (``score_samples``)."""
        return combined_scores(self.member_scores(inputs, target) + self.score_shift,
                               self.member_scale)

    def forward(self, x):
        """Codes and scores of the raw rows ``x``: ``(codes, scores)``."""
        inputs, target = self.scaled(x)
        return self.module.encode(inputs), self.scores(inputs, target)
