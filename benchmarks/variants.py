"""The autoencoder variants of the source documents, measured.

- **Linear autoencoder vs PCA** (digits; Fashion-MNIST, fitted on a subsample
  of the training set and measured on the test set): the ratio of the
  autoencoder's reconstruction error to PCA's with the same ``n_components``
  and the largest principal angle between the decoder's column space and
  PCA's components. The recipe that recovers PCA (``scaling='center'``,
  ``optimizer='lbfgs'``) is shown beside plain Adam, centred and not.
  Fashion-MNIST uses 10 components, where the relative eigengap is like that
  of digits at 8; at 32 the gap is so small that the last directions of the
  subspace are barely determined by the data.
- **Denoising** on Fashion-MNIST: test images with Gaussian noise of factor
  0.2, clipped to [0, 1] as in the source documents; mean squared error
  against the clean image of the noisy image itself, of a plain autoencoder's
  reconstruction, and of denoising autoencoders' (Gaussian noise, masking).
- **Sparsity** on Fashion-MNIST: mean activation of sigmoid coding units
  with and without the KL penalty (target 0.1, weight 0.05).
- **Unsupervised pre-training for classification** on Fashion-MNIST: an
  autoencoder fitted on every row of the training pool, then a logistic
  regression trained on 1 % of the pool's labels, on its codes, on PCA codes
  of the same width and on the raw pixels; accuracy on the test set, mean and
  standard deviation over label draws.

Run: ``python -m benchmarks.variants [--data-dir DIR] [--quick]``. Results go
to ``benchmarks/results/latest/variants.{md,json}`` (``variants_quick`` with
``--quick``); ``--out benchmarks/results`` refreshes the committed files.
"""

import argparse
import json
import time
import warnings

import numpy as np
from scipy.linalg import subspace_angles
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skae import AutoencoderTransformer, DenseNetwork

from ._budget import steps_for_epochs
from ._output import add_out_argument
from .datasets import load_idx_images

# The linear autoencoder with three trainings: the PCA recipe and plain Adam.
LINEAR_TRAININGS = {
    "lbfgs, centred": {"optimizer": "lbfgs", "scaling": "center", "max_epochs": 100},
    "adam, centred": {"optimizer": "adam", "scaling": "center", "learning_rate": 1e-2},
    "adam, raw": {"optimizer": "adam", "scaling": None, "learning_rate": 1e-2},
}


def _mse(a, b):
    return float(np.mean((np.asarray(a, dtype=np.float64) - b) ** 2))


def _reconstruct(model, X):
    return model.inverse_transform(model.transform(X))


def linear_vs_pca(X_train, X_test, n_components, training, max_epochs, seed=0):
    """Error ratio and largest principal angle of a linear autoencoder vs PCA."""
    pca = PCA(n_components=n_components).fit(X_train)
    params = {"max_epochs": max_epochs, **training}
    epochs = params.pop("max_epochs")
    # L-BFGS takes one full-batch step per epoch.
    batch_size = len(X_train) if params["optimizer"] == "lbfgs" else 128
    start = time.perf_counter()
    ae = AutoencoderTransformer(
        n_components=n_components, network=DenseNetwork(hidden_layer_sizes=(),
                                                        activation="identity"),
        output_activation="identity", tol=0.0, n_iter_no_change=epochs,
        max_steps=steps_for_epochs(epochs, len(X_train), batch_size),
        device="cpu", random_state=seed, **params,
    ).fit(X_train)
    seconds = time.perf_counter() - start
    decoder_weight = ae.net_.module_.decoder[0].weight.detach().numpy()
    angle = np.degrees(subspace_angles(decoder_weight, pca.components_.T).max())
    return {
        "error_ratio": _mse(_reconstruct(ae, X_test), X_test)
        / _mse(_reconstruct(pca, X_test), X_test),
        "max_angle_degrees": float(angle),
        "epochs": ae.n_iter_,
        "fit_seconds": seconds,
    }


def _dense_ae(max_epochs, seed, n_rows, **params):
    defaults = {"n_components": 64, "network": DenseNetwork(hidden_layer_sizes=(256,)),
                "scaling": None, "output_activation": "sigmoid", "batch_size": 128,
                "tol": 0.0, "n_iter_no_change": max_epochs, "device": "cpu",
                "random_state": seed}
    params = {**defaults, **params}
    return AutoencoderTransformer(
        **params, max_steps=steps_for_epochs(max_epochs, n_rows, params["batch_size"]))


