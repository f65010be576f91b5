"""Convolutional and LSTM autoencoders on images and time series, at full size.

Three experiments:

1. **Fashion-MNIST reconstruction**: test mean squared error (pixels in
   [0, 1]) and fit time at code sizes 8 and 32 of the convolutional AE, the
   dense AE (784-256-k), the out-of-the-box ``AutoencoderTransformer`` and
   PCA, trained on all 60,000 training images and tested on all 10,000 test
   images, plus a PNG grid of test images and their reconstructions.
2. **MNIST anomaly detection** with the source article's protocol: one digit
   is normal (5, then 1); from the 70,000 images (training and test split
   together) 6,000 of the normal digit and 1,500 others are drawn; the
   detectors train on 5,000 + 500 of them and are tested on the other
   1,000 + 1,000. :class:`~skae.AutoencoderOutlierDetector` at its defaults,
   with its dense and with a convolutional network, against
   ``IsolationForest``; ROC-AUC of ``score_samples`` and F1 of ``predict``
   (normal = positive class, as in the article), over three draws.
3. **ECG5000**: train on the normal beats of an 80 % split
   (``train_test_split(test_size=0.2, random_state=42)`` as in the article),
   threshold at mean + one standard deviation of the training error, and
   report accuracy, precision, recall (normal = positive) and ROC-AUC on the
   20 % test split for the dense and the LSTM autoencoder.

The default is the full size, for a GPU or for about an hour of a 2-core CPU;
``--quick`` shrinks everything for a smoke test. Results go to
``benchmarks/results/latest/images_and_sequences.{md,json}`` and
``images_and_sequences_fashion.png``; ``--out`` and ``--name`` choose where
and under which file stem.

Run: ``python -m benchmarks.images_and_sequences [--data-dir DIR] [--device DEV] [--quick]``
"""

import argparse
import json
import os
import shlex
import sys
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score
from sklearn.model_selection import train_test_split

from skae import (
    AutoencoderOutlierDetector,
    AutoencoderTransformer,
    ConvNetwork,
    DenseNetwork,
    LSTMNetwork,
)

from ._budget import steps_for_epochs
from ._output import LATEST, add_out_argument
from ._timing import add_threads_argument, apply_threads, timed_fit, timed_fit_score
from .datasets import load_ecg5000, load_idx_images

NAME = "images_and_sequences"
IMAGE = (1, 28, 28)

# Full: every Fashion-MNIST image and the article's MNIST protocol (about an
# hour on a 2-core CPU, most of it the convolutional networks), the estimators
# at their defaults; quick: a smoke test of every code path, which also caps
# the defaults' step budgets at default_max_steps.
SETTINGS = {
    "full": {"fashion_train": 60_000, "fashion_test": 10_000, "code_sizes": [8, 32],
             "image_epochs": 20, "mnist_digits": [5, 1], "mnist_normal": (5000, 1000),
             "mnist_other": (500, 1000), "mnist_seeds": [0, 1, 2], "ecg_epochs": 40,
             "default_max_steps": None},
    "quick": {"fashion_train": 500, "fashion_test": 200, "code_sizes": [8],
              "image_epochs": 1, "mnist_digits": [5, 1], "mnist_normal": (300, 50),
              "mnist_other": (30, 50), "mnist_seeds": [0], "ecg_epochs": 3,
              "default_max_steps": 20},
}

# Images: pixels in [0, 1] as they are, sigmoid output, squared error.
IMAGE_MODELS = {
    "conv AE": {"network": ConvNetwork(input_shape=IMAGE, activation="relu")},
    "dense AE": {"network": DenseNetwork(hidden_layer_sizes=(256,), activation="relu")},
}
IMAGE_COMMON = {"scaling": None, "output_activation": "sigmoid", "loss": "mse",
                "batch_size": 64, "learning_rate": 3e-3, "n_iter_no_change": 5, "tol": 1e-5}
# The anomaly detectors at their defaults; only the network changes.
DETECTORS = {
    "dense detector": {},
    "conv detector": {"network": ConvNetwork(input_shape=IMAGE)},
}
# The article's F1 (its fixed thresholds), for the report.
ARTICLE_F1 = {(5, "dense detector"): 0.76, (5, "conv detector"): 0.69,
              (1, "dense detector"): 0.96}
