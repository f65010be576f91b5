"""Outlier detection: ``AutoencoderOutlierDetector`` against the usual baselines.

Datasets: the four ODDS/ADBench tables (cardio, thyroid, satellite,
internetads), ECG5000 (label 0 = abnormal beat is the outlier) and MNIST
"digit 5 is normal, the other digits are anomalies". MNIST is subsampled to
keep the run short: 2,700 fives and 300 other digits (10 % contamination),
drawn once with seed 0 from the MNIST training split.

Protocol: for each seed, a stratified 60/40 split; every method is fitted
without labels on the training part, contaminated as it is, and scored on the
test part (ROC-AUC and average precision, with outliers as the positive
class). Time is fit plus scoring of the test part, in seconds; the methods run
one after another on the same split, so they see the same machine load, and
torch (skae and PyOD) runs with one CPU thread unless ``--threads`` says
otherwise.

Methods, all with their default parameters:

- ``skae``: ``AutoencoderOutlierDetector(random_state=seed)``;
- ``iforest``: ``IsolationForest(random_state=seed)``;
- ``pca``: standardise, ``PCA(n_components=0.9)`` (90 % of the variance),
  score = negative mean squared reconstruction error;
- ``pyod_ae``: PyOD's ``AutoEncoder`` (an optional dependency of this
  benchmark; skipped with a note when PyOD is not installed). PyOD's scores
  are higher = more abnormal and are negated here.

Run: ``python -m benchmarks.outliers [--data-dir D] [--seeds 0 1 2 3 4] [--quick]``

``--evaluate-on train`` scores the training part instead of the test part;
with ``--params`` it is how the detector's defaults were chosen without
looking at the test parts.
"""

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skae import AutoencoderOutlierDetector

from .datasets import ODDS_TABLES, load_ecg5000, load_idx_images, load_odds

RESULTS_DIR = Path(__file__).resolve().parent / "results"
DATASETS = (*ODDS_TABLES, "ecg5000", "mnist5")
METHODS = ("skae", "iforest", "pca", "pyod_ae")
MNIST_NORMAL, MNIST_INLIERS, MNIST_OUTLIERS = 5, 2700, 300


def load_dataset(name, data_dir=None):
    """``X`` and ``y`` (1 = outlier) of one benchmark dataset."""
    if name in ODDS_TABLES:
        return load_odds(name, data_dir)
    if name == "ecg5000":
        X, y_normal = load_ecg5000(data_dir)
        return X, 1 - y_normal
    if name == "mnist5":
        X, digits = load_idx_images("mnist", data_dir, split="train")
        rng = np.random.RandomState(0)
        inliers = rng.choice(np.flatnonzero(digits == MNIST_NORMAL), MNIST_INLIERS, replace=False)
        outliers = rng.choice(np.flatnonzero(digits != MNIST_NORMAL), MNIST_OUTLIERS,
                              replace=False)
        rows = np.sort(np.concatenate([inliers, outliers]))
        return X[rows], (digits[rows] != MNIST_NORMAL).astype(np.int64)
    raise ValueError(f"unknown dataset {name!r}; choose from {DATASETS}")


class PCAReconstructionDetector:
    """Standardise, project on the components keeping 90 % of the variance, score
    by negative mean squared reconstruction error."""

    def __init__(self, n_components=0.9):
        self.n_components = n_components

    def fit(self, X):
        self.model_ = make_pipeline(StandardScaler(), PCA(n_components=self.n_components))
        self.model_.fit(X)
        return self

    def score_samples(self, X):
        scaler, pca = self.model_[0], self.model_[1]
        Z = scaler.transform(X)
        return -np.mean((pca.inverse_transform(pca.transform(Z)) - Z) ** 2, axis=1)


class PyODScores:
    """PyOD's detector with scikit-learn's sign: lower score = more abnormal."""

    def __init__(self, detector):
        self.detector = detector

    def fit(self, X):
        self.detector.fit(X)
        return self

    def score_samples(self, X):
        return -self.detector.decision_function(X)


def pyod_available():
    try:
        import pyod.models.auto_encoder  # noqa: F401
    except ImportError:
        return False
    return True


def make_method(name, seed, params=None):
    """A fresh detector with ``fit(X)`` and ``score_samples(X)`` (lower = abnormal)."""
    if name == "skae":
        return AutoencoderOutlierDetector(random_state=seed, **(params or {}))
    if name == "iforest":
        return IsolationForest(random_state=seed)
    if name == "pca":
        return PCAReconstructionDetector()
    if name == "pyod_ae":
        from pyod.models.auto_encoder import AutoEncoder

        return PyODScores(AutoEncoder(random_state=seed, verbose=0))
    raise ValueError(f"unknown method {name!r}; choose from {METHODS}")


def evaluate(name, X_train, X_eval, y_eval, seed, params=None):
    """Fit one method on ``X_train``; ROC-AUC, AP and seconds on ``X_eval``."""
    model = make_method(name, seed, params)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X_train)
        abnormality = -np.asarray(model.score_samples(X_eval), dtype=np.float64)
    seconds = time.perf_counter() - start
    return {"roc_auc": float(roc_auc_score(y_eval, abnormality)),
            "average_precision": float(average_precision_score(y_eval, abnormality)),
            "seconds": seconds}


