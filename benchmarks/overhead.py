"""Training overhead of skae's skorch path against a hand-written PyTorch loop.

Both train the same network (digits, 64 features, ``hidden_layer_sizes=(64,)``,
8 codes, ELU, Adam, MSE, 50 epochs, shuffled every epoch) at each batch size
(32 and 128 by default) in one process, interleaved, so both see the same
machine load. The figure is the ratio of median fit times (wall clock; the
ratio of median CPU times beside it is less sensitive to other processes on a
shared machine); the target is 1.10 or less. ``--threads`` fixes torch's thread count for both (on a shared
machine, 1 thread keeps the ratio from measuring thread contention).

Run: ``python -m benchmarks.overhead [--repeats 7] [--batch-sizes 32 128] [--threads 1]``
"""

import argparse
import json
import time

import numpy as np
import torch
from sklearn.datasets import load_digits

from skae import AutoencoderTransformer, DenseNetwork
from skae._torch_modules import DenseAutoencoder

from ._budget import steps_for_epochs
from ._output import add_out_argument
from ._timing import add_threads_argument, apply_threads, plain_torch_epoch, timed_fit

SETTINGS = {"n_components": 8, "hidden_layer_sizes": (64,), "activation": "elu",
            "learning_rate": 1e-3, "batch_size": 128}


def fit_skae(X, epochs, seed, device="cpu", batch_size=SETTINGS["batch_size"]):
    """Fit time of ``AutoencoderTransformer`` with early stopping disabled."""
    # The same network and work as the hand-written loop: no PCA start, no
    # validation split.
    network = DenseNetwork(hidden_layer_sizes=SETTINGS["hidden_layer_sizes"],
                           activation=SETTINGS["activation"], linear_path=False)
    model = AutoencoderTransformer(
        n_components=SETTINGS["n_components"], network=network,
        learning_rate=SETTINGS["learning_rate"], batch_size=batch_size,
        max_steps=steps_for_epochs(epochs, len(X), batch_size), tol=0.0, early_stopping=False,
        n_iter_no_change=epochs, device=device, random_state=seed,
        n_jobs=torch.get_num_threads())  # the threads the hand-written loop gets
    return timed_fit(model, X)


def fit_plain_torch(X, epochs, seed, device="cpu", batch_size=SETTINGS["batch_size"]):
    """Fit time of a plain loop: scale, shuffle, slice batches, Adam steps."""
    start = time.perf_counter()
    std = X.std(axis=0)
    data = torch.as_tensor((X - X.mean(axis=0)) / np.where(std > 0, std, 1.0),
                           dtype=torch.float32, device=device)
    torch.manual_seed(seed)
    module = DenseAutoencoder(X.shape[1], SETTINGS["n_components"],
                              SETTINGS["hidden_layer_sizes"], SETTINGS["activation"]).to(device)
    optimizer = torch.optim.Adam(module.parameters(), lr=SETTINGS["learning_rate"])
    module.train()
    for _ in range(epochs):
        plain_torch_epoch(module, optimizer, data, batch_size)
    return time.perf_counter() - start


def measure(epochs=50, repeats=7, device="cpu", batch_size=128):
    """Median fit times of both, interleaved; returns a dict of figures."""
    X = load_digits().data
    fit_skae(X, 2, 0, device, batch_size)  # warm up torch's kernels and allocator for both
    fit_plain_torch(X, 2, 0, device, batch_size)
    times = {"skae": [], "torch": []}
    cpu_times = {"skae": [], "torch": []}  # process time: less sensitive to other load
    for seed in range(repeats):
        for name, fit in (("skae", fit_skae), ("torch", fit_plain_torch)):
            start = time.process_time()
            times[name].append(fit(X, epochs, seed, device, batch_size))
            cpu_times[name].append(time.process_time() - start)
    skae_median, torch_median = np.median(times["skae"]), np.median(times["torch"])
    return {"epochs": epochs, "repeats": repeats, "device": device, "batch_size": batch_size,
            "threads": torch.get_num_threads(),
            "skae_seconds": float(skae_median), "torch_seconds": float(torch_median),
            "ratio": float(skae_median / torch_median),
            "ratios": [a / b for a, b in zip(times["skae"], times["torch"])],
            "cpu_ratio": float(np.median(cpu_times["skae"]) / np.median(cpu_times["torch"]))}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--device", default="cpu", help="'cpu' or 'cuda'")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 128])
    add_threads_argument(parser, help="torch CPU threads for both (default: torch's choice)")
    add_out_argument(parser)
    args = parser.parse_args(argv)
    apply_threads(args)
    results = [measure(args.epochs, args.repeats, args.device, batch_size)
               for batch_size in args.batch_sizes]
    lines = [(f"digits on {args.device}, {args.epochs} epochs, {torch.get_num_threads()} "
              f"threads, median of {args.repeats}:"),
             ("| batch | skae (s) | plain torch loop (s) | ratio | ratios of the repeats "
              "| ratio of CPU times |"),
             "|---:|---:|---:|---:|---|---:|"]
    lines += [f"| {r['batch_size']} | {r['skae_seconds']:.3f} | {r['torch_seconds']:.3f} | "
              f"{r['ratio']:.3f} | {', '.join(f'{x:.2f}' for x in r['ratios'])} | "
              f"{r['cpu_ratio']:.3f} |" for r in results]
    print("\n".join(lines))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "overhead.json").write_text(json.dumps(results, indent=2))
    (args.out / "overhead.md").write_text("\n".join(lines) + "\n")
    return results[-1] if len(results) == 1 else results


if __name__ == "__main__":
    main()
