"""Scaling out: a grid search on Dask workers, scoring on Dask, data-parallel training.

Three measurements, each against one process on the same machine (issue 14):

1. **Search.** ``GridSearchCV`` over ``AutoencoderTransformer`` on digits, 8
   candidates x 3 folds, with ``n_jobs=1`` against joblib's Dask backend on a
   ``LocalCluster`` of ``--workers`` worker processes (one thread each). The
   speed-up is the ratio of the search times; the cluster's start-up is
   reported apart. The scores must be equal (checked).
2. **Scoring.** ``score_samples`` of an ``AutoencoderOutlierDetector`` on a
   table of ``--score-rows`` rows x 20 float32 columns, generated chunk by
   chunk by Dask (never whole in one process), with
   :func:`skae.distributed.map_blocks`: the synchronous scheduler (one
   process, torch's default threads) against the cluster.
3. **Training.** ``AutoencoderTransformer`` on ``--train-rows`` rows x 20
   synthetic features (a 4-dimensional non-linear manifold plus noise), one
   process against :func:`skae.distributed.fit_data_parallel` on
   ``--workers`` processes (gloo): at the same passes over the data (each
   process takes ``max_steps / n``) and at the same steps. Training time is
   the sum of the epoch durations of the history (process start-up apart);
   the error is the held-out mean squared reconstruction error.

Run: ``python -m benchmarks.distributed`` (about 3 minutes on 2 idle cores;
writes benchmarks/results/latest/distributed.{md,json}; ``--out
benchmarks/results`` refreshes the committed files). ``--parts`` runs a subset.
"""

import argparse
import json
import os
import shlex
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from skae import AutoencoderOutlierDetector, AutoencoderTransformer, DenseNetwork
from skae.distributed import fit_data_parallel, map_blocks, worker_environment

from ._output import add_out_argument
from ._timing import add_threads_argument, apply_threads

PARTS = ("search", "scoring", "training")
#: The search: 2 x 2 x 2 = 8 candidates, 3 folds.
SEARCH_GRID = {"n_components": [4, 8], "learning_rate": [1e-3, 3e-3],
               "network": [DenseNetwork(hidden_layer_sizes=(32,)),
                           DenseNetwork(hidden_layer_sizes=(64, 32))]}
N_SCORE_FEATURES = 20
SCORE_CHUNK_ROWS = 250_000
TRAIN_NETWORK = {"n_components": 4, "network": DenseNetwork(hidden_layer_sizes=(256, 128)),
                 "batch_size": 256, "learning_rate": 1e-3, "device": "cpu"}


def _quiet_fit(model, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X)


def measure_search(client, steps, seed=0):
    """Seconds of the 8 x 3 search with ``n_jobs=1`` and on the cluster."""
    import joblib

    X = load_digits().data

    def search(n_jobs):
        return GridSearchCV(AutoencoderTransformer(max_steps=steps, device="cpu",
                                                   random_state=seed),
                            SEARCH_GRID, cv=3, n_jobs=n_jobs)

    start = time.perf_counter()
    local = _quiet_fit(search(1), X)
    serial = time.perf_counter() - start
    start = time.perf_counter()
    with joblib.parallel_config(backend="dask", client=client):
        remote = _quiet_fit(search(-1), X)
    parallel = time.perf_counter() - start
    keys = [key for key in local.cv_results_ if key.endswith("_test_score")]
    equal = all(np.array_equal(local.cv_results_[key], remote.cv_results_[key])
                for key in keys)
    return {"candidates": len(local.cv_results_["params"]), "folds": 3,
            "max_steps": steps, "n_jobs_1_seconds": serial, "dask_seconds": parallel,
            "speedup": serial / parallel, "scores_equal": bool(equal)}


def _score_table(n_rows, seed):
    import dask.array as da

    chunks = (min(SCORE_CHUNK_ROWS, n_rows), N_SCORE_FEATURES)
    return da.random.default_rng(seed).standard_normal(
        (n_rows, N_SCORE_FEATURES), chunks=chunks, dtype=np.float32)


