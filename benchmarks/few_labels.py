"""Unsupervised pre-training for few labels: a fine-tuned encoder against training from scratch.

For each label fraction and seed, on the same draw of labelled training rows:

- **fine-tuned**: a dense autoencoder fitted on every training row (the labels
  unused), its encoder (:meth:`~skae.AutoencoderTransformer.encoder_module`)
  under a linear head, the whole network trained on the labelled rows
  (skorch ``NeuralNetClassifier``, cross-entropy, Adam);
- **from scratch**: the same network, with the same initial weights (an
  autoencoder with the same ``random_state`` stopped after one step, so also
  the same input scaling), trained the same way on the labelled rows;
- **PCA + logistic regression**: PCA of the same width fitted on every
  training row, a logistic regression on the labelled rows' codes;
- **raw pixels + logistic regression**.

Both networks get the same budget of optimiser steps
(``--finetune-steps``, as whole epochs over the labelled rows). With
``--freeze-steps N`` the fine-tuned network follows the chapter's schedule:
its first ``N`` steps train only the new head, the pre-trained encoder
frozen, then everything trains together (the from-scratch network, with
nothing to protect, trains every layer throughout). Accuracy on
the test rows; mean and standard deviation over the seeds (the label draw,
the autoencoder's ``random_state`` and the head's initial weights). With
100 % of the labels the draw is every row, and the logistic regressions,
deterministic, are fitted once.

Run: ``python -m benchmarks.few_labels [--data-dir DIR] [--train-rows N]
[--quick]``. The default is Fashion-MNIST and MNIST at full size (60k
training rows), for a GPU; ``--quick`` is sklearn's digits, a smoke run.
Results go to ``benchmarks/results/latest/few_labels.{md,json}``
(``few_labels_quick`` with ``--quick``); ``--out`` and ``--name`` choose
where and under which name.
"""

import argparse
import json
import math
import shlex
import sys
import time
import warnings

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch import NeuralNetClassifier
from skorch.callbacks import Freezer, Unfreezer
from torch import nn

from skae import AutoencoderTransformer, DenseNetwork

from ._budget import steps_for_epochs
from ._output import add_out_argument
from ._timing import add_threads_argument, apply_threads
from .datasets import load_idx_images

METHODS = ("fine-tuned", "from scratch", "PCA + logistic regression",
           "raw pixels + logistic regression")


def _digits(seed):
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X.astype(np.float32), y, test_size=0.3, stratify=y, random_state=seed)
    return X_train, y_train, X_test, y_test


def load(name, data_dir, train_rows, test_rows, seed=0):
    """Training and test rows of ``name`` ('digits', 'fashion-mnist' or 'mnist')."""
    if name == "digits":
        return _digits(seed)
    X_train, y_train = load_idx_images(name, data_dir, "train")
    X_test, y_test = load_idx_images(name, data_dir, "test")
    rng = np.random.RandomState(seed)
    train = rng.permutation(len(X_train))[:train_rows]
    test = rng.permutation(len(X_test))[:test_rows]
    return X_train[train], y_train[train], X_test[test], y_test[test]


def _autoencoder(config, seed, max_steps):
    return AutoencoderTransformer(
        n_components=config["n_components"],
        network=DenseNetwork(hidden_layer_sizes=config["hidden_layer_sizes"]),
        scaling="minmax", batch_size=config["batch_size"], max_steps=max_steps,
        device=config["device"], random_state=seed)


def _network_accuracy(encoder, n_classes, X, y, X_test, y_test, config, seed, freeze_steps=0):
    """Test accuracy of ``encoder`` under a linear head, trained on ``X, y``.

    The first ``freeze_steps`` steps (whole epochs) train the head only.
    """
    torch.manual_seed(seed)  # the head's initial weights and the batch order
    batch_size = min(config["batch_size"], len(X))
    steps_per_epoch = math.ceil(len(X) / batch_size)
    epochs = math.ceil(config["finetune_steps"] / steps_per_epoch)
    frozen_epochs = math.ceil(freeze_steps / steps_per_epoch)
    callbacks = ([Freezer("0.*"), Unfreezer("0.*", at=frozen_epochs + 1)] if frozen_epochs
                 else None)
    clf = NeuralNetClassifier(
        nn.Sequential(encoder, nn.Linear(config["n_components"], n_classes)),
        criterion=nn.CrossEntropyLoss, optimizer=torch.optim.Adam,
        lr=config["finetune_learning_rate"], batch_size=batch_size, max_epochs=epochs,
        train_split=None, iterator_train__shuffle=True, device=config["device"],
        callbacks=callbacks, verbose=0)
    clf.fit(X, y)
    return float(np.mean(clf.predict(X_test) == y_test))