def denoising(X_train, X_test, max_epochs, seed=0, noise_factor=0.2):
    """Errors against the clean test images, of the noisy images and of reconstructions."""
    rng = np.random.RandomState(seed)
    noisy = np.clip(X_test + noise_factor * rng.standard_normal(X_test.shape), 0.0, 1.0)
    models = {
        "plain": _dense_ae(max_epochs, seed, len(X_train)),
        "gaussian noise_std=0.2": _dense_ae(max_epochs, seed, len(X_train),
                                            noise_std=noise_factor),
        "masking mask_probability=0.2": _dense_ae(max_epochs, seed, len(X_train),
                                                  mask_probability=0.2),
    }
    result = {"noise_factor": noise_factor, "noisy_vs_clean_mse": _mse(noisy, X_test)}
    for name, model in models.items():
        model.fit(X_train)
        result[name] = {
            "denoised_vs_clean_mse": _mse(_reconstruct(model, noisy), X_test),
            "clean_reconstruction_mse": _mse(_reconstruct(model, X_test), X_test),
        }
    return result


def sparsity(X_train, X_test, max_epochs, seed=0, target=0.1, weight=0.05):
    """Mean coding-unit activation with and without the KL sparsity penalty."""
    result = {"sparsity_target": target, "sparsity_weight": weight}
    for name, w in {"without penalty": 0.0, "with KL penalty": weight}.items():
        model = _dense_ae(max_epochs, seed, len(X_train), code_activation="sigmoid",
                          sparsity_target=target, sparsity_weight=w).fit(X_train)
        codes = model.transform(X_test)
        result[name] = {
            "mean_activation": float(codes.mean()),
            "unit_mean_activation_range": [float(codes.mean(0).min()),
                                           float(codes.mean(0).max())],
            "reconstruction_mse": _mse(_reconstruct(model, X_test), X_test),
        }
    return result


def pretraining_for_classification(X_pool, y_pool, X_test, y_test, n_components,
                                   max_epochs, label_fraction=0.01, n_draws=5, seed=0):
    """Accuracy of a classifier trained on a few labels, on raw pixels, PCA and AE codes."""
    ae = _dense_ae(max_epochs, seed, len(X_pool), n_components=n_components, batch_size=256)
    features = {
        "raw pixels": (lambda X: X),
        f"PCA codes ({n_components})": PCA(n_components=n_components,
                                            random_state=seed).fit(X_pool).transform,
        f"autoencoder codes ({n_components})": ae.fit(X_pool).transform,
    }
    n_labels = round(label_fraction * len(X_pool))
    result = {"pool_rows": len(X_pool), "labelled_rows": n_labels, "draws": n_draws}
    for name, transform in features.items():
        Z_pool, Z_test = transform(X_pool), transform(X_test)
        scores = []
        for draw in range(n_draws):
            labelled, _ = train_test_split(np.arange(len(X_pool)), train_size=n_labels,
                                           stratify=y_pool, random_state=seed + draw)
            clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
            scores.append(clf.fit(Z_pool[labelled], y_pool[labelled]).score(Z_test, y_test))
        result[name] = {"accuracy_mean": float(np.mean(scores)),
                        "accuracy_std": float(np.std(scores))}
    return result


def run(data_dir=None, quick=False, seed=0):
    """Run every measurement; returns a JSON-ready dict.

    Parameters
    ----------
    data_dir : str or Path, default=None
        Directory with ``fashion-mnist/`` (see ``benchmarks/datasets.py``).
    quick : bool, default=False
        Small subsamples and few epochs, for a smoke run.
    seed : int, default=0
    """
    n_train = 2000 if quick else 10000
    n_test = 2000 if quick else 10000
    n_pool = 5000 if quick else 30000
    epochs = 3 if quick else 10
    X_train, y_train = load_idx_images("fashion-mnist", data_dir, "train")
    X_test, y_test = load_idx_images("fashion-mnist", data_dir, "test")
    X_test, y_test = X_test[:n_test], y_test[:n_test]
    X_sub = X_train[np.random.RandomState(seed).permutation(len(X_train))[:n_train]]
    digits = load_digits().data

    results = {"quick": quick, "seed": seed, "fashion_train_rows": n_train,
               "fashion_test_rows": n_test, "linear_vs_pca": {}}
    linear_epochs = 30 if quick else 200
    for name, training in LINEAR_TRAININGS.items():
        results["linear_vs_pca"][f"digits, n_components=8, {name}"] = linear_vs_pca(
            digits, digits, 8, training, linear_epochs, seed)
        results["linear_vs_pca"][f"fashion-mnist, n_components=10, {name}"] = linear_vs_pca(
            X_sub, X_test, 10, training, 20 if quick else 40, seed)
    results["denoising"] = denoising(X_sub, X_test, epochs, seed)
    results["sparsity"] = sparsity(X_sub, X_test, epochs, seed)
    pool = np.random.RandomState(seed + 1).permutation(len(X_train))[:n_pool]
    results["pretraining_for_classification"] = pretraining_for_classification(
        X_train[pool], y_train[pool], X_test, y_test, 32, 2 if quick else 5, seed=seed)
    return results


