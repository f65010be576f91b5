"""Default fits on a quiet machine and beside one busy process.

A default fit on a table should not stall when something else uses a core: a
notebook kernel, a CI job, another fit. Here the same fit runs first on the
quiet machine, then while one other process spins on a core, and the figure
is the ratio of the two times (median of ``--repeats`` fits each, measured
side by side). ``n_jobs=None`` is the default, one torch thread per fit;
``n_jobs=-1`` (every CPU) shows what torch's own thread count does under the
same load.

Fits: ``AutoencoderTransformer(n_components=8)`` and
``AutoencoderOutlierDetector()`` on scikit-learn's digits, both with
``random_state=0`` and nothing else set.

Run: ``python -m benchmarks.under_load`` (writes
``benchmarks/results/latest/under_load.{md,json}``; ``--out benchmarks/results``
refreshes the committed files).
"""

import argparse
import functools
import json
import multiprocessing
import os
import platform
import sys

import numpy as np
from sklearn.datasets import load_digits

from skae import AutoencoderOutlierDetector, AutoencoderTransformer

from ._output import add_out_argument
from ._timing import timed_fit

ESTIMATORS = {
    "AutoencoderTransformer(n_components=8)":
        lambda n_jobs: AutoencoderTransformer(n_components=8, random_state=0, n_jobs=n_jobs),
    "AutoencoderOutlierDetector()":
        lambda n_jobs: AutoencoderOutlierDetector(random_state=0, n_jobs=n_jobs),
}


def _spin():
    """Keep one core busy until terminated."""
    while True:
        pass


def _median_seconds(make, X, repeats):
    return float(np.median([timed_fit(make(), X) for _ in range(repeats)]))


def run(repeats=3, log=print):
    """Quiet and loaded fit times of every estimator at ``n_jobs`` None and -1."""
    X = load_digits().data
    rows = []
    for name, build in ESTIMATORS.items():
        for n_jobs in (None, -1):
            make = functools.partial(build, n_jobs)
            timed_fit(make(), X[:200])  # warm-up, untimed
            quiet = _median_seconds(make, X, repeats)
            spinner = multiprocessing.get_context("spawn").Process(target=_spin, daemon=True)
            spinner.start()
            try:
                loaded = _median_seconds(make, X, repeats)
            finally:
                spinner.terminate()
                spinner.join()
            rows.append({"estimator": name, "n_jobs": n_jobs, "quiet_seconds": quiet,
                         "loaded_seconds": loaded, "ratio": loaded / quiet})
            log(f"{name:40s} n_jobs={n_jobs!s:4s} quiet {quiet:.2f}s loaded {loaded:.2f}s "
                f"ratio {loaded / quiet:.2f}")
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.under_load",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    add_out_argument(parser, what="under_load.{md,json}")
    args = parser.parse_args(argv)
    rows = run(args.repeats, log=lambda line: print(line, flush=True))
    command = " ".join(["python -m benchmarks.under_load",
                        *(sys.argv[1:] if argv is None else argv)])
    lines = ["# Default fits on a quiet machine and beside one busy process", "",
             f"Command: `{command}`", "",
             (f"Machine: {platform.machine()}, {os.cpu_count()} CPUs; digits; median of "
             f"{args.repeats} fits each; loaded: one other process spinning on a core."), "",
             "| estimator | n_jobs | quiet s | loaded s | loaded / quiet |",
             "| --- | --- | ---: | ---: | ---: |"]
    lines += [f"| {r['estimator']} | {r['n_jobs']} | {r['quiet_seconds']:.2f} | "
              f"{r['loaded_seconds']:.2f} | {r['ratio']:.2f} |" for r in rows]
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "under_load.md").write_text(text)
    (args.out / "under_load.json").write_text(
        json.dumps({"command": command, "cpus": os.cpu_count(), "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
