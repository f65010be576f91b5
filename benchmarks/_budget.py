"""Epoch budgets of the benchmarks as the step budgets of skae estimators.

skae budgets training in optimiser steps (``max_steps``). The benchmark
settings were chosen, and their results recorded, as passes over the training
rows; converting keeps them the same training as before.
"""

import math


def steps_for_epochs(epochs, n_rows, batch_size):
    """``max_steps`` of ``epochs`` passes over ``n_rows`` rows in batches of ``batch_size``."""
    return epochs * math.ceil(n_rows / max(1, min(batch_size, n_rows)))
