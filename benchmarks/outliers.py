"""Outlier detection: ``AutoencoderOutlierDetector`` against the usual baselines.

Datasets (``--suite``, default all three groups; ``--datasets`` picks single
tables instead):

- ``odds``: the four ODDS/ADBench tables (cardio, thyroid, satellite,
  internetads);
- ``adbench``: the 28 ADBench "Classical" tables of ``adbench/`` (80 to
  619,326 rows, 3 to 62 features, 0.03 % to 40 % outliers);
- ``embeddings``: the 12 ResNet-18 feature tables of ``embeddings/``
  (CIFAR-10, SVHN and ten MVTec-AD categories; 512 columns);
- ``extra``: ECG5000 (label 0 = abnormal beat is the outlier) and MNIST
  "digit 5 is normal, the other digits are anomalies". MNIST is subsampled:
  2,700 fives and 300 other digits (10 % contamination), drawn once with
  seed 0 from the MNIST training split.

Protocol: ``--max-rows N`` first subsamples every table to at most N rows
(stratified, seed 0; default: no limit). Then, for each seed, a stratified
60/40 split; every method is fitted without labels on the training part,
contaminated as it is, and scored on the test part (ROC-AUC and average
precision, with outliers as the positive class). Time is fit plus scoring of
the evaluated part, in seconds; the methods run one after another on the same
split, so they see the same machine load (each is first warmed up once,
untimed, on a tiny random table), and torch (skae and PyOD) runs with
one CPU thread unless ``--threads`` says otherwise.

Methods, all with their default parameters:

- ``skae``: ``AutoencoderOutlierDetector(random_state=seed, **params)``
  (``--params`` as JSON);
- ``iforest``: ``IsolationForest(random_state=seed)``;
- ``pca``: standardise, ``PCA(n_components=0.9)`` (90 % of the variance),
  score = negative mean squared reconstruction error;
- ``pyod_ae``: PyOD's ``AutoEncoder(random_state=seed)``;
- ``pyod_knn``: PyOD's ``KNN()``.

PyOD is an optional dependency of this benchmark: its methods are skipped
with a note when it is not installed. Its scores are higher = more abnormal
and are negated here. ``--method-row-limit pyod_knn=100000`` skips a method
on the tables with more training rows than that (the cell shows "—", and the
run is recorded as skipped, not failed), so that a whole-suite run finishes; a
method that raises is recorded as failed and the run goes on.
On the project's loaded 2-core machine (one seed, full tables) PyOD's KNN took
178 s on 8_celeba and grows about quadratically on 11_donors (about 15 min
estimated), and PyOD's AutoEncoder took about 1 ms per training row (102-176 s
on 8_celeba, 33_skin and 10_cover); ``--method-row-limit pyod_knn=100000
pyod_ae=100000`` skips both on the five largest tables only.

The summary gives, per table, the mean over seeds of ROC-AUC, AP and seconds
of every method; per method, the mean over tables of those per-table means
and the total seconds, both over the tables the method ran and over the
tables where every method ran; the time ratios of skae to IsolationForest and
to PyOD's AutoEncoder, and on how many tables skae's ROC-AUC beats
IsolationForest's.

Run: ``python -m benchmarks.outliers`` (the whole suite, seeds 0 1 2; writes
``benchmarks/results/latest/outliers.{md,json}``; ``--out benchmarks/results``
refreshes the committed report). ``--quick`` is a smoke run.

``--evaluate-on train`` scores the training part instead of the test part;
with ``--params`` it is how the detector's defaults are chosen without
looking at the test parts.
"""

import argparse
import json
import shlex
import sys
import time

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skae import AutoencoderOutlierDetector

from ._output import add_out_argument
from ._timing import timed_fit_score
from .datasets import (
    ADBENCH_TABLES,
    EMBEDDING_TABLES,
    ODDS_TABLES,
    load_adbench,
    load_ecg5000,
    load_embeddings,
    load_idx_images,
    load_odds,
)

SUITES = {"odds": ODDS_TABLES, "adbench": ADBENCH_TABLES, "embeddings": EMBEDDING_TABLES,
          "extra": ("ecg5000", "mnist5")}