def to_markdown(results, command):
    """The results as markdown tables."""
    lines = ["# Autoencoder variants", "", f"Command: `{command}`", "",
             (f"Fashion-MNIST: {results['fashion_train_rows']} training rows "
             f"(random subsample), {results['fashion_test_rows']} test rows."), "",
             "## Linear autoencoder vs PCA", "",
             ("Digits: fitted and measured on all 1797 rows. Fashion-MNIST: fitted on the "
             "training subsample, error measured on the test rows. 'max epochs' caps "
             "L-BFGS at 20 iterations per epoch; the fit stops earlier when the loss stops "
             "improving."), "",
             "| data, training | error ratio AE/PCA | largest angle (deg) | epochs | fit s |",
             "| --- | ---: | ---: | ---: | ---: |"]
    for name, r in results["linear_vs_pca"].items():
        lines.append(f"| {name} | {r['error_ratio']:.4f} | {r['max_angle_degrees']:.2f} "
                     f"| {r['epochs']} | {r['fit_seconds']:.1f} |")
    d = results["denoising"]
    lines += ["", "## Denoising (Fashion-MNIST, noise factor 0.2, clipped to [0, 1])", "",
              (f"MSE of the noisy test images against the clean ones: "
              f"{d['noisy_vs_clean_mse']:.5f}"), "",
              "| model | MSE(reconstruction of noisy, clean) | MSE(reconstruction of clean, clean) |",
              "| --- | ---: | ---: |"]
    for name, r in d.items():
        if isinstance(r, dict):
            lines.append(f"| {name} | {r['denoised_vs_clean_mse']:.5f} "
                         f"| {r['clean_reconstruction_mse']:.5f} |")
    s = results["sparsity"]
    lines += ["", (f"## Sparsity (sigmoid codes, target {s['sparsity_target']}, "
              f"weight {s['sparsity_weight']})"), "",
              "| model | mean activation | per-unit mean range | reconstruction MSE |",
              "| --- | ---: | --- | ---: |"]
    for name, r in s.items():
        if isinstance(r, dict):
            low, high = r["unit_mean_activation_range"]
            lines.append(f"| {name} | {r['mean_activation']:.4f} | {low:.3f} - {high:.3f} "
                         f"| {r['reconstruction_mse']:.5f} |")
    p = results["pretraining_for_classification"]
    lines += ["", "## Unsupervised pre-training for classification", "",
              (f"Autoencoder and PCA fitted on {p['pool_rows']} unlabelled Fashion-MNIST "
              f"training rows; logistic regression trained on {p['labelled_rows']} labelled "
              f"rows (1 %), {p['draws']} label draws; accuracy on the test rows."), "",
              "| features | accuracy (mean +- std) |", "| --- | ---: |"]
    for name, r in p.items():
        if isinstance(r, dict):
            lines.append(f"| {name} | {r['accuracy_mean']:.4f} +- {r['accuracy_std']:.4f} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    add_out_argument(parser, what="variants.{md,json}")
    args = parser.parse_args(argv)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        results = run(args.data_dir, args.quick, args.seed)
    command = "python -m benchmarks.variants" + (" --quick" if args.quick else "")
    markdown = to_markdown(results, command)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = "variants_quick" if args.quick else "variants"
    (args.out / f"{stem}.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / f"{stem}.md").write_text(markdown)
    print(markdown)


if __name__ == "__main__":
    main()
