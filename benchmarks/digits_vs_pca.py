"""AutoencoderTransformer against PCA on scikit-learn's digits.

Digits (1797 images of 8 x 8 pixels, 0-16) are split 75 / 25 with a fixed
seed. For each code size both models are fitted on the training images; the
figure is the mean squared error of the test images rebuilt through
``inverse_transform(transform(X))``, in pixel units, and the wall-clock fit
time.

The autoencoder trains on raw pixels (``scaling=None``): pixels share one unit,
so PCA's objective is the raw squared error, and the autoencoder is asked to
minimise the same thing. Standardising would weight the near-constant border
pixels like the informative centre ones.

Run: ``python -m benchmarks.digits_vs_pca [--threads 1]`` (writes
``benchmarks/results/latest/digits_vs_pca.{md,json}``; ``--out benchmarks/results``
refreshes the committed files).
"""

import argparse
import json
import platform
import sys

import numpy as np
import sklearn
import torch
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split

import skae
from skae import AutoencoderTransformer, DenseNetwork

from ._budget import steps_for_epochs
from ._output import add_out_argument
from ._timing import add_threads_argument, apply_threads, timed_fit

CODE_SIZES = (2, 8, 16, 32)
AE_SETTINGS = {"hidden_layer_sizes": (256,), "activation": "elu", "scaling": None,
               "learning_rate": 1e-3, "weight_decay": 1e-4, "batch_size": 32, "tol": 0.0,
               "device": "cpu"}


# The entries of AE_SETTINGS that configure the DenseNetwork.
_NETWORK_SETTINGS = ("hidden_layer_sizes", "activation")


def _test_mse(model, X_test):
    rebuilt = model.inverse_transform(model.transform(X_test))
    return float(np.mean((rebuilt - X_test) ** 2))


def run(code_sizes=CODE_SIZES, *, epochs=100, seed=0, max_train=None, log=None):
    """Fit PCA and the autoencoder at every code size; return one row per size.

    Parameters
    ----------
    code_sizes : sequence of int, default=(2, 8, 16, 32)
        Widths of the code (``n_components``).
    epochs : int, default=100
        ``max_epochs`` of the autoencoder (it may stop earlier when the
        training loss stops improving for 10 epochs).
    seed : int, default=0
        ``random_state`` of the autoencoder. The split is always seed 0.
    max_train : int, default=None
        Keep only the first ``max_train`` training images (for quick runs).
    log : callable, default=None
        Called with a progress line after each code size (e.g. ``print``).

    Returns
    -------
    rows : list of dict
        ``n_components``, ``pca_mse``, ``ae_mse``, ``pca_fit_seconds``,
        ``ae_fit_seconds``, ``ae_epochs`` and ``ae_over_pca`` (the ratio of
        test errors; below 1 means the autoencoder reconstructs better).
    """
    X = load_digits().data
    X_train, X_test = train_test_split(X, test_size=0.25, random_state=0)
    X_train = X_train[:max_train]
    rows = []
    network = DenseNetwork(**{k: AE_SETTINGS[k] for k in _NETWORK_SETTINGS})
    for n_components in code_sizes:
        pca = PCA(n_components=n_components)
        pca_seconds = timed_fit(pca, X_train)
        ae = AutoencoderTransformer(
            n_components=n_components, network=network, random_state=seed,
            max_steps=steps_for_epochs(epochs, len(X_train), AE_SETTINGS["batch_size"]),
            **{k: v for k, v in AE_SETTINGS.items() if k not in _NETWORK_SETTINGS})
        ae_seconds = timed_fit(ae, X_train)
        pca_mse, ae_mse = _test_mse(pca, X_test), _test_mse(ae, X_test)
        rows.append({"n_components": int(n_components), "pca_mse": pca_mse,
                     "ae_mse": ae_mse, "ae_over_pca": ae_mse / pca_mse,
                     "pca_fit_seconds": pca_seconds, "ae_fit_seconds": ae_seconds,
                     "ae_epochs": int(ae.n_iter_)})
        if log is not None:
            log(f"code size {n_components}: PCA {pca_mse:.3f}, AE {ae_mse:.3f} "
                f"({ae_seconds:.1f} s)")
    return rows


def markdown_table(rows):
    """The rows as a markdown table."""
    lines = [("| code size | PCA test MSE | AE test MSE | AE / PCA | PCA fit (s) "
             "| AE fit (s) | AE epochs |"),
             "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    lines += [f"| {r['n_components']} | {r['pca_mse']:.3f} | {r['ae_mse']:.3f} "
              f"| {r['ae_over_pca']:.2f} | {r['pca_fit_seconds']:.3f} "
              f"| {r['ae_fit_seconds']:.2f} | {r['ae_epochs']} |" for r in rows]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code-sizes", type=int, nargs="+", default=list(CODE_SIZES))
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-train", type=int, default=None)
    add_threads_argument(parser, help="torch intra-op threads (default: torch's choice)")
    add_out_argument(parser, what="digits_vs_pca.{md,json}")
    args = parser.parse_args(argv)
    apply_threads(args)
    rows = run(args.code_sizes, epochs=args.epochs, seed=args.seed,
               max_train=args.max_train, log=lambda line: print(line, flush=True))
    command = " ".join(["python -m benchmarks.digits_vs_pca",
                        *(sys.argv[1:] if argv is None else argv)])
    table = markdown_table(rows)
    settings = ", ".join(f"{key}={value!r}" for key, value in AE_SETTINGS.items())
    report = (f"# AutoencoderTransformer vs PCA on digits\n\n"
              f"Command: `{command}`\n\n"
              f"Digits, 75/25 split (seed 0), test MSE in pixel units (0-16). "
              f"Autoencoder: {settings}, max_epochs={args.epochs}, "
              f"random_state={args.seed}. Fit times are wall-clock on "
              f"{torch.get_num_threads()} torch thread(s) and noisy.\n\n{table}\n")
    print(report)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "digits_vs_pca.md").write_text(report)
    meta = {"command": command, "epochs": args.epochs, "seed": args.seed,
            "max_train": args.max_train, "ae_settings": AE_SETTINGS,
            "torch_threads": torch.get_num_threads(), "skae": skae.__version__,
            "torch": torch.__version__, "sklearn": sklearn.__version__,
            "python": platform.python_version()}
    (args.out / "digits_vs_pca.json").write_text(
        json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    return rows


if __name__ == "__main__":
    main()
