"""Time-series anomaly detection: ``SequenceOutlierDetector`` against window baselines.

Data: the labelled NAB series of ``nab/`` (45 series, 5 categories) and
ECG5000 as a stream (the beats of ``ecg5000/ecg.csv`` one after another, the
first ``--ecg-beats`` of them, default 500: the file holds 292 normal beats,
then 208 abnormal ones; a step is anomalous when its beat is).

Protocol, per series: every method is a :class:`skae.SequenceOutlierDetector`
with its own window detector and the same window (``window='auto'``, read
from the training part; 140 steps, one beat, for ECG5000). It is fitted
without labels on the first 40 % of the series, anomalies included, and
scores every step and every window of the whole series. Metrics:

- ``vus_pr``: :func:`skae.metrics.vus_pr` of the per-step scores, with the
  window as the longest buffer (as TSB-AD does);
- ``roc_auc``: window ROC-AUC, a window being anomalous when its last step is;
- ``seconds``: fit plus scoring.

Methods (``--methods``):

- ``skae_sequence``: ``SequenceOutlierDetector(random_state=seed)`` at its
  defaults: ``AutoencoderOutlierDetector`` at its defaults on raw windows;
- ``skae_znorm``: the same on z-normalised windows (``normalize=True``); not
  in the default run (it lost on the dev suite, ``--dev``);
- ``skae_conv``: ``AutoencoderOutlierDetector`` with
  ``ConvNetwork(input_shape=(1, 1, -1))`` (a convolution over the window) on
  raw windows; not in the default run (about 70 s per 600-step series on
  one core);
- ``skae_lstm``: the same with ``LSTMNetwork(input_shape=(-1, 1))`` on raw
  windows; slow, so run on the series named by ``--lstm-series`` only
  (default: the shortest NAB series);
- ``iforest``: ``IsolationForest`` on raw windows;
- ``pca``: standardise, PCA keeping 90 % of the variance, negative
  reconstruction error, on raw windows;
- ``sub_pca``: TSB-AD's sub-sequence PCA: PyOD's ``PCA()`` (standardised
  windows, all components, weighted distances to the eigenvectors);
- ``pyod_knn``: PyOD's ``KNN()`` on raw windows.

Random methods run with seeds 0, 1, 2 (``skae_sequence``, ``iforest``) or,
to keep the run short, with the first seed only (``skae_znorm``,
``skae_conv``, ``skae_lstm``); the deterministic ones once. PyOD is
optional: its methods are skipped with a note when it is not installed. torch runs on one thread.

A window detector's non-finite scores (PyOD's PCA on series with constant
stretches) are ranked most abnormal, and counted in ``infinite_scores``.

Streaming latency: ``SequenceOutlierDetector`` fitted on the first 40 % of one
NAB series, then :meth:`~skae.SequenceOutlierDetector.score_stream` on 300
single points, one call each; the median seconds per point.

``--dev`` runs the same protocol on the first 40 % of every series only (the
series with a labelled step there): how the default was chosen, without the
other 60 %.

Run: ``python -m benchmarks.sequences --out benchmarks/results/sequences``.
"""

import argparse
import json
import shlex
import sys
import time

import numpy as np
import torch
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score

from skae import AutoencoderOutlierDetector, ConvNetwork, LSTMNetwork, SequenceOutlierDetector
from skae.metrics import vus_pr
from skae.sequences import _per_step

from ._output import add_out_argument
from ._timing import timed_fit_score
from .datasets import load_ecg5000, load_nab
from .outliers import PCAReconstructionDetector, PyODScores, pyod_available

TRAIN_SHARE = 0.4
SEEDS = (0, 1, 2)
SEEDED_METHODS = ("skae_sequence", "iforest")
ONE_SEED_METHODS = ("skae_znorm", "skae_conv", "skae_lstm")
PYOD_METHODS = ("sub_pca", "pyod_knn")
METHODS = ("skae_sequence", "skae_znorm", "skae_conv", "skae_lstm", "iforest", "pca",
           *PYOD_METHODS)
DEFAULT_METHODS = tuple(m for m in METHODS if m not in ("skae_znorm", "skae_conv"))
ECG_BEAT = 140
STREAM_POINTS = 300
#: Training budget of the skae detectors with --quick.
QUICK_STEPS = 5


