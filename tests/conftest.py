"""Fixtures shared by the whole test suite (constants and helpers: :mod:`skae._testing`)."""

import warnings

import pytest
import torch
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    """Run the suite single-threaded (restored after).

    The networks in the tests are tiny: extra threads only add
    synchronisation, and on a busy 2-core machine oversubscribed threads made
    the suite about 5x slower.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(limits=1):
        yield
    torch.set_num_threads(before)


@pytest.fixture
def no_convergence_warnings():
    """Ignore ConvergenceWarning: fast test fits stop at their budget by design."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield
