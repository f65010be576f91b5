"""Settings and helpers shared by the whole test suite."""

import warnings

import pytest
import torch
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from skae import DenseNetwork

#: Settings every fast test fit shares: CPU, seeded.
CPU = {"device": "cpu", "random_state": 0}


def dense(*hidden_layer_sizes, **params):
    """A ``DenseNetwork`` with the given hidden widths."""
    return DenseNetwork(hidden_layer_sizes=hidden_layer_sizes, **params)


def steps(epochs, n_rows, batch_size):
    """The ``max_steps`` of ``epochs`` passes over ``n_rows`` rows."""
    return epochs * -(-n_rows // batch_size)


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