DATASETS = tuple(name for tables in SUITES.values() for name in tables)
METHODS = ("skae", "iforest", "pca", "pyod_ae", "pyod_knn")
PYOD_METHODS = ("pyod_ae", "pyod_knn")
SEEDS = (0, 1, 2)
QUICK_ROWS = 1500
MNIST_NORMAL, MNIST_INLIERS, MNIST_OUTLIERS = 5, 2700, 300
SKIPPED, FAILED = "—", "failed"


def load_dataset(name, data_dir=None):
    """``X`` (float32) and ``y`` (int64, 1 = outlier) of one benchmark dataset."""
    if name in ODDS_TABLES:
        return load_odds(name, data_dir)
    if name in ADBENCH_TABLES:
        return load_adbench(name, data_dir)
    if name in EMBEDDING_TABLES:
        return load_embeddings(name, data_dir)
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


def subsample(X, y, max_rows, seed=0):
    """At most ``max_rows`` rows, stratified by ``y``; the table itself when smaller."""
    if max_rows is None or len(X) <= max_rows:
        return X, y
    X, _, y, _ = train_test_split(X, y, train_size=max_rows, stratify=y, random_state=seed)
    return X, y


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
        import pyod.models.auto_encoder
        import pyod.models.knn  # noqa: F401
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
    if name == "pyod_knn":
        from pyod.models.knn import KNN

        return PyODScores(KNN())
    raise ValueError(f"unknown method {name!r}; choose from {METHODS}")


def evaluate(name, X_train, X_eval, y_eval, seed, params=None):
    """Fit one method on ``X_train``; ROC-AUC, AP and seconds on ``X_eval``."""
    model = make_method(name, seed, params)
    scores, seconds, n_warnings = timed_fit_score(model, X_train, X_eval)
    abnormality = -np.asarray(scores, dtype=np.float64)
    result = {"roc_auc": float(roc_auc_score(y_eval, abnormality)),
              "average_precision": float(average_precision_score(y_eval, abnormality)),
              "seconds": seconds, "convergence_warnings": n_warnings}
    if hasattr(model, "offset_"):  # predict's threshold: the share it flags
        result["flagged_share"] = float(np.mean(np.asarray(scores) < model.offset_))
    return result


def warm_up(methods, params=None):
    """Fit and score every method once on a tiny random table, untimed, so that
    one-off costs (imports, torch's first kernels) do not land on the first table."""
    X = np.random.RandomState(0).normal(size=(200, 8)).astype(np.float32)
    for method in methods:
        try:
            timed_fit_score(make_method(method, 0, params), X, X)
        except Exception:  # noqa: BLE001, S110 -- the timed runs record any real failure
            pass


def parse_row_limits(items):
    """``['pyod_knn=100000', ...]`` as ``{'pyod_knn': 100000, ...}``."""
    limits = {}
    for item in items or ():
        method, sep, value = item.partition("=")
        if not sep or method not in METHODS:
            raise ValueError(f"row limit {item!r} is not METHOD=N with METHOD in {METHODS}")
        limits[method] = int(value)
    return limits


def skip_reason(method, n_train, row_limits):
    """Why ``method`` is skipped on a table with ``n_train`` training rows, or None."""
    limit = (row_limits or {}).get(method)
    if limit is not None and n_train > limit:
        return f"{n_train} training rows > row limit {limit}"
    return None


def select_datasets(suites=None, datasets=None):
    """The tables to run: ``datasets`` when given, else every table of ``suites``."""
    if datasets:
        return list(datasets)
    return [name for suite in (suites or SUITES) for name in SUITES[suite]]


