"""Device resolution and RNG isolation, in one place for every estimator."""

from contextlib import contextmanager

import numpy as np
import torch
from sklearn.utils import check_random_state


def resolve_device(device):
    """Turn the ``device`` parameter into a torch device string.

    Parameters
    ----------
    device : str or torch.device
        ``'auto'`` picks ``'cuda'`` when CUDA is available and ``'cpu'``
        otherwise; anything else is parsed by :class:`torch.device`.

    Returns
    -------
    str

    Raises
    ------
    ValueError
        If the string names no device or names CUDA on a machine without it.
    """
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device={device!r} is not a device; use 'auto', 'cpu', 'cuda' or "
            "'cuda:N'."
        ) from exc
    if parsed.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was asked for, but CUDA is not available on "
            "this machine; use device='auto' or 'cpu'."
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


@contextmanager
def torch_seeded(seed):
    """Run a block with torch's global generators seeded, restoring them after.

    Network initialisation and dropout draw from torch's global generators;
    forking them keeps fits repeatable without disturbing the caller.
    """
    cuda_devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=cuda_devices):
        torch.manual_seed(seed)
        yield
