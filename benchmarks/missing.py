"""Missing values: outlier detection on tables with gaps, and imputation.

Tables: ``--datasets`` of the outlier suite (default cardio, thyroid and
satellite; see :mod:`benchmarks.outliers`), read from ``--data-dir``, each
subsampled to at most ``--max-rows`` rows (stratified, seed 0) as that
benchmark does.

Gaps (``--conditions``): ``mcar10``, ``mcar30``, ``mcar50`` remove 10, 30 or
50 % of the entries completely at random; ``mnar`` removes, in every column,
the values above its 90th percentile (not at random: the large values are
the ones missing). A row that would lose every entry keeps one, drawn at
random. The gaps are drawn per seed, on the whole table.

Protocol, for each seed: the stratified 60/40 split of the outlier
benchmark. Detection: each method is fitted without labels on the training
part with its gaps and scores the test part with its gaps (ROC-AUC and
average precision, outliers positive; time is fit plus scoring):

- ``skae``: ``AutoencoderOutlierDetector(random_state=seed)`` on the gaps;
- ``skae_indicator``: the same with the missingness indicator appended as
  extra columns (``np.hstack([X, np.isnan(X)])``), the alternative input
  design, measured beside the default;
- ``iforest``: ``IsolationForest(random_state=seed)`` on the gaps (its
  native NaN support);
- ``impute_iforest``: ``make_pipeline(SimpleImputer(), IsolationForest())``;
- ``impute_skae``: ``make_pipeline(SimpleImputer(), AutoencoderOutlierDetector())``.

Imputation: each imputer is fitted on the training part with its gaps and
fills the test part; the error is the RMSE over the removed test entries,
in units of each column's standard deviation on the complete table. Time is
fit plus transform. Imputers at their defaults: ``AutoencoderImputer
(random_state=seed)``, ``SimpleImputer()``, ``KNNImputer()``,
``IterativeImputer(random_state=seed)``.

``--quick`` runs one seed, the 30 % condition and at most 500 rows per
table. Results: ``missing.md`` and ``missing.json`` in ``--out``.

``--mixed`` runs the mixed-type tables of ``mixed/`` instead (adult's
training file, german credit, horse colic, breast cancer; their gaps are
real), read as the data README says. The minority class is the outlier
class; for adult and german it is subsampled to 5 % of the rows (seed 0),
and every table is then subsampled to at most ``--max-rows`` rows. The
categorical columns are those that pandas reads as strings (horse colic's
integer-coded categories stay numbers). Same splits and metrics as above;
methods:

- ``native_skae``: ``AutoencoderOutlierDetector(categorical_features=...,
  random_state=seed)`` on the table as it is: one one-hot block and
  cross-entropy term per categorical column, a missing category missing;
- ``onehot_skae``: ``OneHotEncoder(handle_unknown='ignore')`` on the
  categorical columns (a missing category is a category of its own), the
  numeric columns passed through with their gaps, then
  ``AutoencoderOutlierDetector(random_state=seed)``;
- ``onehot_iforest``: the same encoding, then ``IsolationForest``;
- ``ordinal_iforest``: ``OrdinalEncoder`` (missing stays NaN, unknown
  categories -1), then ``IsolationForest`` with its native NaN support.

Results: ``missing_mixed.md`` and ``missing_mixed.json``.
"""

import argparse
import json
import shlex
import sys
import time
import warnings

import numpy as np
import torch
from sklearn.compose import make_column_transformer
from sklearn.ensemble import IsolationForest
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder

from skae import AutoencoderImputer, AutoencoderOutlierDetector

from ._output import add_out_argument
from ._timing import timed_fit_score
from .datasets import resolve_data_dir
from .outliers import DATASETS, SEEDS, load_dataset, subsample

CONDITIONS = ("mcar10", "mcar30", "mcar50", "mnar")
DEFAULT_DATASETS = ("cardio", "thyroid", "satellite")
DETECTORS = ("skae", "skae_indicator", "iforest", "impute_iforest", "impute_skae")
IMPUTERS = ("skae", "simple", "knn", "iterative")
QUICK_ROWS = 500
MNAR_QUANTILE = 90
MIXED_TABLES = {"adult": "adult-train.csv", "german": "german.csv",
                "horse-colic": "horse-colic.csv", "breast-cancer": "breast-cancer.csv"}
MIXED_SUBSAMPLED = ("adult", "german")
MIXED_OUTLIER_SHARE = 0.05
MIXED_METHODS = ("native_skae", "onehot_skae", "onehot_iforest", "ordinal_iforest")