def measure_scoring(client, n_rows, seed=0):
    """Rows per second of ``map_blocks(detector, X, 'score_samples')``."""
    rng = np.random.default_rng(seed)
    detector = _quiet_fit(AutoencoderOutlierDetector(max_steps=100, device="cpu",
                                                     random_state=seed),
                          rng.standard_normal((4096, N_SCORE_FEATURES), dtype=np.float32))
    X = _score_table(n_rows, seed)
    scores = map_blocks(detector, X, "score_samples")
    start = time.perf_counter()
    one = scores.compute(scheduler="synchronous")
    one_seconds = time.perf_counter() - start
    start = time.perf_counter()
    many = client.compute(scores).result()
    many_seconds = time.perf_counter() - start
    return {"rows": n_rows, "features": N_SCORE_FEATURES, "chunk_rows": X.chunks[0][0],
            "chunks": X.numblocks[0], "one_process_seconds": one_seconds,
            "cluster_seconds": many_seconds,
            "one_process_rows_per_second": n_rows / one_seconds,
            "cluster_rows_per_second": n_rows / many_seconds,
            "speedup": one_seconds / many_seconds,
            "scores_equal": bool(np.array_equal(one, many))}


def _manifold(n_rows, seed):
    """Rows on a 4-dimensional non-linear manifold in 20 dimensions, plus noise."""
    rng = np.random.default_rng(seed)
    latent = rng.uniform(-1, 1, (n_rows, 4))
    mixing = np.random.default_rng(12345).standard_normal((10, N_SCORE_FEATURES))
    features = np.hstack([latent, np.sin(3 * latent), latent[:, :2] * latent[:, 2:]])
    X = features @ mixing + 0.05 * rng.standard_normal((n_rows, N_SCORE_FEATURES))
    return X.astype(np.float32)


def _training_seconds(model):
    """The sum of the epoch durations of the fit (rank 0's for a data-parallel one)."""
    return float(sum(model.net_.history[:, "dur"]))


def measure_training(n_rows, steps, n_processes, seed=0):
    """Time and held-out error of one process against ``n_processes``."""
    X = _manifold(n_rows, seed)
    test = _manifold(10_000, seed + 1)

    def error(model):
        return float(np.mean((model.inverse_transform(model.transform(test)) - test) ** 2))

    rows = []
    for label, processes, max_steps in (
            ("1 process", 1, steps),
            (f"{n_processes} processes, same passes", n_processes, steps // n_processes),
            (f"{n_processes} processes, same steps", n_processes, steps)):
        model = AutoencoderTransformer(**TRAIN_NETWORK, max_steps=max_steps,
                                       random_state=seed)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            if processes == 1:
                model.fit(X)
            else:
                fit_data_parallel(model, X, n_processes=processes)
        wall = time.perf_counter() - start
        rows.append({"setting": label, "processes": processes, "max_steps": max_steps,
                     "rows_per_step": TRAIN_NETWORK["batch_size"] * processes,
                     "training_seconds": _training_seconds(model), "wall_seconds": wall,
                     "test_mse": error(model)})
    for row in rows:
        row["time_ratio"] = row["training_seconds"] / rows[0]["training_seconds"]
        row["mse_ratio"] = row["test_mse"] / rows[0]["test_mse"]
    return {"rows": n_rows, "features": N_SCORE_FEATURES, "settings": rows}


def to_markdown(results):
    """The report: one table per part, and the command."""
    meta = results["meta"]
    lines = [f"Command: `{meta['command']}`", "",
             (f"{meta['cpu_count']} CPUs, torch {meta['torch']} "
             f"({meta['torch_threads']} threads in the main process), dask "
             f"{meta['dask']}, {meta['workers']} worker processes of one thread. "
             "Timings depend on the machine and its load; compare the ratios of one run."),
             ""]
    if "search" in results:
        s = results["search"]
        lines += [("### Grid search (digits, "
                  f"{s['candidates']} candidates x {s['folds']} folds, {s['max_steps']} steps)"),
                  "", "| n_jobs=1 (s) | Dask (s) | speed-up | scores equal |",
                  "| --- | --- | --- | --- |",
                  (f"| {s['n_jobs_1_seconds']:.1f} | {s['dask_seconds']:.1f} | "
                  f"{s['speedup']:.2f}x | {s['scores_equal']} |"), "",
                  f"Cluster start-up (not counted): {meta['cluster_start_seconds']:.1f} s.", ""]
    if "scoring" in results:
        s = results["scoring"]
        lines += [(f"### Scoring ({s['rows']:,} rows x {s['features']} float32, "
                  f"{s['chunks']} chunks, detector score_samples)"), "",
                  "| | seconds | rows/s |", "| --- | --- | --- |",
                  (f"| one process (synchronous) | {s['one_process_seconds']:.1f} | "
                  f"{s['one_process_rows_per_second']:,.0f} |"),
                  (f"| cluster | {s['cluster_seconds']:.1f} | "
                  f"{s['cluster_rows_per_second']:,.0f} |"), "",
                  f"Speed-up {s['speedup']:.2f}x; scores equal: {s['scores_equal']}.", ""]
    if "training" in results:
        t = results["training"]
        lines += [(f"### Data-parallel training ({t['rows']:,} rows x {t['features']}, "
                  "held-out MSE)"), "",
                  ("| setting | max_steps | rows/step | training (s) | wall (s) | "
                  "time ratio | test MSE | MSE ratio |"),
                  "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        lines += [f"| {r['setting']} | {r['max_steps']} | {r['rows_per_step']} | "
                  f"{r['training_seconds']:.1f} | {r['wall_seconds']:.1f} | "
                  f"{r['time_ratio']:.2f} | {r['test_mse']:.4f} | {r['mse_ratio']:.3f} |"
                  for r in t["settings"]]
        lines += ["", ("Training time is the sum of the epoch durations; wall time adds "
                  "process start-up (spawn, imports)."), ""]
    return "\n".join(lines)


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.distributed",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--workers", type=int, default=2,
                        help="Dask worker processes and training processes")
    parser.add_argument("--search-steps", type=int, default=300)
    parser.add_argument("--score-rows", type=int, default=5_000_000)
    parser.add_argument("--train-rows", type=int, default=100_000)
    parser.add_argument("--train-steps", type=int, default=1000)
    add_threads_argument(parser, help="torch threads of the one-process runs "
                                      "(default: torch's, one per core)")
    parser.add_argument("--seed", type=int, default=0)
    add_out_argument(parser, what="distributed.{md,json}")
    return parser.parse_args(argv)