# ECG: the article's 32-16-8 dense detector (MAE loss, sigmoid output on
# min-max scaled beats) and an LSTM reading each beat as 35 steps of 4
# consecutive samples (140 single-sample steps cost four times as much).
ECG_MODELS = {
    "dense AE": {"network": DenseNetwork(hidden_layer_sizes=(32, 16), activation="relu")},
    "LSTM AE": {"network": LSTMNetwork(input_shape=(35, 4), hidden_layer_sizes=(32,),
                                       reverse_decoding=True)},
}
ECG_COMMON = {"n_components": 8, "scaling": "minmax", "loss": "mae",
              "output_activation": "sigmoid", "batch_size": 64, "learning_rate": 3e-3,
              "n_iter_no_change": 5, "tol": 1e-5}


def _default_budget(settings):
    """``max_steps`` of the estimators run at their defaults: none, unless capped."""
    steps = settings["default_max_steps"]
    return {} if steps is None else {"max_steps": steps}


def _image_autoencoders(n_components, settings, n_rows, device):
    """The autoencoders of the reconstruction experiment at one code size."""
    max_steps = steps_for_epochs(settings["image_epochs"], n_rows, IMAGE_COMMON["batch_size"])
    models = {name: AutoencoderTransformer(**IMAGE_COMMON, **params, n_components=n_components,
                                           max_steps=max_steps, device=device, random_state=0)
              for name, params in IMAGE_MODELS.items()}
    models["skae defaults"] = AutoencoderTransformer(n_components=n_components, device=device,
                                                     random_state=0, **_default_budget(settings))
    return models


def fashion_reconstruction(settings, data_dir, device, seed=0):
    """Test MSE and fit time of every image model and PCA at each code size."""
    X_train, _ = load_idx_images("fashion-mnist", data_dir, "train")
    X_test, y_test = load_idx_images("fashion-mnist", data_dir, "test")
    rng = np.random.RandomState(seed)
    X_train = X_train[rng.permutation(len(X_train))[:settings["fashion_train"]]]
    test_rows = rng.permutation(len(X_test))[:settings["fashion_test"]]
    X_test, y_test = X_test[test_rows], y_test[test_rows]
    rows, reconstructions = [], {}
    for n_components in settings["code_sizes"]:
        models = {"PCA": PCA(n_components=n_components, random_state=seed),
                  **_image_autoencoders(n_components, settings, len(X_train), device)}
        for name, model in models.items():
            fit_time = timed_fit(model, X_train)
            reconstruction = model.inverse_transform(model.transform(X_test))
            rows.append({"n_components": n_components, "model": name,
                         "test_mse": float(np.mean((reconstruction - X_test) ** 2)),
                         "fit_time_s": fit_time, "epochs": getattr(model, "n_iter_", None)})
            if n_components == min(settings["code_sizes"]):
                reconstructions[name] = reconstruction
        pca_mse = rows[-len(models)]["test_mse"]
        for row in rows[-len(models):]:
            row["mse_over_pca"] = row["test_mse"] / pca_mse
    # One test image per class for the picture.
    examples = [int(np.flatnonzero(y_test == label)[0]) for label in np.unique(y_test)]
    return rows, X_test[examples], {name: r[examples] for name, r in reconstructions.items()}


def mnist_split(normal_digit, settings, data_dir, seed):
    """The article's draw: training and test rows, and which test rows are normal.

    From all 70,000 images, ``sum(settings['mnist_normal'])`` of the normal
    digit and ``sum(settings['mnist_other'])`` others are drawn; the first
    of each pair of counts go to training, the rest to the test set.
    """
    X_train, y_train = load_idx_images("mnist", data_dir, "train")
    X_test, y_test = load_idx_images("mnist", data_dir, "test")
    X, y = np.concatenate([X_train, X_test]), np.concatenate([y_train, y_test])
    rng = np.random.RandomState(seed)
    n_normal, n_other = settings["mnist_normal"], settings["mnist_other"]
    normal = rng.choice(np.flatnonzero(y == normal_digit), sum(n_normal), replace=False)
    other = rng.choice(np.flatnonzero(y != normal_digit), sum(n_other), replace=False)
    train = np.concatenate([normal[:n_normal[0]], other[:n_other[0]]])
    test = np.concatenate([normal[n_normal[0]:], other[n_other[0]:]])
    return X[train], X[test], (y[test] == normal_digit).astype(int)