def run(data_dir=None, seeds=SEEDS, datasets=DATASETS, methods=None, quick=False,
        evaluate_on="test", params=None, max_rows=None, row_limits=None, log=print):
    """Run the benchmark; returns ``{'settings', 'tables', 'runs', 'notes'}``.

    Parameters
    ----------
    data_dir : str or Path, default=None
        Data directory (see :mod:`benchmarks.datasets`).
    seeds : sequence of int, default=(0, 1, 2)
        One stratified 60/40 split and one ``random_state`` per seed.
    datasets, methods : sequence of str
        What to run; ``methods=None`` runs all, PyOD's only when installed.
    quick : bool
        At most 1,500 rows per table (unless ``max_rows`` is smaller) and
        the first seed only.
    evaluate_on : {'test', 'train'}
        Score the held-out part (the benchmark) or the training part (for
        choosing defaults without the test labels).
    params : dict, default=None
        Parameters of the skae detector other than ``random_state``.
    max_rows : int, default=None
        Stratified subsample of every table to at most this many rows, before
        the split.
    row_limits : dict, default=None
        ``{method: n}``: skip ``method`` on tables with more than ``n``
        training rows (recorded as skipped).

    Each entry of ``runs`` has ``dataset``, ``method``, ``seed`` and either
    the metrics (``roc_auc``, ``average_precision``, ``seconds``,
    ``convergence_warnings``), or ``skipped`` or ``error`` with the reason.
    """
    notes = []
    methods = list(METHODS if methods is None else methods)
    if not pyod_available() and any(m in PYOD_METHODS for m in methods):
        dropped = [m for m in methods if m in PYOD_METHODS]
        methods = [m for m in methods if m not in PYOD_METHODS]
        notes.append(f"PyOD is not installed: {', '.join(dropped)} skipped (pip install pyod).")
    if quick:
        seeds = tuple(seeds)[:1]
        max_rows = QUICK_ROWS if max_rows is None else min(max_rows, QUICK_ROWS)
    warm_up(methods, params)
    tables, runs = {}, []
    for dataset in datasets:
        X, y = subsample(*load_dataset(dataset, data_dir), max_rows)
        tables[dataset] = {"n_rows": len(X), "n_features": int(X.shape[1]),
                           "n_outliers": int(y.sum())}
        for seed in seeds:
            X_train, X_test, y_train, y_test = train_test_split(
                X, y, test_size=0.4, stratify=y, random_state=seed)
            X_eval, y_eval = (X_test, y_test) if evaluate_on == "test" else (X_train, y_train)
            for method in methods:
                entry = {"dataset": dataset, "method": method, "seed": seed}
                reason = skip_reason(method, len(X_train), row_limits)
                if reason is not None:
                    runs.append({**entry, "skipped": reason})
                    log(f"{dataset:18s} seed {seed} {method:8s} skipped: {reason}")
                    continue
                try:
                    result = evaluate(method, X_train, X_eval, y_eval, seed, params)
                except Exception as error:  # noqa: BLE001 -- record it, run the rest
                    runs.append({**entry, "error": f"{type(error).__name__}: {error}"})
                    log(f"{dataset:18s} seed {seed} {method:8s} FAILED: "
                        f"{type(error).__name__}: {error}")
                    continue
                runs.append({**entry, **result})
                log(f"{dataset:18s} seed {seed} {method:8s} roc_auc {result['roc_auc']:.3f} "
                    f"ap {result['average_precision']:.3f} {result['seconds']:8.2f}s")
    settings = {"seeds": list(seeds), "datasets": list(datasets), "methods": methods,
                "quick": quick, "evaluate_on": evaluate_on, "params": params or {},
                "max_rows": max_rows, "row_limits": dict(row_limits or {}),
                "torch_threads": torch.get_num_threads()}
    return {"settings": settings, "tables": tables, "runs": runs, "notes": notes}


METRICS = ("roc_auc", "average_precision", "seconds")