def _logistic_accuracy(Z, y, Z_test, y_test):
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    return float(clf.fit(Z, y).score(Z_test, y_test))


def run_dataset(name, config, data_dir=None, log=print):
    """Every method at every label fraction and seed on one dataset; a JSON-ready dict."""
    X_train, y_train, X_test, y_test = load(name, data_dir, config["train_rows"],
                                            config["test_rows"])
    n_classes = len(np.unique(y_train))
    pca = PCA(n_components=config["n_components"], random_state=0).fit(X_train)
    P_train, P_test = pca.transform(X_train), pca.transform(X_test)
    result = {"train_rows": len(X_train), "test_rows": len(X_test), "fractions": {}}
    # With every label, the logistic regressions are deterministic: fitted once.
    logistic_every_row = None
    for seed in config["seeds"]:
        start = time.perf_counter()
        pretrain_steps = steps_for_epochs(config["pretrain_epochs"], len(X_train),
                                          config["batch_size"])
        pretrained = _autoencoder(config, seed, pretrain_steps).fit(X_train)
        initial = _autoencoder(config, seed, 1).fit(X_train)
        log(f"{name} seed {seed}: autoencoder pre-trained in "
            f"{time.perf_counter() - start:.1f} s")
        for fraction in config["fractions"]:
            n_labels = max(n_classes, round(fraction * len(X_train)))
            if n_labels >= len(X_train):
                labelled = np.arange(len(X_train))
            else:
                labelled, _ = train_test_split(np.arange(len(X_train)), train_size=n_labels,
                                               stratify=y_train, random_state=seed)
            X, y = X_train[labelled], y_train[labelled]
            args = (n_classes, X, y, X_test, y_test, config, seed)
            # The chapter's schedule: the reused layers frozen while the new
            # head learns, then trained together; random layers are not frozen.
            accuracies = {"fine-tuned": _network_accuracy(pretrained.encoder_module(), *args,
                                                          config.get("freeze_steps", 0)),
                          "from scratch": _network_accuracy(initial.encoder_module(), *args)}
            every_row = len(labelled) == len(X_train)
            if not (every_row and logistic_every_row):
                logistic = {
                    "PCA + logistic regression": _logistic_accuracy(
                        P_train[labelled], y, P_test, y_test),
                    "raw pixels + logistic regression": _logistic_accuracy(
                        X, y, X_test, y_test)}
                if every_row:
                    logistic_every_row = logistic
            accuracies.update(logistic_every_row if every_row else logistic)
            cell = result["fractions"].setdefault(
                str(fraction), {"labelled_rows": len(labelled),
                                "accuracies": {m: [] for m in METHODS}})
            for method, accuracy in accuracies.items():
                cell["accuracies"][method].append(accuracy)
            log(f"  {fraction:.0%} of the labels ({len(labelled)} rows): "
                + ", ".join(f"{m} {a:.4f}" for m, a in accuracies.items()))
    for cell in result["fractions"].values():
        cell["summary"] = {m: {"mean": float(np.mean(a)), "std": float(np.std(a))}
                           for m, a in cell["accuracies"].items()}
        means = {m: s["mean"] for m, s in cell["summary"].items()}
        cell["fine_tuned_minus_scratch"] = means["fine-tuned"] - means["from scratch"]
        cell["fine_tuned_minus_raw"] = (means["fine-tuned"]
                                        - means["raw pixels + logistic regression"])
    return result


def run(datasets, config, data_dir=None, log=print):
    """:func:`run_dataset` for every dataset; the configuration and results as a dict."""
    results = {"config": config, "datasets": {}}
    for name in datasets:
        start = time.perf_counter()
        results["datasets"][name] = run_dataset(name, config, data_dir, log)
        results["datasets"][name]["seconds"] = time.perf_counter() - start
    return results


def _frozen_text(config):
    steps = config.get("freeze_steps", 0)
    return (f", the first {steps} of the fine-tuned network's with its pre-trained encoder "
            "frozen" if steps else "")


