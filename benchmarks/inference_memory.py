"""Peak memory and time of scoring: the detector's ensemble against one network.

An ``AutoencoderOutlierDetector`` at its defaults (8 members) and one with
``n_estimators=1`` are fitted briefly on ``--rows`` x ``--features`` float32
rows (the weights do not matter for memory) and saved. Each is then loaded in
a fresh process, which makes the table, notes its resident memory, runs
``score_samples`` (and ``feature_errors``) once, and reports the peak
resident memory added by the call (``ru_maxrss`` minus the resident memory
before it, after a warm-up call on 8 rows), as a multiple of the input's
size, with the call's seconds (median of ``--repeats`` calls).

Run: ``python -m benchmarks.inference_memory [--rows 20000] [--features 500]
[--repeats 3] [--threads N]``
"""

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning

import skae

from ._output import add_out_argument
from ._timing import add_threads_argument, apply_threads

METHODS = ("score_samples", "feature_errors")


def table(n_rows, n_features, seed=0, block=1000):
    """Float32 rows of rank-8 structure plus noise, made block by block.

    No temporary the size of the table is made, so the peak memory before
    the measured call is the table's own.
    """
    rng = np.random.default_rng(seed)
    mixing = rng.standard_normal((8, n_features), dtype=np.float32)
    X = np.empty((n_rows, n_features), dtype=np.float32)
    for start in range(0, n_rows, block):
        rows = X[start:start + block]
        np.matmul(rng.standard_normal((len(rows), 8), dtype=np.float32), mixing, out=rows)
        rows += 0.1 * rng.standard_normal(rows.shape, dtype=np.float32)
    return X


def _rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def measure_one(path, method, n_rows, n_features, repeats):
    """In this process: the peak memory ``method`` adds, and its median seconds."""
    model = skae.load(path)
    X = table(n_rows, n_features, seed=1)
    getattr(model, method)(X[:8])  # warm-up: libraries' code and thread pools, loaded once
    before = _rss_mib()
    start = time.perf_counter()
    getattr(model, method)(X)
    seconds = [time.perf_counter() - start]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10  # KiB on Linux
    for _ in range(repeats - 1):
        start = time.perf_counter()
        getattr(model, method)(X)
        seconds.append(time.perf_counter() - start)
    input_mib = X.nbytes / 2**20
    return {"input_mib": input_mib, "added_peak_mib": peak - before,
            "added_peak_per_input": (peak - before) / input_mib,
            "seconds": float(np.median(seconds))}


def measure(n_rows=20_000, n_features=500, repeats=3, threads=None):
    """Every method of both detectors, each in a fresh process."""
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        X = table(min(n_rows, 2000), n_features)
        for name, n_estimators in (("ensemble of 8", 8), ("one network", 1)):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                detector = skae.AutoencoderOutlierDetector(
                    n_estimators=n_estimators, max_steps=20, device="cpu", random_state=0)
                detector.fit(X)
            path = skae.save(detector, Path(folder) / f"{n_estimators}.safetensors")
            for method in METHODS:
                command = [sys.executable, "-m", "benchmarks.inference_memory", "--child",
                           str(path), method, "--rows", str(n_rows), "--features",
                           str(n_features), "--repeats", str(repeats)]
                if threads:
                    command += ["--threads", str(threads)]
                output = subprocess.run(command, check=True, capture_output=True, text=True,
                                        cwd=Path(__file__).resolve().parent.parent).stdout
                results[f"{method}, {name}"] = json.loads(output.splitlines()[-1])
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--features", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", nargs=2, metavar=("PATH", "METHOD"), help=argparse.SUPPRESS)
    add_threads_argument(parser)
    add_out_argument(parser)
    args = parser.parse_args(argv)
    apply_threads(args)
    if args.child:
        print(json.dumps(measure_one(args.child[0], args.child[1], args.rows,
                                     args.features, args.repeats)))
        return None
    rows = measure(args.rows, args.features, args.repeats, args.threads)
    lines = [(f"{args.rows} x {args.features} float32 "
              f"({args.rows * args.features * 4 / 2**20:.0f} MiB), AutoencoderOutlierDetector "
              f"defaults, CPU, {torch.get_num_threads()} threads, median of {args.repeats}:"),
             "| method, model | peak memory added (MiB) | x input | seconds |",
             "|---|---:|---:|---:|"]
    lines += [f"| {name} | {row['added_peak_mib']:.0f} | {row['added_peak_per_input']:.2f} | "
              f"{row['seconds']:.3f} |" for name, row in rows.items()]
    print("\n".join(lines))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "inference_memory.json").write_text(json.dumps(
        {"rows": args.rows, "features": args.features, "repeats": args.repeats,
         "threads": torch.get_num_threads(), "methods": rows}, indent=2))
    (args.out / "inference_memory.md").write_text("\n".join(lines) + "\n")
    return rows


if __name__ == "__main__":
    main()