def _detectors(settings, seed, device):
    models = {name: AutoencoderOutlierDetector(**params, device=device, random_state=seed,
                                               **_default_budget(settings))
              for name, params in DETECTORS.items()}
    models["IsolationForest"] = IsolationForest(random_state=seed)
    return models


def mnist_anomalies(settings, data_dir, device):
    """ROC-AUC and F1 of each detector, for each normal digit and seed."""
    rows = []
    for digit in settings["mnist_digits"]:
        for seed in settings["mnist_seeds"]:
            X_train, X_test, is_normal = mnist_split(digit, settings, data_dir, seed)
            for name, model in _detectors(settings, seed, device).items():
                scores, seconds, warned = timed_fit_score(model, X_train, X_test)
                rows.append({"normal_digit": digit, "model": name, "seed": seed,
                             "roc_auc": roc_auc_score(is_normal, scores),
                             "f1": f1_score(is_normal, model.predict(X_test) == 1),
                             "fit_score_s": seconds, "convergence_warnings": warned,
                             "n_train": len(X_train), "n_test": len(X_test)})
    return rows


def summarize_mnist(rows):
    """Mean and standard deviation over seeds of each digit and detector."""
    groups = {}
    for row in rows:
        groups.setdefault((row["normal_digit"], row["model"]), []).append(row)
    summary = []
    for (digit, model), group in groups.items():
        entry = {"normal_digit": digit, "model": model, "seeds": len(group),
                 "article_f1": ARTICLE_F1.get((digit, model))}
        entry["convergence_warnings"] = sum(row["convergence_warnings"] for row in group)
        for metric in ("roc_auc", "f1", "fit_score_s"):
            values = [row[metric] for row in group]
            entry[metric] = float(np.mean(values))
            entry[f"{metric}_std"] = float(np.std(values))
        summary.append(entry)
    return summary


def ecg_anomalies(settings, data_dir, device):
    """Accuracy, precision, recall, ROC-AUC on ECG5000, trained on normal beats.

    The threshold is the mean + one standard deviation of the training
    reconstruction errors (the article's rule, and the detector's ``'auto'``).
    """
    X, y_normal = load_ecg5000(data_dir)
    X_train, X_test, y_train, y_test = train_test_split(X, y_normal, test_size=0.2,
                                                        random_state=42)
    X_train = X_train[y_train == 1]
    rows = []
    for name, params in ECG_MODELS.items():
        model = AutoencoderTransformer(**ECG_COMMON, **params, device=device, random_state=0,
                                       max_steps=steps_for_epochs(
                                           settings["ecg_epochs"], len(X_train),
                                           ECG_COMMON["batch_size"]))
        fit_time = timed_fit(model, X_train)
        train_errors = -model.score_samples(X_train)
        scores = model.score_samples(X_test)
        called_normal = -scores < train_errors.mean() + train_errors.std()
        rows.append({"model": name, "accuracy": accuracy_score(y_test, called_normal),
                     "precision": precision_score(y_test, called_normal),
                     "recall": recall_score(y_test, called_normal),
                     "roc_auc": roc_auc_score(y_test, scores),
                     "fit_time_s": fit_time, "epochs": model.n_iter_,
                     "n_train": len(X_train), "n_test": len(X_test)})
    return rows


