"""Device resolution, CPU threads and seeding, in one place for every estimator."""

import contextlib
import threading

import numpy as np
import torch
from joblib import effective_n_jobs
from sklearn.utils import check_random_state


def available_devices():
    """The device types this machine can train on, e.g. ``['cpu', 'cuda']``."""
    devices = ["cpu"]
    if torch.cuda.is_available():
        devices.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append("mps")
    return devices


def resolve_device(device):
    """Turn the ``device`` parameter into a torch device string.

    Parameters
    ----------
    device : str or torch.device
        ``'auto'`` picks ``'cuda'`` when CUDA is available and ``'cpu'``
        otherwise; anything else is parsed by :class:`torch.device` and must
        name a device type this machine has (see :func:`available_devices`).

    Returns
    -------
    str

    Raises
    ------
    ValueError
        If ``device`` names no device, a device type skae does not train on
        (``'meta'``, ``'xpu'``, ...), or one this machine does not have.
    """
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    available = available_devices()
    choices = ", ".join(repr(name) for name in ["auto", *available])
    has = " and ".join(available)
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError, ValueError) as exc:
        raise ValueError(
            f"device={device!r} is not a device; this machine has {has}: use "
            f"one of {choices}."
        ) from exc
    if parsed.type not in available:
        raise ValueError(
            f"device={device!r} is not available: this machine has {has}; use "
            f"one of {choices}."
        )
    if parsed.type == "cuda" and parsed.index is not None \
            and parsed.index >= torch.cuda.device_count():
        raise ValueError(
            f"device={device!r} is not available: this machine has "
            f"{torch.cuda.device_count()} CUDA device(s); use one of {choices}."
        )
    return str(parsed)


def draw_seed(random_state):
    """Draw one 31-bit seed from ``random_state``.

    ``None`` takes fresh entropy from the operating system instead of the
    global NumPy generator, so the caller's global RNG state is never advanced.
    """
    if random_state is None:
        return int(np.random.SeedSequence().generate_state(1)[0] >> 1)
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


_THREADS_LOCK = threading.Lock()
_THREADS_USERS = {"count": 0, "before": None}


def effective_threads(n_jobs):
    """The number of torch CPU threads for the ``n_jobs`` parameter.

    ``None`` is one thread, a positive int that many, and a negative int
    counts back from the number of CPUs as in joblib (``-1``: all of them).
    """
    if n_jobs == 0:
        raise ValueError("n_jobs=0 asks for no thread at all: use None or 1 for one "
                         "thread, or -1 for all CPUs.")
    return max(1, effective_n_jobs(n_jobs))


@contextlib.contextmanager
def cpu_threads(n_jobs):
    """Run the block with ``effective_threads(n_jobs)`` torch CPU threads, then restore.

    torch's intra-op thread count is process-wide. Nested and concurrent
    blocks (fits in several Python threads) share one count: the first block
    to enter records the caller's setting and the last to leave restores it,
    so a fit leaves the setting as it found it.
    """
    threads = effective_threads(n_jobs)
    with _THREADS_LOCK:
        if _THREADS_USERS["count"] == 0:
            _THREADS_USERS["before"] = torch.get_num_threads()
        _THREADS_USERS["count"] += 1
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
    try:
        yield threads
    finally:
        with _THREADS_LOCK:
            _THREADS_USERS["count"] -= 1
            if _THREADS_USERS["count"] == 0 and \
                    torch.get_num_threads() != _THREADS_USERS["before"]:
                torch.set_num_threads(_THREADS_USERS["before"])