def aggregate(results):
    """Per-table means over seeds and per-method means over tables.

    Returns a dict with ``per_table`` (``{dataset: {method: {metric: mean}
    or {'skipped': reason} or {'error': message}}}``), ``common_tables`` (the
    tables where every method ran), ``per_method`` (``{method: {'n_tables',
    'roc_auc', 'average_precision', 'seconds' (total), and the same on the
    common tables}}``) and ``comparisons`` (time ratios of skae and its wins
    over IsolationForest, each on the tables both methods ran).
    """
    runs, methods = results["runs"], results["settings"]["methods"]
    datasets = list(dict.fromkeys(r["dataset"] for r in runs))
    per_table = {}
    for dataset in datasets:
        per_table[dataset] = {}
        for method in methods:
            cell_runs = [r for r in runs if r["dataset"] == dataset and r["method"] == method]
            done = [r for r in cell_runs if "roc_auc" in r]
            if done:
                cell = {key: float(np.mean([r[key] for r in done])) for key in METRICS[:2]}
                cell["roc_auc_std"] = float(np.std([r["roc_auc"] for r in done]))
                cell["seconds"] = float(np.mean([r["seconds"] for r in done]))
                cell["seconds_total"] = float(np.sum([r["seconds"] for r in done]))
                cell["n_seeds"] = len(done)
                cell["convergence_warnings"] = int(sum(r.get("convergence_warnings", 0)
                                                       for r in done))
            elif any("error" in r for r in cell_runs):
                cell = {"error": next(r["error"] for r in cell_runs if "error" in r)}
            elif cell_runs:
                cell = {"skipped": cell_runs[0]["skipped"]}
            else:
                continue
            per_table[dataset][method] = cell

    def ran(dataset, method):
        return "roc_auc" in per_table[dataset].get(method, {})

    def means(method, tables):
        cells = [per_table[d][method] for d in tables]
        if not cells:
            return {"n_tables": 0, "roc_auc": None, "average_precision": None, "seconds": None}
        return {"n_tables": len(cells),
                "roc_auc": float(np.mean([c["roc_auc"] for c in cells])),
                "average_precision": float(np.mean([c["average_precision"] for c in cells])),
                "seconds": float(np.sum([c["seconds_total"] for c in cells]))}

    common = [d for d in datasets if all(ran(d, m) for m in methods)]
    per_method = {m: {**means(m, [d for d in datasets if ran(d, m)]),
                      "common": means(m, common)} for m in methods}
    comparisons = {}
    if "skae" in methods:
        for other in ("iforest", "pyod_ae"):
            if other in methods:
                both = [d for d in datasets if ran(d, "skae") and ran(d, other)]
                time_other = sum(per_table[d][other]["seconds_total"] for d in both)
                time_skae = sum(per_table[d]["skae"]["seconds_total"] for d in both)
                comparisons[f"time_skae_over_{other}"] = {
                    "ratio": time_skae / time_other if time_other > 0 else None,
                    "n_tables": len(both)}
        if "iforest" in methods:
            both = [d for d in datasets if ran(d, "skae") and ran(d, "iforest")]
            comparisons["skae_roc_auc_above_iforest"] = {
                "wins": sum(per_table[d]["skae"]["roc_auc"] > per_table[d]["iforest"]["roc_auc"]
                            for d in both),
                "n_tables": len(both)}
    return {"per_table": per_table, "common_tables": common, "per_method": per_method,
            "per_group": _group_means(per_table, methods),
            "flagged_share": _flagged_shares(results), "comparisons": comparisons}


def _group_means(per_table, methods):
    """Per group of :data:`SUITES`, each method's mean ROC-AUC and AP over its tables.

    A method that did not run on every table of the group has none.
    """
    groups = {}
    for group, names in SUITES.items():
        cells = [per_table[name] for name in names if name in per_table]
        if not cells:
            continue
        groups[group] = {"n_tables": len(cells)}
        for method in methods:
            ran = [c[method] for c in cells if "roc_auc" in c.get(method, {})]
            if len(ran) == len(cells):
                groups[group][method] = {
                    key: float(np.mean([r[key] for r in ran]))
                    for key in ("roc_auc", "average_precision")}
    return groups


def _flagged_shares(results):
    """Per method with a threshold, the mean share of evaluated rows ``predict`` flags.

    With the mean true share of outliers of the tables beside it.
    """
    runs = [r for r in results["runs"] if "flagged_share" in r]
    truth = {d: t["n_outliers"] / t["n_rows"] for d, t in results["tables"].items()}
    shares = {method: {
        "flagged": float(np.mean([r["flagged_share"] for r in runs if r["method"] == method])),
        "minus_true": float(np.mean([r["flagged_share"] - truth[r["dataset"]]
                                     for r in runs if r["method"] == method]))}
        for method in sorted({r["method"] for r in runs})}
    return {"true_share": float(np.mean(list(truth.values()))), "methods": shares} if runs else {}