def plot_reconstructions(originals, reconstructions, n_components, path):
    """Rows: test images, then each model's reconstruction."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = {"original": originals, **reconstructions}
    n_rows, n_cols = len(panels), len(originals)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(1.1 * n_cols, 1.2 * n_rows))
    for row, (label, images) in zip(axes, panels.items()):
        for ax, image in zip(row, images):
            ax.imshow(image.reshape(IMAGE[1:]), cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        row[0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
    fig.suptitle(f"Fashion-MNIST test images and reconstructions, code size {n_components}",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _table(rows, columns):
    def cell(value):
        if isinstance(value, float):
            return f"{value:.4f}" if abs(value) < 10 else f"{value:.1f}"
        return "" if value is None else str(value)

    lines = ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
    lines += ["| " + " | ".join(cell(row[c]) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def render(results, picture):
    """Markdown report of ``run``'s results; ``picture`` is the PNG's file name."""
    setting = results["settings"]
    return "\n\n".join([
        "# Convolutional and LSTM autoencoders: images and sequences",
        (f"Command: `{results['command']}`. Device: {results['device']}. Settings: "
         f"`{json.dumps(setting)}`. Fit times are wall-clock seconds: compare within a run."),
        "## Fashion-MNIST reconstruction (test MSE, pixels in [0, 1])",
        (f"Training on {setting['fashion_train']} training images, testing on "
         f"{setting['fashion_test']} test images; `mse_over_pca` is the test MSE divided by "
         "PCA's at the same code size."),
        _table(results["fashion"], ["n_components", "model", "test_mse", "mse_over_pca",
                                    "fit_time_s", "epochs"]),
        f"![reconstructions]({picture})",
        "## MNIST anomaly detection (normal digit = positive class)",
        (f"The article's protocol: {setting['mnist_normal'][0]} normal + "
         f"{setting['mnist_other'][0]} other training images, {setting['mnist_normal'][1]} + "
         f"{setting['mnist_other'][1]} test images, drawn from all 70,000; mean and standard "
         f"deviation over draws {setting['mnist_seeds']}. F1 of `predict` at the detectors' "
         "default threshold; the article's F1 came from hand-picked fixed thresholds. "
         "`convergence_warnings` counts fits whose loss had not settled."),
        _table(summarize_mnist(results["mnist"]),
               ["normal_digit", "model", "roc_auc", "roc_auc_std", "f1", "f1_std",
                "article_f1", "fit_score_s", "convergence_warnings"]),
        "## ECG5000 (normal beat = positive class; threshold mean + 1 std of training error)",
        _table(results["ecg"], ["model", "accuracy", "precision", "recall", "roc_auc",
                                "fit_time_s", "epochs", "n_train", "n_test"]),
    ]) + "\n"


def run(data_dir=None, quick=False, device="auto", out_dir=LATEST, name=None, command=None):
    """Run the three experiments and write markdown, JSON and the PNG grid.

    Parameters
    ----------
    data_dir : str or Path, default=None
        Data directory (see :mod:`benchmarks.datasets`).
    quick : bool, default=False
        Tiny subsamples and budgets, to check that everything runs.
    device : str, default='auto'
        ``device`` of every skae estimator.
    out_dir : Path, default=benchmarks/results/latest
        Where the reports go.
    name : str, default=None
        File stem; ``images_and_sequences`` (``_quick`` with ``quick``).
    command : str, default=None
        The command line recorded in the report.

    Returns
    -------
    results : dict
        ``{'fashion': rows, 'mnist': rows, 'ecg': rows, ...}``.
    """
    settings = SETTINGS["quick" if quick else "full"]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = name or (f"{NAME}_quick" if quick else NAME)
    picture = f"{stem}_fashion.png"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fashion, originals, reconstructions = fashion_reconstruction(settings, data_dir, device)
        plot_reconstructions(originals, reconstructions, min(settings["code_sizes"]),
                             out_dir / picture)
        results = {"command": command or f"python -m benchmarks.{NAME}",
                   "device": _device_name(device), "settings": settings, "fashion": fashion,
                   "mnist": mnist_anomalies(settings, data_dir, device),
                   "ecg": ecg_anomalies(settings, data_dir, device)}
    (out_dir / f"{stem}.json").write_text(json.dumps(results, indent=2) + "\n")
    (out_dir / f"{stem}.md").write_text(render(results, picture))
    return results


def _device_name(device):
    """The machine the run used, in words, for the report."""
    if device == "cuda" or (device == "auto" and torch.cuda.is_available()):
        return torch.cuda.get_device_name()
    return f"CPU, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=None, help="data directory (default: "
                        "$SKAE_DATA_DIR, else ../shared/data)")
    parser.add_argument("--quick", action="store_true", help="tiny smoke-test run")
    parser.add_argument("--device", default="auto", help="device of the skae estimators")
    parser.add_argument("--name", default=None, help="file stem (default: "
                        f"{NAME}, {NAME}_quick with --quick)")
    add_threads_argument(parser)
    add_out_argument(parser, what=f"{NAME}.{{md,json}} and its PNG")
    args = parser.parse_args(argv)
    apply_threads(args)
    command = shlex.join(["python", "-m", f"benchmarks.{NAME}", *argv])
    results = run(args.data_dir, args.quick, args.device, args.out, args.name, command)
    print(render(results, f"{args.name or NAME}_fashion.png"))


if __name__ == "__main__":
    main()
