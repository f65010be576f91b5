"""Random numbers private to one fit.

Every random number a fit draws comes from here, so that two fits with the
same ``random_state`` give the same model even when they run at the same time
in two threads, and the caller's global torch and NumPy generators are never
touched:

- :func:`fit_random_state` opens the fit's private generators for the block
  (one seeded ``torch.Generator`` per device, created on first use) in the
  current thread only;
- :func:`randn_like`, :func:`rand_like` and :class:`Dropout` draw from them,
  and from torch's global generator outside a fit, so the modules behave as
  plain torch modules when used on their own;
- :func:`seeded_initialisation` runs network construction, whose
  ``torch.nn.init`` calls only know the global generator, with that generator
  forked, seeded and restored under a lock shared by all threads.

Nothing here imports scikit-learn.
"""

import threading
from contextlib import contextmanager, nullcontext

import torch
import torch.nn.functional as F
from torch import nn

_local = threading.local()
# torch's global generators are process-wide: one thread at a time forks,
# seeds and restores them.
_GLOBAL_RNG_LOCK = threading.RLock()


class _FitGenerators:
    """The seed of a fit and its generators, one per device."""

    def __init__(self, seed):
        self.seed = int(seed)
        self._generators = {}

    def get(self, device):
        device = torch.device(device)
        if device.type == "cuda" and device.index is None:
            device = torch.device("cuda", torch.cuda.current_device())
        if device not in self._generators:
            self._generators[device] = torch.Generator(device=device).manual_seed(self.seed)
        return self._generators[device]


@contextmanager
def fit_random_state(seed):
    """Make ``seed`` the source of every random number drawn in this thread.

    The generators are made on first use, one per device, each seeded with
    ``seed``; blocks nest, the innermost one counting.

    Parameters
    ----------
    seed : int
        Seed of the fit's private generators.

    Yields
    ------
    None
    """
    previous = getattr(_local, "generators", None)
    _local.generators = _FitGenerators(seed)
    try:
        yield
    finally:
        _local.generators = previous


def current_seed():
    """The seed of the fit running in this thread, or ``None`` outside a fit."""
    generators = getattr(_local, "generators", None)
    return None if generators is None else generators.seed


def generator(device):
    """The current fit's generator on ``device``, or ``None`` outside a fit."""
    generators = getattr(_local, "generators", None)
    return None if generators is None else generators.get(device)


@contextmanager
def torch_seeded(seed):
    """Run a block with torch's global generators seeded, restoring them after.

    The block holds a lock shared by every thread, so keep it short: two
    threads must never interleave forking and restoring the global state.

    Parameters
    ----------
    seed : int
    """
    cuda_devices = (list(range(torch.cuda.device_count()))
                    if torch.cuda.is_available() else [])
    with _GLOBAL_RNG_LOCK, torch.random.fork_rng(devices=cuda_devices):
        torch.manual_seed(seed)
        yield


def seeded_initialisation():
    """A context for drawing initial weights: :func:`torch_seeded` with the
    current fit's seed, or nothing outside a fit."""
    seed = current_seed()
    return nullcontext() if seed is None else torch_seeded(seed)


def randn_like(x):
    """Standard normal noise shaped like ``x``, from the current fit's generator."""
    gen = generator(x.device)
    if gen is None:
        return torch.randn_like(x)
    return torch.randn(x.shape, generator=gen, dtype=x.dtype, device=x.device)


def rand_like(x):
    """Uniform [0, 1) noise shaped like ``x``, from the current fit's generator."""
    gen = generator(x.device)
    if gen is None:
        return torch.rand_like(x)
    return torch.rand(x.shape, generator=gen, dtype=x.dtype, device=x.device)


class Dropout(nn.Dropout):
    """:class:`torch.nn.Dropout` whose masks come from the current fit's generator.

    Parameters
    ----------
    p : float, default=0.5
        Probability that an entry is zeroed in training mode; the others are
        scaled by ``1 / (1 - p)``.
    """

    def forward(self, x):
        gen = generator(x.device)
        if gen is None or not self.training or self.p == 0:
            return F.dropout(x, self.p, self.training, self.inplace)
        if self.p == 1:
            return x * 0.0
        keep = torch.empty_like(x).bernoulli_(1.0 - self.p, generator=gen)
        return x * keep / (1.0 - self.p)
