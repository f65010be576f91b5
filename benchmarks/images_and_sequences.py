"""Convolutional and LSTM autoencoders on images and time series.

Three experiments, each comparing the network choices of skae at equal code
size:

1. **Fashion-MNIST reconstruction**: test mean squared error (pixels in
   [0, 1]) and fit time of the convolutional AE, the dense AE and PCA, plus a
   PNG grid of test images and their reconstructions.
2. **MNIST anomaly detection** as in the source article: one digit is normal
   (5, then 1); the autoencoders train on normal images mixed with a tenth
   as many other digits (the article's semi-supervised set-up, 5000 + 500
   there; 2000 + 200 here, from the training split) and are tested on 1000
   normal test images plus 1000 other test digits (892 + 892 for digit 5,
   the test split has no more fives). ROC-AUC and F1 (normal = positive
   class, as in the article) for the dense and the convolutional detector.
3. **ECG5000**: train on the normal beats of an 80 % split
   (``train_test_split(test_size=0.2, random_state=42)`` as in the article),
   threshold at mean + one standard deviation of the training error, and
   report accuracy, precision, recall (normal = positive) and ROC-AUC on the
   20 % test split for the dense and the LSTM detector.

Detectors score with ``AutoencoderTransformer.score_samples`` (higher is more
normal, exactly the score of ``AutoencoderOutlierDetector``) and threshold the
training errors at their mean + one standard deviation (that detector's
``'auto'`` rule); :func:`detect` is the one place to swap the detector in.

Training sets are subsampled so that the whole run stays modest on a shared
2-core CPU (see ``SETTINGS``; ``--quick`` shrinks everything further for a
smoke test). Results go to ``benchmarks/results/latest/images_and_sequences.{md,json}``
and ``images_and_sequences_fashion.png``; ``--out benchmarks/results`` refreshes the
committed files.

Run: ``python -m benchmarks.images_and_sequences [--data-dir DIR] [--quick]``
"""

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score
from sklearn.model_selection import train_test_split

from skae import AutoencoderTransformer, ConvNetwork, DenseNetwork, LSTMNetwork

from ._budget import steps_for_epochs
from ._output import LATEST, add_out_argument
from .datasets import load_ecg5000, load_idx_images

NAME = "images_and_sequences"
IMAGE = (1, 28, 28)
N_CODES = 32  # code size of every image model

# Sizes and budgets. Full: about 6 CPU-minutes on the shared 2-core machine
# (training sets subsampled for that; raise them on a quiet machine); quick: a
# smoke test of every code path.
SETTINGS = {
    "full": {"fashion_train": 3000, "fashion_test": 2000, "image_epochs": 12,
             "mnist_normal": 2000, "mnist_other": 200, "mnist_test": 1000, "ecg_epochs": 40},
    "quick": {"fashion_train": 500, "fashion_test": 200, "image_epochs": 2,
              "mnist_normal": 500, "mnist_other": 50, "mnist_test": 100, "ecg_epochs": 3},
}

COMMON = {"device": "cpu", "random_state": 0, "n_iter_no_change": 5, "tol": 1e-5}
# Images: pixels in [0, 1] as they are, sigmoid output, squared error.
IMAGE_MODELS = {
    "conv AE": {"network": ConvNetwork(input_shape=IMAGE, channels=(8, 16), kernel_size=3,
                                       hidden_layer_sizes=(), activation="relu")},
    "dense AE": {"network": DenseNetwork(hidden_layer_sizes=(256,), activation="relu")},
}
IMAGE_COMMON = {"scaling": None, "output_activation": "sigmoid", "loss": "mse",
                "batch_size": 64, "learning_rate": 3e-3}
# ECG: the article's 32-16-8 dense detector (MAE loss, sigmoid output on
# min-max scaled beats) and an LSTM reading each beat as 35 steps of 4
# consecutive samples (140 single-sample steps cost four times as much).
ECG_MODELS = {
    "dense AE": {"network": DenseNetwork(hidden_layer_sizes=(32, 16), activation="relu")},
    "LSTM AE": {"network": LSTMNetwork(input_shape=(35, 4), hidden_sizes=(32,),
                                       reverse_decoding=True)},
}
ECG_COMMON = {"n_components": 8, "scaling": "minmax", "loss": "mae",
              "output_activation": "sigmoid", "batch_size": 64, "learning_rate": 3e-3}


