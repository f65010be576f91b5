"""Fit and transform time on CUDA against the CPU, on a larger image-sized table.

60,000 rows of 784 features (the size of MNIST's training set), synthetic so
that nothing needs downloading: rank-32 structure plus noise. A dense
(256, 128) autoencoder and a convolutional one ((16, 32) channels, rows read
as 1x28x28 images), both with 32 codes, are each fitted for 3 epochs at batch
256 on every available device, after a short warm-up fit.

Run: ``python -m benchmarks.gpu [--threads N]``
"""

import argparse
import time
import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning

from skae import AutoencoderTransformer, ConvNetwork, DenseNetwork

from ._budget import steps_for_epochs

NETWORKS = {
    "dense (256, 128)": {"network": DenseNetwork(hidden_layer_sizes=(256, 128))},
    "conv (16, 32)": {"network": ConvNetwork(input_shape=(1, 28, 28))},
}


def synthetic_images(n_samples=60_000, n_features=784, rank=32, seed=0):
    """Float32 rows with low-rank structure plus a little noise."""
    rng = np.random.RandomState(seed)
    X = (rng.rand(n_samples, rank) @ rng.rand(rank, n_features)).astype(np.float32)
    return X + 0.05 * rng.rand(n_samples, n_features).astype(np.float32)


def run(epochs=3, devices=None):
    """Rows ``(network, device, fit seconds, transform seconds)``."""
    if devices is None:
        devices = ["cuda", "cpu"] if torch.cuda.is_available() else ["cpu"]
    X = synthetic_images()
    rows = []
    for name, params in NETWORKS.items():
        for device in devices:
            model = AutoencoderTransformer(n_components=32, batch_size=256, tol=0.0,
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: torch's choice)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"| network | device | fit, {args.epochs} epochs of 60000x784 (s) | "
          "transform 60000 rows (s) |")
    print("|---|---|---:|---:|")
    for name, device, fit_seconds, transform_seconds in run(args.epochs):
        print(f"| {name} | {device} | {fit_seconds:.2f} | {transform_seconds:.2f} |")


if __name__ == "__main__":
    main()