def with_gaps(X, condition, seed):
    """A float64 copy of ``X`` with the gaps of ``condition`` as NaN."""
    rng = np.random.RandomState(seed)
    X = np.array(X, dtype=np.float64)
    if condition == "mnar":
        missing = X > np.percentile(X, MNAR_QUANTILE, axis=0)
    else:
        missing = rng.rand(*X.shape) < int(condition.removeprefix("mcar")) / 100
    empty = np.flatnonzero(missing.all(axis=1))
    missing[empty, rng.randint(X.shape[1], size=empty.size)] = False
    X[missing] = np.nan
    return X


class _WithIndicator:
    """The detector on ``[X, isnan(X)]``: the missingness indicator as extra columns."""

    def __init__(self, seed):
        self.detector = AutoencoderOutlierDetector(random_state=seed)

    @staticmethod
    def _augmented(X):
        return np.hstack([X, np.isnan(X).astype(X.dtype)])

    def fit(self, X):
        self.detector.fit(self._augmented(X))
        return self

    def score_samples(self, X):
        return self.detector.score_samples(self._augmented(X))


def make_detector(name, seed):
    """A fresh detector of ``DETECTORS`` (``fit``, ``score_samples``; lower = abnormal)."""
    return {
        "skae": lambda: AutoencoderOutlierDetector(random_state=seed),
        "skae_indicator": lambda: _WithIndicator(seed),
        "iforest": lambda: IsolationForest(random_state=seed),
        "impute_iforest": lambda: make_pipeline(SimpleImputer(),
                                                IsolationForest(random_state=seed)),
        "impute_skae": lambda: make_pipeline(SimpleImputer(),
                                             AutoencoderOutlierDetector(random_state=seed)),
    }[name]()


def make_imputer(name, seed):
    """A fresh imputer of ``IMPUTERS``."""
    return {
        "skae": lambda: AutoencoderImputer(random_state=seed),
        "simple": SimpleImputer,
        "knn": KNNImputer,
        "iterative": lambda: IterativeImputer(random_state=seed),
    }[name]()


def detect(name, seed, X_train, X_test, y_test):
    """ROC-AUC, AP and seconds of one detector."""
    scores, seconds, _ = timed_fit_score(make_detector(name, seed), X_train, X_test)
    abnormality = -np.asarray(scores, dtype=np.float64)
    return {"roc_auc": float(roc_auc_score(y_test, abnormality)),
            "average_precision": float(average_precision_score(y_test, abnormality)),
            "seconds": seconds}


def impute(name, seed, X_train, X_test, X_test_complete, column_std):
    """RMSE over the removed test entries (in column standard deviations) and seconds."""
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # IterativeImputer's and skae's convergence notes
        filled = make_imputer(name, seed).fit(X_train).transform(X_test)
    seconds = time.perf_counter() - start
    gaps = np.isnan(X_test)
    errors = ((filled - X_test_complete) / column_std)[gaps]
    return {"rmse": float(np.sqrt(np.mean(errors ** 2))), "seconds": seconds}


def load_mixed(name, data_dir=None):
    """A mixed-type table of ``mixed/`` as a DataFrame ``X`` and ``y`` (1 = minority class)."""
    import pandas as pd

    folder = resolve_data_dir(data_dir)
    if folder is None:
        raise FileNotFoundError("no data directory: pass --data-dir or set $SKAE_DATA_DIR")
    table = pd.read_csv(folder / "mixed" / MIXED_TABLES[name], header=None, na_values=["?"],
                        skipinitialspace=True)
    X, label = table.iloc[:, :-1], table.iloc[:, -1]
    X.columns = [f"c{i}" for i in range(X.shape[1])]
    y = (label != label.value_counts().index[0]).to_numpy(np.int64)
    if name in MIXED_SUBSAMPLED:
        rng = np.random.RandomState(0)
        n_keep = round(MIXED_OUTLIER_SHARE / (1 - MIXED_OUTLIER_SHARE) * (y == 0).sum())
        keep = np.sort(np.concatenate([np.flatnonzero(y == 0), rng.choice(
            np.flatnonzero(y == 1), n_keep, replace=False)]))
        X, y = X.iloc[keep].reset_index(drop=True), y[keep]
    return X, y


def make_mixed_method(name, seed, categorical):
    """A pipeline of ``MIXED_METHODS`` for a DataFrame with ``categorical`` columns."""
    if name == "native_skae":
        return AutoencoderOutlierDetector(categorical_features=categorical,
                                          random_state=seed)
    if name == "ordinal_iforest":
        encoder = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1)
    else:
        encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
    detector = (AutoencoderOutlierDetector(random_state=seed) if name == "onehot_skae"
                else IsolationForest(random_state=seed))
    return make_pipeline(make_column_transformer((encoder, categorical),
                                                 remainder="passthrough"), detector)


