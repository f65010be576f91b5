"""Settings shared by the whole test suite."""

import pytest
import torch
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