def make_method(name, seed, window="auto", max_steps=None):
    """The ``SequenceOutlierDetector`` of method ``name``.

    ``max_steps`` overrides the skae detectors' training budget (for
    ``--quick``); ``skae_sequence`` then gets an explicit default detector.
    """
    budget = {} if max_steps is None else {"max_steps": max_steps}
    if name in ("skae_sequence", "skae_znorm"):
        detector = AutoencoderOutlierDetector(random_state=seed, **budget) if budget else None
        return SequenceOutlierDetector(detector, window=window, random_state=seed,
                                       normalize=name == "skae_znorm")
    networks = {"skae_conv": ConvNetwork(input_shape=(1, 1, -1)),
                "skae_lstm": LSTMNetwork(input_shape=(-1, 1))}
    if name in networks:
        detector = AutoencoderOutlierDetector(network=networks[name], random_state=seed,
                                              **budget)
    elif name == "iforest":
        detector = IsolationForest(random_state=seed)
    elif name == "pca":
        detector = PCAReconstructionDetector()
    elif name == "sub_pca":
        from pyod.models.pca import PCA

        detector = PyODScores(PCA())
    elif name == "pyod_knn":
        from pyod.models.knn import KNN

        detector = PyODScores(KNN())
    else:
        raise ValueError(f"unknown method {name!r}; choose from {METHODS}")
    return SequenceOutlierDetector(detector, window=window)


def evaluate(model, values, labels):
    """Fit on the first 40 % of ``values``; VUS-PR, window ROC-AUC and seconds."""
    n_fit = int(TRAIN_SHARE * len(values))
    started = time.perf_counter()
    _, _, n_warnings = timed_fit_score(model, values[:n_fit], None)
    window_scores, n_infinite = _ranked_finite(model.window_scores(values))
    # The per-step scores of score_samples, from the same window scores.
    step_scores = _per_step(window_scores, model.window_)
    seconds = time.perf_counter() - started
    window_labels = labels[model.window_ - 1:]
    return {"vus_pr": vus_pr(labels, -step_scores, max_buffer=model.window_),
            "roc_auc": float(roc_auc_score(window_labels, -window_scores)),
            "seconds": seconds, "window": int(model.window_),
            "convergence_warnings": n_warnings, "infinite_scores": n_infinite}


def _ranked_finite(scores):
    """``scores`` with non-finite values made the lowest (most abnormal) finite ones.

    PyOD's PCA divides by the explained variance of every component, so a
    window of a series with constant stretches can score infinite; the
    metrics only use the ranks, which this keeps.
    """
    scores = np.asarray(scores, dtype=np.float64)
    bad = ~np.isfinite(scores)
    if bad.any():
        finite = scores[~bad]
        lowest = finite.min() if len(finite) else 0.0
        scores = np.where(bad, lowest - 1.0, scores)
    return scores, int(bad.sum())


def load_series(data_dir, dev, ecg_beats):
    """``[(category, name, values, labels, window)]`` of the suite."""
    series = []
    for key, values, labels in load_nab(data_dir):
        if dev:
            n_dev = int(TRAIN_SHARE * len(values))
            values, labels = values[:n_dev], labels[:n_dev]
            if not labels.any():
                continue
        category, name = key.split("/")
        series.append((category, name.removesuffix(".csv"), values, labels, "auto"))
    if ecg_beats and not dev:
        beats, normal = load_ecg5000(data_dir)
        beats, normal = beats[:ecg_beats], normal[:ecg_beats]
        series.append(("ecg5000", f"ecg5000_{ecg_beats}_beats", beats.astype(np.float64).ravel(),
                       np.repeat(1 - normal, ECG_BEAT), ECG_BEAT))
    return series


def _cropped(category, name, values, labels, window, length=600):
    """The ``length`` steps of a series whose last 200 start at its first anomaly."""
    start = max(0, int(np.argmax(labels)) - (length - 200))
    return category, name, values[start:start + length], labels[start:start + length], window


def lstm_subset(series):
    """The shortest NAB series."""
    nab = [(len(values), name) for category, name, values, *_ in series if category != "ecg5000"]
    return {min(nab)[1]}


