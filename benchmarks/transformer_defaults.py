"""``AutoencoderTransformer`` at its defaults against StandardScaler + PCA.

Each table is split 70 / 30 (seed 0). Both models are fitted on the training
part: ``AutoencoderTransformer(n_components=k, random_state=0)`` with nothing
else set, and ``make_pipeline(StandardScaler(), PCA(k))``. The figure is the
mean squared error of the test part rebuilt through
``inverse_transform(transform(X))``, in the standardised units of the
training part (so every column counts alike, as in PCA's objective), and the
ratio of the autoencoder's error to PCA's (below 1: the autoencoder is
better). Code sizes are 2, 8 and 32, where the table has more columns.
The fit times of both are beside them, and the number of fits that ended
with a ``ConvergenceWarning``.

Groups (``--groups``):

- ``sklearn``: digits, wine, diabetes, breast cancer (bundled with
  scikit-learn) and ``make_regression(1000, 30)``: needs no data directory;
- ``shared``: the inliers of every ODDS, ADBench and embedding table of the
  data directory (``--max-rows`` rows at most, drawn with seed 0);
- ``images``: Fashion-MNIST and MNIST, all 60,000 training images and the
  10,000 test images as the test part.

Run: ``python -m benchmarks.transformer_defaults`` (the ``sklearn`` group;
writes ``benchmarks/results/latest/transformer_defaults.{md,json}``;
``--out benchmarks/results`` refreshes the committed files).
"""

import argparse
import json
import platform
import sys

import numpy as np
import torch
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_wine,
    make_regression,
)
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skae import AutoencoderTransformer

from ._output import add_out_argument
from ._timing import timed_fit, timed_fit_score
from .datasets import (
    ADBENCH_TABLES,
    EMBEDDING_TABLES,
    ODDS_TABLES,
    load_adbench,
    load_embeddings,
    load_idx_images,
    load_odds,
)

CODE_SIZES = (2, 8, 32)
# Ratios this close above 1 are PCA's own solution, kept by early stopping,
# computed in float32.
_ROUNDING = 1e-6
GROUPS = ("sklearn", "shared", "images")
SKLEARN_TABLES = {
    "digits": lambda: load_digits().data,
    "wine": lambda: load_wine().data,
    "diabetes": lambda: load_diabetes().data,
    "breast_cancer": lambda: load_breast_cancer().data,
    "make_regression": lambda: make_regression(1000, 30, random_state=0)[0],
}


def _split_tables(groups, data_dir, max_rows):
    """Yield ``(group, name, X_train, X_test)`` for every table of ``groups``."""
    if "sklearn" in groups:
        for name, load in SKLEARN_TABLES.items():
            yield ("sklearn", name, *train_test_split(load(), test_size=0.3, random_state=0))
    if "shared" in groups:
        loaders = [(name, load_odds) for name in ODDS_TABLES]
        loaders += [(name, load_adbench) for name in ADBENCH_TABLES]
        loaders += [(name, load_embeddings) for name in EMBEDDING_TABLES]
        for name, load in loaders:
            X, y = load(name, data_dir)
            X = X[y == 0]
            if max_rows and len(X) > max_rows:
                X = X[np.sort(np.random.RandomState(0).choice(len(X), max_rows, replace=False))]
            yield ("shared", name, *train_test_split(X, test_size=0.3, random_state=0))
    if "images" in groups:
        for name in ("fashion-mnist", "mnist"):
            yield ("images", name, load_idx_images(name, data_dir, "train")[0],
                   load_idx_images(name, data_dir, "test")[0])


def _test_error(model, scaler, X_test):
    """Mean squared test error of ``model``'s reconstruction, in standardised units."""
    rebuilt = model.inverse_transform(model.transform(X_test))
    return float(np.mean((scaler.transform(rebuilt) - scaler.transform(X_test)) ** 2))


