"""Inference time of the fitted estimators against a raw torch forward of their modules.

A dense autoencoder 784-256-128-32 is fitted briefly (the weights do not
matter for speed) and every inference method runs on 50,000 float32 rows of
784 features; beside each, the same computation written by hand with torch:
``torch.inference_mode()``, float32, batches of 4,096 rows of an input already
scaled, the module called directly. The ratio is raw seconds / skae seconds
(1.0: as fast as the network; the target is 0.8 or more). Methods and their
raw counterparts run interleaved, ``--repeats`` times, and the medians are
compared, so both see the same machine load; ``--threads`` fixes torch's
thread count for both.

Run: ``python -m benchmarks.inference [--repeats 7] [--threads N] [--rows 50000]``
"""

import argparse
import json
import time
import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning

from skae import AutoencoderOutlierDetector, AutoencoderTransformer, DenseNetwork

from ._output import add_out_argument
from ._timing import add_threads_argument, apply_threads

BATCH = 4096
NETWORK = {"n_components": 32, "network": DenseNetwork(hidden_layer_sizes=(256, 128)),
           "max_steps": 20, "device": "cpu", "random_state": 0}


def synthetic(n_samples, n_features=784, rank=32, seed=0):
    """Float32 rows with low-rank structure plus a little noise."""
    rng = np.random.RandomState(seed)
    X = (rng.rand(n_samples, rank) @ rng.rand(rank, n_features)).astype(np.float32)
    return X + 0.05 * rng.rand(n_samples, n_features).astype(np.float32)


def _batched(fn, X):
    with torch.inference_mode():
        return torch.cat([fn(X[start:start + BATCH]) for start in range(0, len(X), BATCH)])


def cases(X):
    """``{method: (skae callable, raw torch callable)}`` on the same rows."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = AutoencoderTransformer(**NETWORK).fit(X[:2000])
        detector = AutoencoderOutlierDetector(**NETWORK, n_estimators=1).fit(X[:2000])
    codes = model.transform(X)
    scaled = torch.from_numpy(((X - model.input_offset_) / model.input_scale_)
                              .astype(np.float32))
    detector_scaled = torch.from_numpy(
        ((X - detector.input_offset_) / detector.input_scale_).astype(np.float32))
    module, ensemble = model.net_.module_.eval(), detector.net_.module_.eval()
    codes_tensor = torch.from_numpy(codes)
    return {
        "transform": (lambda: model.transform(X),
                      lambda: _batched(module.encode, scaled)),
        "inverse_transform": (lambda: model.inverse_transform(codes),
                              lambda: _batched(module.decode, codes_tensor)),
        "score_samples": (lambda: model.score_samples(X),
                          lambda: _batched(lambda b: -(module(b)[0] - b).square().mean(1),
                                           scaled)),
        "feature_errors (detector)": (
            lambda: detector.feature_errors(X),
            lambda: _batched(lambda b: (ensemble(b)[0] - b).abs().mean(0), detector_scaled)),
    }


def measure(n_samples=50_000, repeats=7):
    """Median seconds of every method and of its raw counterpart; their ratio."""
    X = synthetic(n_samples)
    rows = {}
    for method, (skae_fn, raw_fn) in cases(X).items():
        skae_fn(), raw_fn()  # warm-up: kernels, allocator, the first-call work
        times = {"skae": [], "raw": []}
        for _ in range(repeats):
            for name, fn in (("skae", skae_fn), ("raw", raw_fn)):
                start = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - start)
        skae_s, raw_s = float(np.median(times["skae"])), float(np.median(times["raw"]))
        rows[method] = {"skae_seconds": skae_s, "raw_seconds": raw_s,
                        "speed_ratio": raw_s / skae_s, "skae_all": times["skae"],
                        "raw_all": times["raw"]}
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=7)
    add_threads_argument(parser, help="torch CPU threads for both (default: torch's choice)")
    add_out_argument(parser)
    args = parser.parse_args(argv)
    apply_threads(args)
    rows = measure(args.rows, args.repeats)
    lines = [(f"{args.rows} x 784 float32, dense 784-256-128-32, CPU, "
              f"{torch.get_num_threads()} threads, median of {args.repeats}:"),
             "| method | skae (s) | raw torch (s) | speed ratio raw/skae |",
             "|---|---:|---:|---:|"]
    lines += [f"| {method} | {row['skae_seconds']:.3f} | {row['raw_seconds']:.3f} | "
              f"{row['speed_ratio']:.2f} |" for method, row in rows.items()]
    print("\n".join(lines))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "inference.json").write_text(json.dumps(
        {"rows": args.rows, "repeats": args.repeats, "threads": torch.get_num_threads(),
         "methods": rows}, indent=2))
    (args.out / "inference.md").write_text("\n".join(lines) + "\n")
    return rows


if __name__ == "__main__":
    main()
