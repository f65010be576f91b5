"""Timing shared by the benchmark scripts."""

import time
import warnings

from sklearn.exceptions import ConvergenceWarning


def timed_fit(model, X):
    """Fit ``model`` to ``X``; the wall-clock seconds it took.

    Benchmarks train on fixed epoch budgets, so reaching ``max_epochs`` is
    expected there: its ``ConvergenceWarning`` is silenced.
    """
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    return time.perf_counter() - start