def run_mixed(tables, seeds=SEEDS, log=print):
    """The mixed-type benchmark on ``tables`` (``{name: (DataFrame, y)}``)."""
    from pandas.api.types import is_numeric_dtype

    runs = []
    for name, (X, y) in tables.items():
        categorical = [column for column in X.columns if not is_numeric_dtype(X[column])]
        for seed in seeds:
            X_train, X_test, _, y_test = train_test_split(X, y, test_size=0.4, stratify=y,
                                                          random_state=seed)
            for method in MIXED_METHODS:
                scores, seconds, _ = timed_fit_score(
                    make_mixed_method(method, seed, categorical), X_train, X_test)
                abnormality = -np.asarray(scores, dtype=np.float64)
                result = {"roc_auc": float(roc_auc_score(y_test, abnormality)),
                          "average_precision": float(average_precision_score(y_test,
                                                                             abnormality)),
                          "seconds": seconds}
                runs.append({"dataset": name, "condition": "real", "seed": seed,
                             "task": "detection", "method": method, **result})
                log(f"{name:13s} seed {seed} {method:15s} roc_auc {result['roc_auc']:.3f} "
                    f"ap {result['average_precision']:.3f} {seconds:.1f}s")
    shapes = {name: {"n_rows": len(X), "n_features": int(X.shape[1]),
                     "n_outliers": int(np.sum(y)),
                     "n_missing": int(X.isna().to_numpy().sum())}
              for name, (X, y) in tables.items()}
    return {"tables": shapes, "runs": runs}


def run_table(name, X, y, conditions, seeds, log=print):
    """Every run on one table: a list of result dicts."""
    column_std = np.where(X.std(axis=0) > 0, X.std(axis=0), 1.0)
    runs = []
    for condition in conditions:
        for seed in seeds:
            X_gaps = with_gaps(X, condition, seed)
            split = train_test_split(X_gaps, np.asarray(X, np.float64), y, test_size=0.4,
                                     stratify=y, random_state=seed)
            X_train, X_test, _, X_test_complete, _, y_test = split
            entry = {"dataset": name, "condition": condition, "seed": seed,
                     "missing_share": float(np.isnan(X_gaps).mean())}
            for method in DETECTORS:
                result = detect(method, seed, X_train, X_test, y_test)
                runs.append({**entry, "task": "detection", "method": method, **result})
                log(f"{name:10s} {condition:7s} seed {seed} detect {method:15s} "
                    f"roc_auc {result['roc_auc']:.3f} ap {result['average_precision']:.3f}")
            for method in IMPUTERS:
                result = impute(method, seed, X_train, X_test, X_test_complete, column_std)
                runs.append({**entry, "task": "imputation", "method": method, **result})
                log(f"{name:10s} {condition:7s} seed {seed} impute {method:15s} "
                    f"rmse {result['rmse']:.3f} {result['seconds']:.1f}s")
    return runs


def run(tables, conditions=CONDITIONS, seeds=SEEDS, log=print):
    """Run on ``tables`` (``{name: (X, y)}``); returns ``{'tables', 'runs'}``."""
    runs = []
    for name, (X, y) in tables.items():
        runs += run_table(name, X, y, conditions, seeds, log)
    shapes = {name: {"n_rows": len(X), "n_features": int(X.shape[1]),
                     "n_outliers": int(np.sum(y))} for name, (X, y) in tables.items()}
    return {"tables": shapes, "runs": runs}


def aggregate(runs, task, metric):
    """``{condition: {method: mean over tables of the mean over seeds}}`` and per table."""
    cells = {}
    for run in runs:
        if run["task"] == task:
            key = (run["condition"], run["method"], run["dataset"])
            cells.setdefault(key, []).append(run[metric])
    per_table = {key: float(np.mean(values)) for key, values in cells.items()}
    overall = {}
    for (condition, method, _), value in per_table.items():
        overall.setdefault(condition, {}).setdefault(method, []).append(value)
    means = {condition: {method: float(np.mean(values)) for method, values in methods.items()}
             for condition, methods in overall.items()}
    return means, per_table


def _table(means, methods, digits=3):
    lines = ["| condition | " + " | ".join(methods) + " |",
             "|---|" + "---|" * len(methods)]
    for condition, row in means.items():
        lines.append(f"| {condition} | " + " | ".join(f"{row[m]:.{digits}f}" for m in methods)
                     + " |")
    return "\n".join(lines)