def run(data_dir=None, methods=DEFAULT_METHODS, seeds=SEEDS, dev=False, quick=False,
        ecg_beats=500, lstm_series=None, only_series=None, log=print):
    """Run the benchmark; returns ``{'settings', 'series', 'runs', 'streaming', 'notes'}``."""
    notes, methods = [], list(methods)
    if not pyod_available() and any(m in PYOD_METHODS for m in methods):
        notes.append("PyOD is not installed: sub_pca and pyod_knn skipped (pip install pyod).")
        methods = [m for m in methods if m not in PYOD_METHODS]
    series = load_series(data_dir, dev, ecg_beats)
    if only_series:
        series = [item for item in series if item[1] in only_series]
    if quick:
        series, seeds = [_cropped(*item) for item in series[:2]], seeds[:1]
    lstm_series = lstm_subset(series) if lstm_series is None else set(lstm_series)
    runs = []
    for category, name, values, labels, window in series:
        for method in methods:
            if method == "skae_lstm" and name not in lstm_series:
                continue
            for seed in seeds if method in SEEDED_METHODS else seeds[:1]:
                model = make_method(method, seed, window, QUICK_STEPS if quick else None)
                result = evaluate(model, values, labels)
                runs.append({"category": category, "series": name, "method": method,
                             "seed": seed, **result})
                log(f"{name:40s} {method:14s} seed {seed} vus_pr {result['vus_pr']:.3f} "
                    f"roc_auc {result['roc_auc']:.3f} {result['seconds']:7.2f}s "
                    f"w={result['window']}")
    settings = {"methods": methods, "seeds": list(seeds), "dev": dev, "quick": quick,
                "ecg_beats": ecg_beats, "lstm_series": sorted(lstm_series),
                "torch_threads": torch.get_num_threads()}
    streaming = None if dev else stream_latency(
        series[0][2], STREAM_POINTS // 10 if quick else STREAM_POINTS,
        QUICK_STEPS if quick else None)
    return {"settings": settings, "runs": runs, "streaming": streaming, "notes": notes}


def stream_latency(values, n_points, max_steps=None):
    """Median seconds per point of ``score_stream`` on single points after a fit."""
    n_fit = int(TRAIN_SHARE * len(values))
    model = make_method("skae_sequence", 0, max_steps=max_steps)
    timed_fit_score(model, values[:n_fit], None)
    seconds = []
    for value in values[n_fit:n_fit + n_points]:
        started = time.perf_counter()
        model.score_stream([value])
        seconds.append(time.perf_counter() - started)
    return {"median_seconds_per_point": float(np.median(seconds)),
            "p95_seconds_per_point": float(np.percentile(seconds, 95)),
            "n_points": len(seconds), "window": int(model.window_)}


METRICS = ("vus_pr", "roc_auc", "seconds")


