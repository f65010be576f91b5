"""What a fit checks and reports about its training: divergence, budget, history.

- :func:`check_not_diverged` raises :class:`~skae.TrainingDivergedError` on a
  fit far worse than reconstructing every row by the mean row;
- :func:`history_attributes` reads the fitted attributes of the history
  (``n_iter_``, ``loss_curve_``, validation scores);
- :func:`budget_warning` says whether a fit that used all of ``max_steps``
  had not settled.
"""

import math

import numpy as np
import torch

from ._inference import OutputOverflowError, map_batches
from ._missing import column_means, observed_mean
from ._net import BestEpochEarlyStopping, TrainingDivergedError, divergence_advice, returned_epoch

# A fit this many times worse than reconstructing every row by the mean row
# has diverged (see check_not_diverged).
DIVERGENCE_FACTOR = 100.0
DIVERGENCE_CHECK_ROWS = 4096
# A fit that used all of max_steps while its training loss still fell by more
# than this share over the last fifth of its steps has not settled, and fit
# warns; fewer steps than five times SETTLED_MIN_WINDOW are too few to judge.
SETTLED_TOLERANCE = 0.05
SETTLED_MIN_WINDOW = 4


def check_not_diverged(X, seed, fitted, plan, n_jobs=None):
    """Raise when the fitted network reconstructs far worse than the mean row.

    The divergence guard stops training on a loss that is not finite, but a
    too large learning rate can also leave the weights huge and the loss
    finite at 1e30. Any network can reconstruct every row by the mean
    training row (zero weights, biases at the mean), so a fit more than
    ``DIVERGENCE_FACTOR`` times worse than that is diverged, not a poor
    optimum. Both errors are the criterion in the scaled space, measured in
    one pass over at most ``DIVERGENCE_CHECK_ROWS`` training rows.
    """
    if X.shape[0] > DIVERGENCE_CHECK_ROWS:
        rows = np.random.RandomState(seed).choice(X.shape[0], DIVERGENCE_CHECK_ROWS,
                                                  replace=False)
        X = X[np.sort(rows)]
    mean_row = (column_means(X) - fitted["input_offset_"]) / fitted["input_scale_"]

    def mean_row_errors(scorer, inputs, target):
        return observed_mean(scorer.entry_errors(
            torch.as_tensor(mean_row, dtype=inputs.dtype,
                            device=inputs.device).expand_as(inputs), target))

    def both_errors(scorer, inputs, target):  # the network's and the mean row's
        return torch.stack([scorer.row_errors(inputs, target),
                            mean_row_errors(scorer, inputs, target)], dim=1)

    try:
        errors = map_batches(fitted, X, both_errors, n_jobs=n_jobs)
        error, baseline = float(errors[:, 0].astype(np.float64).mean()), float(
            errors[:, 1].mean())
    except OutputOverflowError:  # the weights are huge: reported below
        error = math.inf
        baseline = float(map_batches(fitted, X, mean_row_errors, n_jobs=n_jobs).mean())
    if not error <= max(DIVERGENCE_FACTOR * baseline, 1.0):
        raise TrainingDivergedError(
            f"Training diverged: after {len(fitted['net_'].history)} epochs the "
            f"network's {plan.params['loss']} on the training data is {error:.3g}, "
            f"{error / max(baseline, 1e-300):.3g} times that of reconstructing "
            f"every row by the mean row ({baseline:.3g}). "
            + divergence_advice(plan.params["learning_rate"])
        )


def _start_loss(net):
    """The validation loss of the weights training started from (kept by early stopping)."""
    return next(callback.best_score_ for _, callback in net.callbacks_
                if isinstance(callback, BestEpochEarlyStopping))


def history_attributes(net, early_stopping):
    """Fitted attributes read from the training history of ``net``."""
    history = net.history
    fitted = {
        "n_iter_": len(history),
        "n_steps_": int(sum(history[:, "train_batch_count"])),
        "loss_curve_": list(history[:, "train_loss"]),
    }
    validated = any("valid_loss" in epoch for epoch in history)
    if early_stopping is True or (early_stopping and validated):
        # Epochs of partial_fit have no validation split, hence no score.
        fitted["validation_scores_"] = [-epoch["valid_loss"] for epoch in history
                                        if "valid_loss" in epoch]
        # The score of the weights returned (the KL warm-up of a VAE
        # excluded), while those are weights that early stopping chose.
        epoch = returned_epoch(net)
        returned = history[epoch - 1] if epoch else {"valid_loss": _start_loss(net)}
        if "valid_loss" in returned:
            fitted["best_validation_score_"] = -returned["valid_loss"]
    return fitted


def budget_warning(owner, net, max_steps, falling_is_unsettled):
    """The ``ConvergenceWarning`` message of a fit that used all of ``max_steps``, or ``None``.

    Reaching the budget is no failure in itself (the detector's budget is
    deliberate, and early stopping keeps the best epoch whatever the
    budget): the fit has not settled when its training loss still fell
    by more than ``SETTLED_TOLERANCE`` over the last fifth of its steps,
    compared with the fifth before; ``falling_is_unsettled`` says whether
    that counts for this estimator.
    """
    losses = [batch["train_loss"] for epoch in net.history[:, "batches"]
              for batch in epoch if "train_loss" in batch]
    window = len(losses) // 5
    if window < SETTLED_MIN_WINDOW:
        return (f"{owner} trained for only max_steps={max_steps} "
                "steps, too few to tell whether its loss settled; raise max_steps.")
    before, last = np.mean(losses[-2 * window:-window]), np.mean(losses[-window:])
    if falling_is_unsettled and before - last > SETTLED_TOLERANCE * abs(last):
        return (f"{owner}'s training loss still fell by "
                f"{(before - last) / abs(last):.0%} over the last fifth of "
                f"max_steps={max_steps}; raise max_steps for a settled fit.")
    return None