def _command(argv):
    env = [f"{name}={os.environ[name]}" for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")
           if name in os.environ]
    return shlex.join([*env, "python", "-m", "benchmarks.distributed", *argv])


def main(argv=None, client=None, stream=None):
    """Run the parts; returns the results that ``distributed.json`` holds.

    ``client`` is a running Dask client to use instead of a ``LocalCluster``
    of ``--workers`` processes started (and closed) here.
    """
    import dask
    from distributed import Client, LocalCluster

    stream = sys.stderr if stream is None else stream
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    started = time.perf_counter()
    apply_threads(args)
    results = {"meta": {"command": _command(argv), "cpu_count": os.cpu_count(),
                        "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
                        "dask": dask.__version__, "workers": args.workers,
                        "cluster_start_seconds": 0.0}}
    cluster = None
    if client is None and {"search", "scoring"} & set(args.parts):
        start = time.perf_counter()
        with worker_environment():  # glibc settings that keep inference fast
            cluster = LocalCluster(n_workers=args.workers, processes=True,
                                   threads_per_worker=1, dashboard_address=None)
        client = Client(cluster, set_as_default=False)
        client.run(lambda: __import__("skae"))  # import torch and skae on the workers
        results["meta"]["cluster_start_seconds"] = time.perf_counter() - start
    try:
        if "search" in args.parts:
            print("grid search ...", file=stream)
            results["search"] = measure_search(client, args.search_steps, args.seed)
        if "scoring" in args.parts:
            print("scoring ...", file=stream)
            results["scoring"] = measure_scoring(client, args.score_rows, args.seed)
    finally:
        if cluster is not None:
            client.close()
            cluster.close()
    if "training" in args.parts:
        print("training ...", file=stream)
        results["training"] = measure_training(args.train_rows, args.train_steps,
                                               args.workers, args.seed)
    results["meta"]["wall_seconds"] = time.perf_counter() - started
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report = to_markdown(results)
    (out / "distributed.md").write_text(report + "\n")
    (out / "distributed.json").write_text(json.dumps(results, indent=2) + "\n")
    print(report, file=stream)
    return results


if __name__ == "__main__":
    main()