def compare(X_train, X_test, k):
    """One row: the defaults' and PCA's test errors, their ratio and fit times."""
    scaler = StandardScaler().fit(X_train)
    pca = make_pipeline(StandardScaler(), PCA(n_components=k, random_state=0))
    pca_seconds = timed_fit(pca, X_train)
    ae = AutoencoderTransformer(n_components=k, random_state=0)
    _, ae_seconds, n_warnings = timed_fit_score(ae, X_train, None)
    ae_error, pca_error = _test_error(ae, scaler, X_test), _test_error(pca, scaler, X_test)
    return {"k": k, "ae_error": ae_error, "pca_error": pca_error,
            "ratio": ae_error / pca_error if pca_error > 0 else float("nan"),
            "ae_seconds": ae_seconds, "pca_seconds": pca_seconds, "n_steps": ae.n_steps_,
            "convergence_warnings": n_warnings}


def run(groups=("sklearn",), data_dir=None, max_rows=20000, code_sizes=CODE_SIZES, log=print):
    """Every table of ``groups`` at every code size below its width; a list of rows."""
    rows = []
    for group, name, X_train, X_test in _split_tables(groups, data_dir, max_rows):
        X_train, X_test = (np.asarray(X, dtype=np.float32) for X in (X_train, X_test))
        for k in code_sizes:
            if k >= X_train.shape[1]:
                continue
            row = {"group": group, "table": name, "rows": len(X_train),
                   "features": X_train.shape[1], **compare(X_train, X_test, k)}
            rows.append(row)
            log(f"{group:8s} {name:20s} k={k:<3d} ratio {row['ratio']:.3f} "
                f"({row['ae_seconds']:.1f}s vs {row['pca_seconds']:.2f}s, "
                f"{row['convergence_warnings']} warnings)")
    return rows


def report(rows, command):
    """The markdown report of ``rows``."""
    lines = ["# AutoencoderTransformer at its defaults vs StandardScaler + PCA", "",
             f"Command: `{command}`", "",
             (f"Machine: {platform.machine()}, {torch.get_num_threads()} torch thread(s) "
             "outside the fits (each fit uses its n_jobs=None, one thread); "
             "test error in standardised units; ratio below 1: the autoencoder is better."),
             "", ("| group | table | rows | features | k | AE error | PCA error | ratio "
             "| AE s | PCA s | warnings |"),
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        lines.append(f"| {r['group']} | {r['table']} | {r['rows']} | {r['features']} | "
                     f"{r['k']} | {r['ae_error']:.4g} | {r['pca_error']:.4g} | "
                     f"{r['ratio']:.3f} | {r['ae_seconds']:.2f} | {r['pca_seconds']:.3f} | "
                     f"{r['convergence_warnings']} |")
    ratios = [r["ratio"] for r in rows]
    level = sum(x <= 1 + _ROUNDING for x in ratios)
    lines += ["", (f"- Fits: {len(rows)}; ratio at most 1 (to float32 rounding, "
                   f"{_ROUNDING:g}) in {level}; "
              f"worst ratio {max(ratios):.3f}; median {np.median(ratios):.3f}; "
              f"ConvergenceWarnings {sum(r['convergence_warnings'] for r in rows)}.")]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.transformer_defaults",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--groups", nargs="+", choices=GROUPS, default=["sklearn"])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--max-rows", type=int, default=20000,
                        help="rows drawn from each shared table's inliers at most")
    parser.add_argument("--code-sizes", type=int, nargs="+", default=list(CODE_SIZES))
    parser.add_argument("--output", default="transformer_defaults")
    add_out_argument(parser, what="the report")
    args = parser.parse_args(argv)
    rows = run(args.groups, args.data_dir, args.max_rows, args.code_sizes,
               log=lambda line: print(line, flush=True))
    command = " ".join(["python -m benchmarks.transformer_defaults",
                        *(sys.argv[1:] if argv is None else argv)])
    text = report(rows, command)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.output}.md").write_text(text)
    (args.out / f"{args.output}.json").write_text(
        json.dumps({"command": command, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
