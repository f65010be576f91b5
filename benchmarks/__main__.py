"""skae's benchmark suite: the autoencoders against PCA, with figures and a report.

``python -m benchmarks`` runs the quick suite on data bundled with
scikit-learn (digits, breast cancer) plus the training-overhead benchmark, in a
few minutes on two CPU cores. ``--full`` adds Fashion-MNIST, MNIST, ECG5000
and the ODDS tables, read from ``--data-dir`` (or ``$SKAE_DATA_DIR``); without
a data directory MNIST and Fashion-MNIST come from OpenML when it is reachable.
Results (``results.json``, ``report.md``, ``report.rst`` and PNG figures) go to
``--out``, by default ``benchmarks/results/latest/quick`` or ``.../latest/full``
(ignored by git); ``--out benchmarks/results/quick`` refreshes the committed
report that the documentation includes.
"""

import argparse
import dataclasses
import datetime
import os
import shlex
import sys
import time
from pathlib import Path

import sklearn
import torch

from . import overhead, plots, report, suite
from ._output import LATEST

MODES = {
    "quick": {"datasets": suite.QUICK_DATASETS, "budget": suite.Budget(max_epochs=100)},
    "full": {"datasets": suite.QUICK_DATASETS + suite.FULL_DATASETS,
             "budget": suite.Budget(max_epochs=50)},
}
TIMING_NOTE = ("Timings depend on the machine and its load; compare ratios measured in one "
               "run, not seconds across runs.")


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m benchmarks",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true",
                        help="add Fashion-MNIST, MNIST, ECG5000 and the ODDS tables")
    parser.add_argument("--data-dir", default=None,
                        help="folder laid out like shared/data (default: $SKAE_DATA_DIR)")
    parser.add_argument("--out", default=None,
                        help="results folder (default: benchmarks/results/latest/quick or "
                             "/full, ignored by git; benchmarks/results/quick is the "
                             "committed one)")
    parser.add_argument("--datasets", nargs="+", choices=sorted(suite.ALL_DATASETS),
                        help="run only these datasets")
    parser.add_argument("--code-sizes", nargs="+", type=int, default=[2, 8, 32],
                        help="code sizes; those not below a dataset's width are skipped")
    parser.add_argument("--epochs", type=int,
                        help="epoch budget of the autoencoders (given as max_steps)")
    parser.add_argument("--max-train", type=int, help="cap on training rows per dataset")
    parser.add_argument("--max-test", type=int, help="cap on test rows per dataset")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--overhead-epochs", type=int, default=50)
    parser.add_argument("--overhead-repeats", type=int, default=5,
                        help="0 skips the training-overhead benchmark")
    return parser.parse_args(argv)


def _budget(args, mode):
    changes = {"max_epochs": args.epochs, "max_train": args.max_train,
               "max_test": args.max_test, "seed": args.seed}
    return dataclasses.replace(mode["budget"],
                               **{k: v for k, v in changes.items() if v is not None})


def _load_all(dataset_list, budget, data_dir, progress_stream):
    """Splits of every dataset that loads; the others are reported as skipped."""
    splits, skipped = {}, []
    for dataset in dataset_list:
        try:
            splits[dataset.name] = suite.load_split(dataset, budget, data_dir)
        except (FileNotFoundError, OSError) as error:
            skipped.append({"name": dataset.name, "reason": str(error)})
            print(f"skipping {dataset.name}: {error}", file=progress_stream)
    return splits, skipped


#: Environment variables that change timings; the recorded command sets them.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "CUDA_VISIBLE_DEVICES")


def _meta(argv, wall_seconds):
    env = [f"{name}={os.environ[name]}" for name in THREAD_VARIABLES if name in os.environ]
    return {
        "command": shlex.join([*env, "python", "-m", "benchmarks", *argv]),
        "date": datetime.date.today().isoformat(),
        "cpu_count": os.cpu_count(), "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(), "sklearn": sklearn.__version__,
        "device": "cuda" if torch.cuda.is_available() else "cpu",
        "wall_seconds": wall_seconds, "note": TIMING_NOTE,
    }


def _as_json(result):
    return {"name": result.dataset.name, "n_train": result.n_train, "n_test": result.n_test,
            "n_features": result.n_features, "code_sizes": result.code_sizes,
            "rows": result.rows}


def main(argv=None, stream=None):
    """Run the suite; returns the results dictionary that ``results.json`` holds.

    Progress goes to ``stream``, by default standard error.
    """
    stream = sys.stderr if stream is None else stream
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    started = time.perf_counter()
    mode_name = "full" if args.full else "quick"
    mode = MODES[mode_name]
    budget = _budget(args, mode)
    out = Path(args.out) if args.out else LATEST / mode_name
    out.mkdir(parents=True, exist_ok=True)
    dataset_list = ([suite.ALL_DATASETS[name] for name in args.datasets] if args.datasets
                    else mode["datasets"])

    splits, skipped = _load_all(dataset_list, budget, args.data_dir, stream)
    total = sum(suite.n_steps(split[0].shape[1], args.code_sizes) for split in splits.values())
    progress = suite.Progress(total + (args.overhead_repeats > 0), stream)
    results = []
    for dataset in dataset_list:
        if dataset.name in splits:
            results.append(suite.run_dataset(dataset, splits[dataset.name], args.code_sizes,
                                             budget, progress))
    summary = {"datasets": [_as_json(r) for r in results], "skipped": skipped,
               "budget": dataclasses.asdict(budget)}
    if args.overhead_repeats > 0:
        summary["overhead"] = overhead.measure(args.overhead_epochs, args.overhead_repeats)
        progress.step(f"training overhead: {summary['overhead']['ratio']:.3f}x "
                      "a hand-written torch loop")

    figures = plots.draw_all(results, out)
    summary["meta"] = _meta(argv, time.perf_counter() - started)
    report.write_json(summary, out / "results.json")
    report.write_markdown(summary, figures, out / "report.md")
    report.write_rst(summary, out / "report.rst")
    print(f"done in {summary['meta']['wall_seconds']:.0f} s; report: {out / 'report.md'}",
          file=stream)
    return summary


if __name__ == "__main__":
    main()