def _fmt(value, digits=3):
    return SKIPPED if value is None else f"{value:.{digits}f}"


def summarise(results, summary=None):
    """Markdown: per-table tables of ROC-AUC, AP and seconds, then the per-method means."""
    summary = aggregate(results) if summary is None else summary
    methods, tables = results["settings"]["methods"], results.get("tables", {})
    per_table, per_method = summary["per_table"], summary["per_method"]
    lines = []
    for key, title, digits in (("roc_auc", "ROC-AUC", 3), ("average_precision", "AP", 3),
                               ("seconds", "Seconds (fit + score, mean over seeds)", 2)):
        lines += [f"### {title}", "",
                  "| dataset | rows | features | outliers | " + " | ".join(methods) + " |",
                  "| --- | ---: | ---: | ---: |" + " ---: |" * len(methods)]
        for dataset, cells in per_table.items():
            info = tables.get(dataset, {})
            shape = [str(info.get("n_rows", "")), str(info.get("n_features", "")),
                     f"{100 * info['n_outliers'] / info['n_rows']:.1f} %"
                     if info.get("n_rows") else ""]
            row = []
            for method in methods:
                cell = cells.get(method, {})
                row.append(_fmt(cell[key], digits) if key in cell
                           else FAILED if "error" in cell else SKIPPED)
            lines.append(f"| {dataset} | " + " | ".join(shape + row) + " |")
        lines.append("")
    n_common = len(summary["common_tables"])
    lines += ["### Means over tables", "",
              ("Each mean is over tables of the per-table mean over seeds. \"All\": every "
               f"table the method ran; \"common\": the {n_common} tables where every method "
               "ran."), "",
              ("| method | tables | ROC-AUC (all) | AP (all) | seconds (all) "
               "| ROC-AUC (common) | AP (common) | seconds (common) |"),
              "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for method in methods:
        m, c = per_method[method], per_method[method]["common"]
        lines.append(f"| {method} | {m['n_tables']} | {_fmt(m['roc_auc'])} | "
                     f"{_fmt(m['average_precision'])} | {_fmt(m['seconds'], 1)} | "
                     f"{_fmt(c['roc_auc'])} | {_fmt(c['average_precision'])} | "
                     f"{_fmt(c['seconds'], 1)} |")
    lines.append("")
    lines += _group_lines(summary, methods)
    lines += _flagged_lines(summary)
    comparisons = summary["comparisons"]
    names = {"iforest": "IsolationForest", "pyod_ae": "PyOD AutoEncoder"}
    for other, name in names.items():
        ratio = comparisons.get(f"time_skae_over_{other}")
        if ratio:
            lines.append(f"- Time of skae / time of {name} (fit + score, summed over the "
                         f"{ratio['n_tables']} tables both ran): {_fmt(ratio['ratio'], 2)}")
    wins = comparisons.get("skae_roc_auc_above_iforest")
    if wins:
        lines.append(f"- Tables where skae's ROC-AUC is above IsolationForest's: "
                     f"{wins['wins']} of {wins['n_tables']}")
    skipped = sorted({(d, m, c["skipped"]) for d, cells in per_table.items()
                      for m, c in cells.items() if "skipped" in c})
    failed = sorted({(d, m, c["error"]) for d, cells in per_table.items()
                     for m, c in cells.items() if "error" in c})
    lines += [f"- Skipped ({SKIPPED}): {m} on {d} ({why})" for d, m, why in skipped]
    lines += [f"- Failed: {m} on {d}: {why}" for d, m, why in failed]
    warned = sorted((d, m, c["convergence_warnings"]) for d, cells in per_table.items()
                    for m, c in cells.items() if c.get("convergence_warnings"))
    if warned:
        lines.append("- ConvergenceWarnings (runs that ended on their budget with the loss "
                     "still moving): " + ", ".join(f"{m} on {d} ({n})" for d, m, n in warned))
    lines += [f"- Note: {note}" for note in results["notes"]]
    return "\n".join(lines).rstrip() + "\n"


def _group_lines(summary, methods):
    """Markdown lines: the per-group means of ``summary``."""
    lines = ["### Means per group of tables", "",
             "| group | tables | " + " | ".join(f"{m} ROC-AUC | {m} AP" for m in methods) + " |",
             "| --- | ---: |" + " ---: | ---: |" * len(methods)]
    for group, cells in summary["per_group"].items():
        row = []
        for method in methods:
            cell = cells.get(method)
            row += ([_fmt(cell["roc_auc"]), _fmt(cell["average_precision"])] if cell
                    else [SKIPPED, SKIPPED])
        lines.append(f"| {group} | {cells['n_tables']} | " + " | ".join(row) + " |")
    return [*lines, ""]


def _flagged_lines(summary):
    """Markdown lines: the share of the evaluated rows ``predict`` flags, against the truth."""
    flagged = summary["flagged_share"]
    if not flagged:
        return []
    lines = ["### Share of rows flagged by predict at the default threshold", "",
             ("Mean over tables (and seeds) of the share of the evaluated rows predicted -1, "
              f"against the mean true share of outliers ({100 * flagged['true_share']:.1f} %)."),
             "", "| method | flagged | flagged - true share (mean) |", "| --- | ---: | ---: |"]
    for method, share in flagged["methods"].items():
        lines.append(f"| {method} | {100 * share['flagged']:.1f} % | "
                     f"{100 * share['minus_true']:+.1f} points |")
    return [*lines, ""]


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.outliers",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--suite", nargs="+", choices=tuple(SUITES), default=list(SUITES),
                        help="groups of tables to run (default: all); --datasets overrides")
    parser.add_argument("--datasets", nargs="+", default=None, choices=DATASETS,
                        metavar="DATASET", help="run these tables instead of --suite's")
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument("--methods", nargs="+", default=None, choices=METHODS)
    parser.add_argument("--quick", action="store_true",
                        help=f"one seed, at most {QUICK_ROWS:,} rows per table")
    parser.add_argument("--max-rows", type=int, default=None,
                        help="stratified subsample of each table to at most N rows "
                             "before the split (default: all rows)")
    parser.add_argument("--method-row-limit", nargs="+", default=[], metavar="METHOD=N",
                        help="skip METHOD on tables with more than N training rows, e.g. "
                             "pyod_knn=100000 pyod_ae=100000 (recorded as skipped)")
    parser.add_argument("--evaluate-on", choices=("test", "train"), default="test")
    parser.add_argument("--params", type=json.loads, default=None,
                        help='skae detector parameters as JSON, e.g. \'{"learning_rate": 1e-3}\'')
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads for every method (default 1: on a shared "
                             "machine more threads than free cores slow torch down badly)")
    add_out_argument(parser, what="outliers.{md,json}")
    parser.add_argument("--output", default="outliers",
                        help="file name stem under --out ('' to skip saving)")
    args = parser.parse_args(argv)
    try:
        args.row_limits = parse_row_limits(args.method_row_limit)
    except ValueError as error:
        parser.error(str(error))
    return args


def main(argv=None):
    """Run, print and save the benchmark; returns the results with their summary."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    results = run(args.data_dir, args.seeds, select_datasets(args.suite, args.datasets),
                  args.methods, args.quick, args.evaluate_on, args.params, args.max_rows,
                  args.row_limits, log=lambda line: print(line, flush=True))
    results["summary"] = aggregate(results)
    results["wall_seconds"] = time.perf_counter() - started
    results["command"] = shlex.join(["python", "-m", "benchmarks.outliers", *argv])
    table = summarise(results, results["summary"])
    print(table)
    if args.output:
        args.out.mkdir(parents=True, exist_ok=True)
        part = "test" if args.evaluate_on == "test" else "training"
        (args.out / f"{args.output}.md").write_text(
            f"# Outlier detection benchmark\n\nCommand: `{results['command']}`\n\n"
            f"Scores on the {part} parts; {len(results['settings']['seeds'])} seed(s); "
            f"wall time {results['wall_seconds']:.0f} s.\n\n{table}")
        (args.out / f"{args.output}.json").write_text(json.dumps(results, indent=2) + "\n")
        print(f"wrote {args.out / args.output}.md and .json")
    return results


if __name__ == "__main__":
    main()
