"""Timing shared by the benchmark scripts."""

import time
import warnings

from sklearn.exceptions import ConvergenceWarning


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
