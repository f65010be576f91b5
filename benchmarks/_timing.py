"""Timing shared by the benchmark scripts."""

import time
import warnings

import torch
from sklearn.exceptions import ConvergenceWarning


def add_threads_argument(parser, help="torch CPU threads (default: torch's choice)"):
    """Add the ``--threads N`` option of the benchmark scripts (see :func:`apply_threads`)."""
    parser.add_argument("--threads", type=int, default=None, help=help)


def apply_threads(args):
    """Set torch's CPU thread count to ``args.threads`` when it was given."""
    if args.threads:
        torch.set_num_threads(args.threads)


def plain_torch_epoch(module, optimizer, data, batch_size):
    """One epoch of a hand-written training loop; returns the steps taken.

    Shuffle, slice each batch from the tensor ``data``, reconstruct it, MSE,
    an optimiser step: the baseline that skae's training overhead is measured
    against (benchmarks.overhead, benchmarks.gpu).
    """
    order = torch.randperm(len(data), device=data.device)
    n_steps = 0
    for first in range(0, len(data), batch_size):
        batch = data[order[first:first + batch_size]]
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(module(batch)[0], batch)
        loss.backward()
        optimizer.step()
        loss.item()  # skorch records every batch loss; so does this loop
        n_steps += 1
    return n_steps


def timed_fit(model, X):
    """Fit ``model`` to ``X``; the wall-clock seconds it took.

    Benchmarks train on fixed budgets, so reaching the budget is expected
    there: its ``ConvergenceWarning`` is silenced.
    """
    return timed_fit_score(model, X, None)[1]


def timed_fit_score(model, X_fit, X_score):
    """Fit ``model`` to ``X_fit`` and score ``X_score`` with ``score_samples``.

    Returns
    -------
    scores : ndarray or None
        ``model.score_samples(X_score)``; ``None`` when ``X_score`` is None.
    seconds : float
        Wall-clock time of the fit and the scoring together.
    n_convergence_warnings : int
        ``ConvergenceWarning`` s raised (and silenced) meanwhile, so that a
        benchmark can report fits that ended on their budget with the loss
        still moving.
    """
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(X_fit)
        scores = None if X_score is None else model.score_samples(X_score)
    seconds = time.perf_counter() - start
    for warning in caught:  # pass on everything but the convergence warnings
        if not issubclass(warning.category, ConvergenceWarning):
            warnings.warn_explicit(warning.message, warning.category, warning.filename,
                                   warning.lineno)
    n_convergence = sum(issubclass(w.category, ConvergenceWarning) for w in caught)
    return scores, seconds, n_convergence