def aggregate(runs):
    """Per-series means over seeds, then per-method means by category and overall.

    Returns ``{'per_series': {series: {method: {metric: mean}}}, 'categories':
    {series: category}, 'per_method': {method: {group: {metric: value}}}}``,
    where a group is a category or ``'NAB'`` (all NAB series), the metrics are
    means over the group's series and ``seconds`` is their total.
    """
    per_series, categories = {}, {}
    for run in runs:
        categories[run["series"]] = run["category"]
        cell = per_series.setdefault(run["series"], {}).setdefault(run["method"], [])
        cell.append(run)
    per_series = {series: {method: {m: float(np.mean([r[m] for r in cell])) for m in METRICS}
                           for method, cell in cells.items()}
                  for series, cells in per_series.items()}
    per_method = {}
    for series, cells in per_series.items():
        groups = [categories[series]] + ([] if categories[series] == "ecg5000" else ["NAB"])
        for method, cell in cells.items():
            for group in groups:
                per_method.setdefault(method, {}).setdefault(group, []).append(cell)
    per_method = {method: {group: {"n_series": len(cells),
                                   **{m: float(np.mean([c[m] for c in cells]))
                                      for m in METRICS[:2]},
                                   "seconds": float(np.sum([c["seconds"] for c in cells]))}
                           for group, cells in groups.items()}
                  for method, groups in per_method.items()}
    return {"per_series": per_series, "categories": categories, "per_method": per_method}


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def summarise(results, summary):
    """Markdown tables: per group (mean VUS-PR / ROC-AUC / total s), then per series."""
    per_method = summary["per_method"]
    methods = [m for m in results["settings"]["methods"] if m in per_method]
    groups = sorted({g for cells in per_method.values() for g in cells},
                    key=lambda g: (g == "NAB", g == "ecg5000", g))
    rows = []
    for group in groups:
        for method in methods:
            cell = per_method[method].get(group)
            if cell is not None:
                rows.append([group, method, str(cell["n_series"]), f"{cell['vus_pr']:.3f}",
                             f"{cell['roc_auc']:.3f}", f"{cell['seconds']:.1f}"])
    parts = ["## Means per category (VUS-PR, window ROC-AUC; seconds: total)", "",
             _table(["group", "method", "series", "VUS-PR", "ROC-AUC", "seconds"], rows)]
    series_rows = [[summary["categories"][series], series] +
                   [f"{cells[m]['vus_pr']:.3f} / {cells[m]['roc_auc']:.3f}" if m in cells
                    else "—" for m in methods]
                   for series, cells in summary["per_series"].items()]
    parts += ["", "## Per series (VUS-PR / window ROC-AUC, mean over seeds)", "",
              _table(["category", "series", *methods], series_rows)]
    if results["streaming"]:
        stream = results["streaming"]
        parts += ["", (f"Streaming: `score_stream` on {stream['n_points']} single points "
                       f"(window {stream['window']}, one torch thread): median "
                       f"{1e3 * stream['median_seconds_per_point']:.2f} ms per point, 95th "
                       f"percentile {1e3 * stream['p95_seconds_per_point']:.2f} ms.")]
    infinite = sorted({(r["method"], r["series"]) for r in results["runs"]
                       if r.get("infinite_scores")})
    if infinite:
        parts += ["", "Non-finite window scores, ranked most abnormal: " + ", ".join(
            f"{method} on {series}" for method, series in infinite) + "."]
    parts += [f"- Note: {note}" for note in results["notes"]]
    return "\n".join(parts) + "\n"


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sequences",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--methods", nargs="+", default=list(DEFAULT_METHODS), choices=METHODS)
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument("--dev", action="store_true",
                        help="the first 40 %% of every series only (choosing defaults)")
    parser.add_argument("--quick", action="store_true",
                        help="two series cut to 600 steps around their first anomaly, "
                             "one seed (a smoke run)")
    parser.add_argument("--series", nargs="+", default=None, metavar="NAME",
                        help="run these series only (default: all)")
    parser.add_argument("--ecg-beats", type=int, default=500,
                        help="ECG5000 beats in the stream (0 to leave it out)")
    parser.add_argument("--lstm-series", nargs="+", default=None, metavar="NAME",
                        help="series the LSTM runs on (default: the shortest NAB series)")
    add_out_argument(parser, what="sequences.{md,json}")
    parser.add_argument("--output", default="sequences",
                        help="file name stem under --out ('' to skip saving)")
    return parser.parse_args(argv)


def main(argv=None):
    """Run, print and save the benchmark; returns the results with their summary."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    torch.set_num_threads(1)
    started = time.perf_counter()
    results = run(args.data_dir, args.methods, tuple(args.seeds), args.dev, args.quick,
                  args.ecg_beats, args.lstm_series, args.series,
                  log=lambda line: print(line, flush=True))
    results["summary"] = aggregate(results["runs"])
    results["wall_seconds"] = time.perf_counter() - started
    results["command"] = shlex.join(["python", "-m", "benchmarks.sequences", *argv])
    table = summarise(results, results["summary"])
    print(table)
    if args.output:
        args.out.mkdir(parents=True, exist_ok=True)
        part = "first 40 % of every series (dev)" if args.dev else "whole series"
        (args.out / f"{args.output}.md").write_text(
            f"# Time-series anomaly detection benchmark\n\nCommand: `{results['command']}`\n\n"
            f"Scored on the {part}; wall time {results['wall_seconds']:.0f} s.\n\n{table}")
        (args.out / f"{args.output}.json").write_text(json.dumps(results, indent=2) + "\n")
        print(f"wrote {args.out / args.output}.md and .json")
    return results


if __name__ == "__main__":
    main()