def summarise_mixed(results):
    """The markdown tables of the mixed-type benchmark."""
    parts = []
    for metric in ("roc_auc", "average_precision", "seconds"):
        means, per_table = aggregate(results["runs"], "detection", metric)
        results.setdefault("summary", {})[metric] = means["real"]
        rows = [f"| {table} | " + " | ".join(f"{per_table[('real', m, table)]:.3f}"
                                           for m in MIXED_METHODS) + " |"
                for table in results["tables"]]
        rows.append("| mean | " + " | ".join(f"{means['real'][m]:.3f}"
                                            for m in MIXED_METHODS) + " |")
        parts.append(f"## {metric}\n\n| table | " + " | ".join(MIXED_METHODS)
                     + " |\n|---|" + "---|" * len(MIXED_METHODS) + "\n" + "\n".join(rows))
    return "\n\n".join(parts) + "\n"


def summarise(results):
    """The markdown tables of ``results``: detection, imputation, time."""
    parts = []
    for task, metric, methods, title in [
        ("detection", "roc_auc", DETECTORS, "Detection, ROC-AUC (mean over tables)"),
        ("detection", "average_precision", DETECTORS, "Detection, average precision"),
        ("detection", "seconds", DETECTORS, "Detection, seconds (fit + score)"),
        ("imputation", "rmse", IMPUTERS, "Imputation, RMSE in column standard deviations"),
        ("imputation", "seconds", IMPUTERS, "Imputation, seconds (fit + transform)"),
    ]:
        means, per_table = aggregate(results["runs"], task, metric)
        results.setdefault("summary", {})[f"{task}_{metric}"] = means
        parts.append(f"## {title}\n\n{_table(means, methods, 2 if metric == 'seconds' else 3)}")
        if metric in ("roc_auc", "rmse"):
            rows = [f"| {table} {condition} | "
                    + " | ".join(f"{per_table[(condition, m, table)]:.3f}" for m in methods)
                    + " |"
                    for table in results["tables"] for condition in means]
            parts.append("Per table:\n\n| table, condition | " + " | ".join(methods)
                         + " |\n|---|" + "---|" * len(methods) + "\n" + "\n".join(rows))
    return "\n\n".join(parts) + "\n"


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.missing",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--datasets", nargs="+", default=list(DEFAULT_DATASETS),
                        choices=DATASETS)
    parser.add_argument("--conditions", nargs="+", default=list(CONDITIONS),
                        choices=CONDITIONS)
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument("--max-rows", type=int, default=None,
                        help="stratified subsample of every table (seed 0)")
    parser.add_argument("--quick", action="store_true",
                        help=f"one seed, mcar30, at most {QUICK_ROWS} rows per table")
    parser.add_argument("--mixed", action="store_true",
                        help="the mixed-type tables of mixed/ instead (real gaps)")
    add_out_argument(parser)
    return parser.parse_args(argv)


def main(argv=None, tables=None):
    """Run, print and save the benchmark; ``tables`` replaces loading (for tests)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    seeds, conditions, max_rows = args.seeds, args.conditions, args.max_rows
    if args.quick:
        seeds, conditions = seeds[:1], ["mcar30"]
        max_rows = QUICK_ROWS if max_rows is None else min(max_rows, QUICK_ROWS)
    if tables is None:
        load = load_mixed if args.mixed else load_dataset
        names = MIXED_TABLES if args.mixed else args.datasets
        tables = {name: load(name, args.data_dir) for name in names}
    tables = {name: subsample(X, y, max_rows) for name, (X, y) in tables.items()}
    torch.set_num_threads(1)
    started = time.perf_counter()
    log = lambda line: print(line, flush=True)
    results = (run_mixed(tables, seeds, log) if args.mixed
               else run(tables, conditions, seeds, log))
    results["wall_seconds"] = time.perf_counter() - started
    results["command"] = shlex.join(["python", "-m", "benchmarks.missing", *argv])
    results["settings"] = {"seeds": list(seeds), "max_rows": max_rows, "torch_threads": 1,
                           **({} if args.mixed else {"conditions": list(conditions)})}
    report = summarise_mixed(results) if args.mixed else summarise(results)
    print(report)
    stem = "missing_mixed" if args.mixed else "missing"
    title = "Mixed-type tables with real gaps" if args.mixed else "Missing values benchmark"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{stem}.md").write_text(
        f"# {title}\n\nCommand: `{results['command']}`\n\n"
        f"{len(seeds)} seed(s); wall time {results['wall_seconds']:.0f} s.\n\n{report}")
    (args.out / f"{stem}.json").write_text(json.dumps(results, indent=2) + "\n")
    return results


if __name__ == "__main__":
    main()