def detect(model, X_train, X_test):
    """Fit a reconstruction-error detector on ``X_train``; score ``X_test``.

    Returns the test scores (higher is more normal: ``score_samples`` of the
    autoencoder, which is the score of ``AutoencoderOutlierDetector``) and
    the test rows called normal: error below the mean + one standard
    deviation of the training errors (the detector's ``'auto'`` threshold).
    """
    model.fit(X_train)
    train_errors = -model.score_samples(X_train)
    threshold = train_errors.mean() + train_errors.std()
    scores = model.score_samples(X_test)
    return scores, -scores < threshold


def _timed_fit(model, X):
    start = time.perf_counter()
    model.fit(X)
    return time.perf_counter() - start


def fashion_reconstruction(settings, data_dir, seed=0):
    """Test MSE and fit time of conv AE, dense AE and PCA at equal code size."""
    X_train, _ = load_idx_images("fashion-mnist", data_dir, "train")
    X_test, y_test = load_idx_images("fashion-mnist", data_dir, "test")
    rng = np.random.RandomState(seed)
    X_train = X_train[rng.choice(len(X_train), settings["fashion_train"], replace=False)]
    test_rows = rng.choice(len(X_test), settings["fashion_test"], replace=False)
    X_test, y_test = X_test[test_rows], y_test[test_rows]
    rows, reconstructions = [], {}
    for n_components in (N_CODES,):
        models = {name: AutoencoderTransformer(**COMMON, **IMAGE_COMMON, **params,
                                               n_components=n_components,
                                               max_steps=steps_for_epochs(
                                                   settings["image_epochs"], len(X_train),
                                                   IMAGE_COMMON["batch_size"]))
                  for name, params in IMAGE_MODELS.items()}
        models["PCA"] = PCA(n_components=n_components, random_state=seed)
        for name, model in models.items():
            fit_time = _timed_fit(model, X_train)
            reconstruction = model.inverse_transform(model.transform(X_test))
            rows.append({"n_components": n_components, "model": name,
                         "test_mse": float(np.mean((reconstruction - X_test) ** 2)),
                         "fit_time_s": fit_time,
                         "epochs": getattr(model, "n_iter_", None)})
            if n_components == N_CODES:
                reconstructions[name] = reconstruction
    # One test image per class for the picture.
    examples = [int(np.flatnonzero(y_test == label)[0]) for label in np.unique(y_test)]
    return rows, X_test[examples], {name: r[examples] for name, r in reconstructions.items()}


def _mnist_split(normal_digit, settings, data_dir, seed=0):
    X_train, y_train = load_idx_images("mnist", data_dir, "train")
    X_test, y_test = load_idx_images("mnist", data_dir, "test")
    rng = np.random.RandomState(seed)
    normal = rng.choice(np.flatnonzero(y_train == normal_digit), settings["mnist_normal"],
                        replace=False)
    other = rng.choice(np.flatnonzero(y_train != normal_digit), settings["mnist_other"],
                       replace=False)
    test_normal = np.flatnonzero(y_test == normal_digit)
    n_test = min(len(test_normal), settings["mnist_test"])
    test_normal = rng.choice(test_normal, n_test, replace=False)
    test_other = rng.choice(np.flatnonzero(y_test != normal_digit), n_test, replace=False)
    test = np.concatenate([test_normal, test_other])
    return (X_train[np.concatenate([normal, other])], X_test[test],
            (y_test[test] == normal_digit).astype(int))


def mnist_anomalies(settings, data_dir):
    """ROC-AUC and F1 of dense and conv detectors, digit 5 and digit 1 normal."""
    rows = []
    for digit in (5, 1):
        X_train, X_test, is_normal = _mnist_split(digit, settings, data_dir)
        for name, params in IMAGE_MODELS.items():
            model = AutoencoderTransformer(**COMMON, **IMAGE_COMMON, **params, n_components=N_CODES,
                                           max_steps=steps_for_epochs(
                                               settings["image_epochs"], len(X_train),
                                               IMAGE_COMMON["batch_size"]))
            start = time.perf_counter()
            scores, called_normal = detect(model, X_train, X_test)
            rows.append({"normal_digit": digit, "model": name,
                         "roc_auc": roc_auc_score(is_normal, scores),
                         "f1": f1_score(is_normal, called_normal),
                         "fit_time_s": time.perf_counter() - start,
                         "n_train": len(X_train), "n_test": len(X_test)})
    return rows


