"""Training overhead of skae's skorch path against a hand-written PyTorch loop.

Both train the same network (digits, 64 features, ``hidden_layer_sizes=(64,)``,
8 codes, ELU, Adam, MSE, batch 128, 50 epochs, shuffled every epoch) in one
process, interleaved, so both see the same machine load. The figure is the
ratio of median fit times; below 1.15 means skorch costs less than 15 %.

Run: ``python -m benchmarks.overhead``
"""

import argparse
import time

import numpy as np
import torch
from sklearn.datasets import load_digits

from skae import AutoencoderTransformer, DenseNetwork
from skae._networks import DenseAutoencoder

from ._budget import steps_for_epochs
from ._timing import timed_fit

SETTINGS = {"n_components": 8, "hidden_layer_sizes": (64,), "activation": "elu",
            "learning_rate": 1e-3, "batch_size": 128}


def fit_skae(X, epochs, seed, device="cpu"):
    """Fit time of ``AutoencoderTransformer`` with early stopping disabled."""
    network = DenseNetwork(hidden_layer_sizes=SETTINGS["hidden_layer_sizes"],
                           activation=SETTINGS["activation"])
    model = AutoencoderTransformer(
        n_components=SETTINGS["n_components"], network=network,
        learning_rate=SETTINGS["learning_rate"], batch_size=SETTINGS["batch_size"],
        max_steps=steps_for_epochs(epochs, len(X), SETTINGS["batch_size"]), tol=0.0,
        n_iter_no_change=epochs, device=device, random_state=seed)
    return timed_fit(model, X)


def fit_plain_torch(X, epochs, seed, device="cpu"):
    """Fit time of a plain loop: scale, shuffle, slice batches, Adam steps."""
    start = time.perf_counter()
    std = X.std(axis=0)
    data = torch.as_tensor((X - X.mean(axis=0)) / np.where(std > 0, std, 1.0),
                           dtype=torch.float32, device=device)
    torch.manual_seed(seed)
    module = DenseAutoencoder(X.shape[1], SETTINGS["n_components"],
                              SETTINGS["hidden_layer_sizes"], SETTINGS["activation"]).to(device)
    optimizer = torch.optim.Adam(module.parameters(), lr=SETTINGS["learning_rate"])
    batch_size = SETTINGS["batch_size"]
    module.train()
    for _ in range(epochs):
        order = torch.randperm(len(data)).to(device)
        for first in range(0, len(data), batch_size):
            batch = data[order[first:first + batch_size]]
            optimizer.zero_grad()
            loss = torch.nn.functional.mse_loss(module(batch)[0], batch)
            loss.backward()
            optimizer.step()
            loss.item()  # skorch records every batch loss; so does this loop
    return time.perf_counter() - start


def measure(epochs=50, repeats=7, device="cpu"):
    """Median fit times of both, interleaved; returns a dict of figures."""
    X = load_digits().data
    fit_skae(X, 2, 0, device)  # warm up torch's kernels and allocator for both
    fit_plain_torch(X, 2, 0, device)
    times = {"skae": [], "torch": []}
    for seed in range(repeats):
        times["skae"].append(fit_skae(X, epochs, seed, device))
        times["torch"].append(fit_plain_torch(X, epochs, seed, device))
    skae_median, torch_median = np.median(times["skae"]), np.median(times["torch"])
    return {"epochs": epochs, "repeats": repeats, "device": device,
            "skae_seconds": float(skae_median), "torch_seconds": float(torch_median),
            "ratio": float(skae_median / torch_median)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--device", default="cpu", help="'cpu' or 'cuda'")
    args = parser.parse_args(argv)
    result = measure(args.epochs, args.repeats, args.device)
    print(f"digits on {result['device']}, batch 128, {result['epochs']} epochs, "
          f"median of {result['repeats']}:")
    print(f"  skae (skorch)     {result['skae_seconds']:.3f} s")
    print(f"  plain torch loop  {result['torch_seconds']:.3f} s")
    print(f"  ratio             {result['ratio']:.3f}x")
    return result


if __name__ == "__main__":
    main()