def run(data_dir=None, seeds=(0, 1, 2, 3, 4), datasets=DATASETS, methods=None,
        quick=False, evaluate_on="test", params=None, log=print):
    """Run the benchmark; returns ``{'settings': ..., 'runs': [...], 'notes': [...]}``.

    Parameters
    ----------
    data_dir : str or Path, default=None
        Data directory (see :mod:`benchmarks.datasets`).
    seeds : sequence of int
        One stratified 60/40 split and one ``random_state`` per seed.
    datasets, methods : sequence of str
        What to run; ``methods=None`` runs all, PyOD only when installed.
    quick : bool
        Subsample every dataset to at most 1,500 rows (stratified) and use
        the first seed only.
    evaluate_on : {'test', 'train'}
        Score the held-out part (the benchmark) or the training part (for
        choosing defaults without the test labels).
    params : dict, default=None
        Parameters of the skae detector other than ``random_state``.
    """
    notes = []
    if methods is None:
        methods = [m for m in METHODS if m != "pyod_ae" or pyod_available()]
        if "pyod_ae" not in methods:
            notes.append("PyOD is not installed: pyod_ae skipped (pip install pyod).")
    if quick:
        seeds = tuple(seeds)[:1]
    runs = []
    for dataset in datasets:
        X, y = load_dataset(dataset, data_dir)
        if quick and len(X) > 1500:
            X, _, y, _ = train_test_split(X, y, train_size=1500, stratify=y, random_state=0)
        for seed in seeds:
            X_train, X_test, y_train, y_test = train_test_split(
                X, y, test_size=0.4, stratify=y, random_state=seed)
            X_eval, y_eval = (X_test, y_test) if evaluate_on == "test" else (X_train, y_train)
            for method in methods:
                result = evaluate(method, X_train, X_eval, y_eval, seed, params)
                runs.append({"dataset": dataset, "method": method, "seed": seed, **result})
                log(f"{dataset:12s} seed {seed} {method:8s} roc_auc {result['roc_auc']:.3f} "
                    f"ap {result['average_precision']:.3f} {result['seconds']:7.2f}s")
    settings = {"seeds": list(seeds), "datasets": list(datasets), "methods": list(methods),
                "quick": quick, "evaluate_on": evaluate_on, "params": params or {}}
    return {"settings": settings, "runs": runs, "notes": notes}


def summarise(results):
    """Markdown table: mean ± std per dataset and method, then the overall means."""
    runs, methods = results["runs"], results["settings"]["methods"]
    datasets = list(dict.fromkeys(r["dataset"] for r in runs))

    def values(dataset, method, key):
        return np.array([r[key] for r in runs
                         if r["method"] == method and (dataset is None or r["dataset"] == dataset)])

    def cell(v):
        return f"{v.mean():.3f} ± {v.std():.3f}"

    lines = ["| dataset | metric | " + " | ".join(methods) + " |",
             "| --- | --- |" + " --- |" * len(methods)]
    for dataset in datasets:
        for key, label in (("roc_auc", "ROC-AUC"), ("average_precision", "AP"),
                           ("seconds", "seconds")):
            row = [f"{values(dataset, m, key).mean():.2f}" if key == "seconds"
                   else cell(values(dataset, m, key)) for m in methods]
            lines.append(f"| {dataset} | {label} | " + " | ".join(row) + " |")
    per_dataset = {key: {m: np.mean([values(d, m, key).mean() for d in datasets])
                         for m in methods} for key in ("roc_auc", "average_precision")}
    total_time = {m: values(None, m, "seconds").sum() for m in methods}
    lines.append("| **mean** | ROC-AUC | " + " | ".join(
        f"**{per_dataset['roc_auc'][m]:.3f}**" for m in methods) + " |")
    lines.append("| **mean** | AP | " + " | ".join(
        f"{per_dataset['average_precision'][m]:.3f}" for m in methods) + " |")
    lines.append("| **total** | seconds | " + " | ".join(
        f"{total_time[m]:.1f}" for m in methods) + " |")
    if "pyod_ae" in methods and "skae" in methods:
        ratio = total_time["skae"] / total_time["pyod_ae"]
        lines.append(f"\nTime of skae / time of PyOD AutoEncoder (fit + score, summed over "
                     f"all runs): {ratio:.2f}")
    lines += [f"\nNote: {note}" for note in results["notes"]]
    return "\n".join(lines)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--methods", nargs="+", default=None, choices=METHODS)
    parser.add_argument("--quick", action="store_true",
                        help="one seed, at most 1,500 rows per dataset")
    parser.add_argument("--evaluate-on", choices=("test", "train"), default="test")
    parser.add_argument("--params", type=json.loads, default=None,
                        help='skae detector parameters as JSON, e.g. \'{"max_epochs": 20}\'')
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads for every method (default 1: on a shared "
                             "machine more threads than free cores slow torch down badly)")
    parser.add_argument("--output", default="outliers",
                        help="file name stem under benchmarks/results/ ('' to skip saving)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    results = run(args.data_dir, args.seeds, args.datasets, args.methods, args.quick,
                  args.evaluate_on, args.params)
    table = summarise(results)
    print(table)
    if args.output:
        RESULTS_DIR.mkdir(exist_ok=True)
        command = " ".join(["python -m benchmarks.outliers", *argv])
        (RESULTS_DIR / f"{args.output}.md").write_text(
            f"# Outlier detection benchmark\n\nCommand: `{command.strip()}`\n\n{table}\n")
        (RESULTS_DIR / f"{args.output}.json").write_text(
            json.dumps({**results, "command": command.strip()}, indent=2))


if __name__ == "__main__":
    main()
