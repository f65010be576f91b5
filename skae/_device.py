"""Device resolution and seeding, in one place for every estimator."""

import numpy as np
import torch
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
