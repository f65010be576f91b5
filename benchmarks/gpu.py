"""Fit and transform time on CUDA against the CPU, on a larger image-sized table.

60,000 rows of 784 features (the size of MNIST's training set), synthetic so
that nothing needs downloading: rank-32 structure plus noise. A dense
(256, 128) autoencoder and a convolutional one ((16, 32) channels, rows read
as 1x28x28 images), both with 32 codes, are each fitted for 3 epochs at batch
256 on every available device, after a short warm-up fit.

``--steps`` measures the time per training step at batch 128 of the dense
network instead (issue 13): a plain eager torch loop, skae eagerly, and skae
with ``compile=True`` (CUDA graphs on CUDA), each over ``--epochs`` epochs
after a first, untimed epoch that warms up and pays the compilation; the
target on an H100 is 0.5 or less of the eager loop's time per step.

Run: ``python -m benchmarks.gpu [--threads N]`` or
``python -m benchmarks.gpu --steps [--epochs 3] [--rows 60000]``
"""

import argparse
import time
import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from skorch.callbacks import Callback

from skae import AutoencoderTransformer, ConvNetwork, DenseNetwork
from skae._torch_modules import DenseAutoencoder

from ._budget import steps_for_epochs
from ._timing import add_threads_argument, apply_threads, plain_torch_epoch

NETWORKS = {
    "dense (256, 128)": {"network": DenseNetwork(hidden_layer_sizes=(256, 128),
                                                 linear_path=False)},
    "conv (16, 32)": {"network": ConvNetwork(input_shape=(1, 28, 28))},
}


def synthetic_images(n_samples=60_000, n_features=784, rank=32, seed=0):
    """Float32 rows with low-rank structure plus a little noise."""
    rng = np.random.RandomState(seed)
    X = (rng.rand(n_samples, rank) @ rng.rand(rank, n_features)).astype(np.float32)
    return X + 0.05 * rng.rand(n_samples, n_features).astype(np.float32)


def run(epochs=3, devices=None, n_samples=60_000):
    """Rows ``(network, device, fit seconds, transform seconds)`` on ``n_samples`` rows."""
    if devices is None:
        devices = ["cuda", "cpu"] if torch.cuda.is_available() else ["cpu"]
    X = synthetic_images(n_samples)
    rows = []
    for name, params in NETWORKS.items():
        for device in devices:
            model = AutoencoderTransformer(n_components=32, batch_size=256, tol=0.0,
                                           early_stopping=False, n_jobs=torch.get_num_threads(),
                                           n_iter_no_change=epochs, device=device,
                                           random_state=0, **params)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                model.set_params(max_steps=steps_for_epochs(1, 2000, 256)).fit(X[:2000])
                model.set_params(max_steps=steps_for_epochs(epochs, len(X), 256))
                start = time.perf_counter()
                model.fit(X)
                fit_seconds = time.perf_counter() - start
            start = time.perf_counter()
            model.transform(X)
            rows.append((name, device, fit_seconds, time.perf_counter() - start))
    return rows


def _synchronize(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def plain_loop_step_seconds(X, epochs, device, batch_size=128):
    """Seconds per step of a hand-written eager loop: slice, forward, MSE, Adam."""
    data = torch.as_tensor((X - X.mean(0)) / np.maximum(X.std(0), 1e-12), device=device)
    torch.manual_seed(0)
    module = DenseAutoencoder(X.shape[1], 32, (256, 128), "elu").to(device)
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-3)
    n_steps = 0
    for epoch in range(epochs + 1):  # the first epoch warms up, untimed
        if epoch == 1:
            _synchronize(device)
            start = time.perf_counter()
        steps = plain_torch_epoch(module, optimizer, data, batch_size)
        n_steps += steps if epoch > 0 else 0
    _synchronize(device)
    return (time.perf_counter() - start) / n_steps


class _EpochClock(Callback):
    """Records the time at the end of every epoch (after the device finishes)."""

    def initialize(self):
        self.times = []
        return self

    def on_epoch_end(self, net, **kwargs):
        _synchronize(net.device)
        self.times.append(time.perf_counter())


def skae_step_seconds(X, epochs, device, compile, batch_size=128):
    """Seconds per step over epochs 2 to ``epochs + 1`` of a fit.

    The first epoch warms up and pays the compilation; the steps after it
    are timed between the ends of epochs, by a callback.
    """
    model = AutoencoderTransformer(n_components=32, batch_size=batch_size, tol=0.0,
                                   early_stopping=False, n_jobs=torch.get_num_threads(),
                                   n_iter_no_change=epochs + 1, device=device,
                                   compile=compile, random_state=0,
                                   callbacks=[("clock", _EpochClock())],
                                   max_steps=steps_for_epochs(epochs + 1, len(X), batch_size),
                                   **NETWORKS["dense (256, 128)"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    times = dict(model.net_.callbacks_)["clock"].times
    steps_per_epoch = model.n_steps_ // len(times)
    return (times[-1] - times[0]) / (steps_per_epoch * (len(times) - 1))


def step_times(epochs=3, n_rows=60_000, device=None):
    """``{name: seconds per step}`` of the plain loop, skae eager and skae compiled."""
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    X = synthetic_images(n_rows)
    return device, {
        "plain eager torch loop": plain_loop_step_seconds(X, epochs, device),
        "skae, compile=False": skae_step_seconds(X, epochs, device, False),
        "skae, compile=True": skae_step_seconds(X, epochs, device, True),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    add_threads_argument(parser)
    parser.add_argument("--steps", action="store_true",
                        help="time per training step at batch 128, eager and compiled")
    parser.add_argument("--rows", type=int, default=60_000, help="rows of --steps")
    args = parser.parse_args(argv)
    apply_threads(args)
    if args.steps:
        device, times = step_times(args.epochs, args.rows)
        loop = times["plain eager torch loop"]
        print(f"dense 784-256-128-32 on {args.rows} x 784, batch 128, {args.epochs} epochs, "
              f"{device}:")
        print("| path | ms per step | / plain eager loop |")
        print("|---|---:|---:|")
        for name, seconds in times.items():
            print(f"| {name} | {1e3 * seconds:.3f} | {seconds / loop:.2f} |")
        return
    print(f"| network | device | fit, {args.epochs} epochs of 60000x784 (s) | "
          "transform 60000 rows (s) |")
    print("|---|---|---:|---:|")
    for name, device, fit_seconds, transform_seconds in run(args.epochs):
        print(f"| {name} | {device} | {fit_seconds:.2f} | {transform_seconds:.2f} |")


if __name__ == "__main__":
    main()