def ecg_anomalies(settings, data_dir):
    """Accuracy, precision, recall, ROC-AUC on ECG5000, trained on normal beats."""
    X, y_normal = load_ecg5000(data_dir)
    X_train, X_test, y_train, y_test = train_test_split(X, y_normal, test_size=0.2,
                                                        random_state=42)
    X_train = X_train[y_train == 1]
    rows = []
    for name, params in ECG_MODELS.items():
        model = AutoencoderTransformer(**COMMON, **ECG_COMMON, **params,
                                       max_steps=steps_for_epochs(
                                           settings["ecg_epochs"], len(X_train),
                                           ECG_COMMON["batch_size"]))
        start = time.perf_counter()
        scores, called_normal = detect(model, X_train, X_test)
        rows.append({"model": name, "accuracy": accuracy_score(y_test, called_normal),
                     "precision": precision_score(y_test, called_normal),
                     "recall": recall_score(y_test, called_normal),
                     "roc_auc": roc_auc_score(y_test, scores),
                     "fit_time_s": time.perf_counter() - start, "epochs": model.n_iter_,
                     "n_train": len(X_train), "n_test": len(X_test)})
    return rows


def plot_reconstructions(originals, reconstructions, path):
    """Rows: test images, then each model's reconstruction (code size 32)."""
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
    fig.suptitle("Fashion-MNIST test images and reconstructions, code size 32", fontsize=10)
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


def render(results):
    """Markdown report of ``run``'s results."""
    setting = results["settings"]
    return "\n\n".join([
        "# Convolutional and LSTM autoencoders: images and sequences",
        (f"Command: `{results['command']}`. Settings: `{json.dumps(setting)}`. Fit times "
        "are wall-clock seconds on a shared, busy 2-core CPU: noisy, compare within a run."),
        "## Fashion-MNIST reconstruction (test MSE, pixels in [0, 1])",
        (f"Training on {setting['fashion_train']} random training images, testing on "
        f"{setting['fashion_test']} random test images."),
        _table(results["fashion"], ["n_components", "model", "test_mse", "fit_time_s",
                                    "epochs"]),
        f"![reconstructions]({NAME}_fashion.png)",
        "## MNIST anomaly detection (normal digit = positive class)",
        _table(results["mnist"], ["normal_digit", "model", "roc_auc", "f1", "fit_time_s",
                                  "n_train", "n_test"]),
        ("Source article (fixed thresholds): digit 5 dense F1 0.76, conv F1 0.69; "
        "digit 1 dense F1 0.96."),
        "## ECG5000 (normal beat = positive class; threshold mean + 1 std of training error)",
        _table(results["ecg"], ["model", "accuracy", "precision", "recall", "roc_auc",
                                "fit_time_s", "epochs", "n_train", "n_test"]),
    ]) + "\n"


def run(data_dir=None, quick=False, out_dir=LATEST):
    """Run the three experiments and write markdown, JSON and the PNG grid.

    Parameters
    ----------
    data_dir : str or Path, default=None
        Data directory (see :mod:`benchmarks.datasets`).
    quick : bool, default=False
        Tiny subsamples and budgets, to check that everything runs.
    out_dir : Path, default=benchmarks/results/latest
        Where the reports go.

    Returns
    -------
    results : dict
        ``{'fashion': rows, 'mnist': rows, 'ecg': rows, ...}``.
    """
    settings = SETTINGS["quick" if quick else "full"]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    suffix = "_quick" if quick else ""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fashion, originals, reconstructions = fashion_reconstruction(settings, data_dir)
        plot_reconstructions(originals, reconstructions, out_dir / f"{NAME}_fashion{suffix}.png")
        results = {
            "command": "python -m benchmarks.images_and_sequences" + (" --quick" if quick
                                                                       else ""),
            "settings": settings, "fashion": fashion,
            "mnist": mnist_anomalies(settings, data_dir),
            "ecg": ecg_anomalies(settings, data_dir),
        }
    (out_dir / f"{NAME}{suffix}.json").write_text(json.dumps(results, indent=2) + "\n")
    report = render(results)
    if quick:
        report = report.replace(f"{NAME}_fashion.png", f"{NAME}_fashion_quick.png")
    (out_dir / f"{NAME}{suffix}.md").write_text(report)
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=None, help="data directory (default: "
                        "$SKAE_DATA_DIR, else ../shared/data)")
    parser.add_argument("--quick", action="store_true", help="tiny smoke-test run")
    add_out_argument(parser, what="images_and_sequences.{md,json} and its PNG")
    args = parser.parse_args(argv)
    print(render(run(args.data_dir, args.quick, args.out)))


if __name__ == "__main__":
    main()