def to_markdown(results, command):
    """The results as one markdown table per dataset."""
    c = results["config"]
    lines = ["# Unsupervised pre-training for few labels", "", f"Command: `{command}`", "",
             (f"Dense autoencoder, hidden layers {tuple(c['hidden_layer_sizes'])}, "
              f"{c['n_components']} codes (min-max scaling), pre-trained {c['pretrain_epochs']} "
              f"epochs on every training row; networks fine-tuned {c['finetune_steps']} Adam "
              f"steps (lr {c['finetune_learning_rate']}, batch {c['batch_size']}, whole "
              f"epochs{_frozen_text(c)}); PCA with {c['n_components']} components; device {c['device']}. "
              f"Test accuracy, mean +- std over seeds {c['seeds']}."), ""]
    for name, r in results["datasets"].items():
        lines += [(f"## {name}: {r['train_rows']} training rows, {r['test_rows']} test rows "
                   f"({r['seconds']:.0f} s)"), "",
                  "| labels | " + " | ".join(METHODS) + " | fine-tuned - scratch "
                  "| fine-tuned - raw |",
                  "| --- |" + " ---: |" * (len(METHODS) + 2)]
        for fraction, cell in r["fractions"].items():
            s = cell["summary"]
            lines.append(
                f"| {float(fraction):.0%} ({cell['labelled_rows']}) | "
                + " | ".join(f"{s[m]['mean']:.4f} +- {s[m]['std']:.4f}" for m in METHODS)
                + f" | {100 * cell['fine_tuned_minus_scratch']:+.1f} pt"
                f" | {100 * cell['fine_tuned_minus_raw']:+.1f} pt |")
        lines.append("")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--quick", action="store_true",
                        help="sklearn's digits, a small network, few steps: a smoke run")
    parser.add_argument("--datasets", nargs="+", default=None,
                        help="default: fashion-mnist mnist (digits with --quick)")
    parser.add_argument("--train-rows", type=int, default=60000)
    parser.add_argument("--test-rows", type=int, default=10000)
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.01, 0.05, 1.0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--hidden", type=int, nargs="+", default=[256],
                        help="hidden widths of the encoder (the decoder mirrors them)")
    parser.add_argument("--n-components", type=int, default=32)
    parser.add_argument("--pretrain-epochs", type=int, default=20)
    parser.add_argument("--finetune-steps", type=int, default=1500)
    parser.add_argument("--freeze-steps", type=int, default=0,
                        help="first steps (whole epochs) of the fine-tuned network that "
                             "train only its head, the pre-trained encoder frozen (the "
                             "chapter's schedule); part of --finetune-steps")
    parser.add_argument("--finetune-learning-rate", type=float, default=1e-3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--name", default=None,
                        help="file stem (default: few_labels, few_labels_quick with --quick)")
    add_threads_argument(parser)
    add_out_argument(parser, what="few_labels.{md,json}")
    args = parser.parse_args(argv)
    if not 0 <= args.freeze_steps <= args.finetune_steps:
        parser.error(f"--freeze-steps must be between 0 and --finetune-steps "
                     f"({args.finetune_steps}), got {args.freeze_steps}")
    apply_threads(args)
    if args.quick:
        datasets = args.datasets or ["digits"]
        args.hidden, args.n_components = [32], 8
        args.pretrain_epochs, args.finetune_steps = 5, 100
    else:
        datasets = args.datasets or ["fashion-mnist", "mnist"]
    config = {"train_rows": args.train_rows, "test_rows": args.test_rows,
              "fractions": args.fractions, "seeds": args.seeds,
              "hidden_layer_sizes": args.hidden, "n_components": args.n_components,
              "pretrain_epochs": args.pretrain_epochs, "finetune_steps": args.finetune_steps,
              "freeze_steps": args.freeze_steps,
              "finetune_learning_rate": args.finetune_learning_rate,
              "batch_size": args.batch_size, "device": args.device,
              "threads": torch.get_num_threads()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        results = run(datasets, config, args.data_dir)
    command = "python -m benchmarks.few_labels " + shlex.join(
        a for a in (sys.argv[1:] if argv is None else argv))
    results["command"] = command.strip()
    markdown = to_markdown(results, results["command"])
    stem = args.name or ("few_labels_quick" if args.quick else "few_labels")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{stem}.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / f"{stem}.md").write_text(markdown)
    print(markdown)
    return results


if __name__ == "__main__":
    main()
