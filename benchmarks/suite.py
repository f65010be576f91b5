"""The benchmark suite: every estimator against PCA on the same splits, in one run.

For each dataset and code size the suite fits every estimator of
:data:`ESTIMATORS` on the training rows and measures, on the test rows:

* reconstruction error (mean squared error in the space the estimators are
  trained in: pixels in [0, 1] for images, standardised features for tables),
* accuracy of a 5-nearest-neighbour and a logistic-regression classifier
  trained on the codes of the training rows,
* ``sklearn.manifold.trustworthiness`` of 2-D codes (and of t-SNE run on the
  widest codes of each estimator in :data:`TSNE_AFTER`),
* fit time and transform throughput (rows per second),

and divides each figure by PCA's at the same dataset and code size.
"""

import sys
import time
from dataclasses import dataclass, field

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.manifold import TSNE, trustworthiness
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from skae import AutoencoderTransformer, DenseNetwork, VAETransformer

from . import datasets
from ._budget import steps_for_epochs
from ._timing import timed_fit

# ------------------------------------------------------------------ datasets


@dataclass(frozen=True)
class Dataset:
    """A benchmark dataset and how the estimators see it.

    Parameters
    ----------
    name : str
    load : callable
        ``load(data_dir)`` returns ``(X, y)`` or, for data with a published
        split, ``(X_train, X_test, y_train, y_test)``.
    scaling : {'standard', None}
        ``'standard'`` for tables (PCA is preceded by a ``StandardScaler``,
        the autoencoders scale the same way inside, and errors are measured
        in standardised units); ``None`` for images already in [0, 1].
    hidden_layer_sizes : tuple of int
        Encoder widths of the neural estimators.
    batch_size : int
        Mini-batch size of the neural estimators (smaller for small tables,
        so that an epoch has more than a few steps).
    image_shape : tuple of int or None
        Shape of one image, for the reconstruction plot.
    needs_data_dir : bool
        True when the data is read from the data directory (``--full``).
    """

    name: str
    load: object
    scaling: object = "standard"
    hidden_layer_sizes: tuple = (256, 128)
    batch_size: int = 128
    image_shape: object = None
    needs_data_dir: bool = False


def _digits(data_dir):
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def _breast_cancer(data_dir):
    return load_breast_cancer(return_X_y=True)


def _idx(name):
    def load(data_dir):
        X_train, y_train = datasets.load_idx_images(name, data_dir, "train")
        X_test, y_test = datasets.load_idx_images(name, data_dir, "test")
        return X_train, X_test, y_train, y_test
    return load


def _odds(name):
    return lambda data_dir: datasets.load_odds(name, data_dir)


QUICK_DATASETS = [
    Dataset("digits", _digits, scaling=None, image_shape=(8, 8)),
    Dataset("breast_cancer", _breast_cancer, hidden_layer_sizes=(64, 32), batch_size=32),
]
FULL_DATASETS = [
    Dataset("fashion-mnist", _idx("fashion-mnist"), scaling=None,
            hidden_layer_sizes=(512, 256), image_shape=(28, 28), needs_data_dir=True),
    Dataset("mnist", _idx("mnist"), scaling=None, hidden_layer_sizes=(512, 256),
            image_shape=(28, 28), needs_data_dir=True),
    Dataset("ecg5000", datasets.load_ecg5000, hidden_layer_sizes=(64, 32),
            needs_data_dir=True),
    *[Dataset(f"odds-{name}", _odds(name), hidden_layer_sizes=(64, 32), needs_data_dir=True)
      for name in datasets.ODDS_TABLES],
]
ALL_DATASETS = {d.name: d for d in QUICK_DATASETS + FULL_DATASETS}

# ---------------------------------------------------------------- estimators


@dataclass(frozen=True)
class Budget:
    """Training budget and data sizes of a run."""

    max_epochs: int = 100  # passes over the training rows, as max_steps at fit
    learning_rate: float = 1e-3
    max_train: int = 10_000
    max_test: int = 2_000
    max_embedding_rows: int = 1_000
    seed: int = 0


def linear_pca(n_components, dataset, budget):
    """PCA, after a ``StandardScaler`` on tables: the baseline of every ratio."""
    pca = PCA(n_components=n_components, random_state=budget.seed)
    return make_pipeline(StandardScaler(), pca) if dataset.scaling else pca


def neural(estimator_class):
    """A builder of one of skae's autoencoders with the run's shared settings.

    Every skae estimator takes the shared parameters of the autoencoder base,
    so adding one to the suite is one line in :data:`ESTIMATORS`.
    """
    def build(n_components, dataset, budget):
        return estimator_class(
            n_components=n_components,
            network=DenseNetwork(hidden_layer_sizes=dataset.hidden_layer_sizes),
            scaling=dataset.scaling, learning_rate=budget.learning_rate,
            batch_size=dataset.batch_size, random_state=budget.seed,
        )
    return build


def variational(n_components, dataset, budget):
    """The VAE with the likelihood that fits the data: Bernoulli for pixels in [0, 1].

    A unit-variance Gaussian on [0, 1] pixels makes the reconstruction term
    tiny next to the KL term, and the codes collapse onto the prior.
    """
    model = neural(VAETransformer)(n_components, dataset, budget)
    return model.set_params(loss="bce") if dataset.scaling is None else model



#: The estimators of the suite, by label: ``builder(n_components, dataset, budget)``.
#: ``"PCA"`` must stay: every ratio is against it.
ESTIMATORS = {
    "PCA": linear_pca,
    "AE": neural(AutoencoderTransformer),
    "VAE": variational,
}
#: Estimators whose widest codes are also embedded in 2-D by t-SNE.
TSNE_AFTER = ("AE",)


def code_sizes_for(code_sizes, n_features):
    """The code sizes that compress: those smaller than the number of features."""
    return [k for k in code_sizes if k < n_features]


# ------------------------------------------------------------------ progress


class Progress:
    """One stderr line per finished step: ``[ 3/14  0:07] digits k=8 AE  2.41 s``."""

    def __init__(self, total, stream=None):
        self.total, self.done = total, 0
        self.stream = sys.stderr if stream is None else stream
        self.start = time.perf_counter()

    def step(self, message):
        self.done += 1
        elapsed = int(time.perf_counter() - self.start)
        width = len(str(self.total))
        print(f"[{self.done:>{width}}/{self.total} {elapsed // 60}:{elapsed % 60:02d}] {message}",
              file=self.stream, flush=True)

    def note(self, message):
        print(f"  {message}", file=self.stream, flush=True)


# ------------------------------------------------------------------- metrics


def _split(loaded, budget):
    """Train and test rows, each capped at the budget by a seeded subsample."""
    if len(loaded) == 4:
        X_train, X_test, y_train, y_test = loaded
    else:
        X, y = loaded
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=0.3, stratify=y, random_state=budget.seed)
    rng = np.random.RandomState(budget.seed)

    def cap(X, y, n):
        if len(X) <= n:
            return X, y
        rows = np.sort(rng.choice(len(X), n, replace=False))
        return X[rows], y[rows]

    return (*cap(X_train, y_train, budget.max_train), *cap(X_test, y_test, budget.max_test))


def _throughput(estimator, X, min_seconds=0.2):
    """Rows per second of ``transform``, repeated until ``min_seconds`` have passed."""
    rows, start = 0, time.perf_counter()
    while True:
        estimator.transform(X)
        rows += len(X)
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return rows / elapsed


def _accuracies(Z_train, y_train, Z_test, y_test):
    knn = KNeighborsClassifier(n_neighbors=5).fit(Z_train, y_train)
    logreg = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    logreg.fit(Z_train, y_train)
    return {"knn_accuracy": float(knn.score(Z_test, y_test)),
            "logreg_accuracy": float(logreg.score(Z_test, y_test))}


def _fit_one(label, build, k, dataset, budget, data):
    """Fit one estimator at one code size; its figures and what the plots need."""
    X_train, X_test, y_train, y_test, space = data
    estimator = build(k, dataset, budget)
    if "max_steps" in estimator.get_params():  # the epoch budget, in steps
        estimator.set_params(max_steps=steps_for_epochs(budget.max_epochs, len(X_train),
                                                        dataset.batch_size))
    fit_seconds = timed_fit(estimator, X_train)
    Z_train, Z_test = estimator.transform(X_train), estimator.transform(X_test)
    X_hat = estimator.inverse_transform(Z_test)
    row = {
        "dataset": dataset.name, "n_components": k, "estimator": label,
        "reconstruction_mse": float(np.mean((space.transform(X_test)
                                             - space.transform(X_hat)) ** 2)),
        **_accuracies(Z_train, y_train, Z_test, y_test),
        "fit_seconds": fit_seconds,
        "transform_rows_per_second": _throughput(estimator, X_test),
    }
    if hasattr(estimator, "loss_curve_"):
        row["n_iter"] = estimator.n_iter_
        row["loss_curve"] = [float(v) for v in estimator.loss_curve_]
    return row, Z_test, X_hat


def _trust(space_X, Z, budget):
    n = min(len(Z), budget.max_embedding_rows)
    return float(trustworthiness(space_X[:n], Z[:n], n_neighbors=5))


def _add_ratios(rows):
    """Each figure divided by PCA's at the same dataset and code size."""
    metrics = ("reconstruction_mse", "knn_accuracy", "logreg_accuracy", "trustworthiness",
               "fit_seconds", "transform_rows_per_second")
    pca = {(r["dataset"], r["n_components"]): r for r in rows if r["estimator"] == "PCA"}
    for row in rows:
        base = pca.get((row["dataset"], row["n_components"]), {})
        row["ratio_to_pca"] = {m: row[m] / base[m] for m in metrics
                               if row.get(m) is not None and base.get(m)}


# ---------------------------------------------------------------------- run


@dataclass
class DatasetResult:
    """Figures and plot material of one dataset."""

    dataset: Dataset
    n_train: int
    n_test: int
    n_features: int
    code_sizes: list
    rows: list = field(default_factory=list)
    embeddings: dict = field(default_factory=dict)        # label -> (Z_2d, trust)
    reconstructions: dict = field(default_factory=dict)   # label -> X_hat of samples
    reconstruction_size: int = None
    originals: object = None
    y_embedded: object = None


def load_split(dataset, budget, data_dir=None):
    """``(X_train, y_train, X_test, y_test)`` of ``dataset``, capped at the budget."""
    return _split(dataset.load(data_dir), budget)


def run_dataset(dataset, split, code_sizes, budget, progress=None, estimators=None):
    """Benchmark every estimator on one dataset; returns a :class:`DatasetResult`."""
    estimators = ESTIMATORS if estimators is None else estimators
    X_train, y_train, X_test, y_test = split
    space = (StandardScaler() if dataset.scaling
             else FunctionTransformer(feature_names_out="one-to-one")).fit(X_train)
    space_test = space.transform(X_test)
    sizes = code_sizes_for(code_sizes, X_train.shape[1])
    result = DatasetResult(dataset, len(X_train), len(X_test), X_train.shape[1], sizes,
                           reconstruction_size=sizes[min(1, len(sizes) - 1)] if sizes else None,
                           originals=X_test[:10],
                           y_embedded=y_test[:budget.max_embedding_rows])
    data = (X_train, X_test, y_train, y_test, space)
    widest = {}
    for k in sizes:
        for label, build in estimators.items():
            row, Z_test, X_hat = _fit_one(label, build, k, dataset, budget, data)
            if k == 2:
                row["trustworthiness"] = _trust(space_test, Z_test, budget)
                result.embeddings[label] = (Z_test[:budget.max_embedding_rows],
                                            row["trustworthiness"])
            if k == result.reconstruction_size:
                result.reconstructions[label] = X_hat[:10]
            widest[label] = Z_test
            result.rows.append(row)
            if progress:
                progress.step(f"{dataset.name} k={k} {label}: fit {row['fit_seconds']:.2f} s, "
                              f"test MSE {row['reconstruction_mse']:.4g}")
    for label in TSNE_AFTER:
        if label in widest:
            result.rows.append(_tsne_row(label, widest[label], space_test, budget,
                                         result, progress))
    _add_ratios(result.rows)
    return result


def _tsne_row(label, Z_test, space_test, budget, result, progress):
    """t-SNE on the widest codes of ``label``; a row with its trustworthiness.

    The row sits at code size 2, so its ratio is against PCA's 2-D codes.
    """
    n = min(len(Z_test), budget.max_embedding_rows)
    start = time.perf_counter()
    embedding = TSNE(n_components=2, init="pca", perplexity=min(30.0, (n - 1) / 3),
                     random_state=budget.seed).fit_transform(Z_test[:n])
    seconds = time.perf_counter() - start
    trust = _trust(space_test, embedding, budget)
    name = f"{label}+t-SNE"
    result.embeddings[name] = (embedding, trust)
    if progress:
        progress.step(f"{result.dataset.name} {name} (from k={Z_test.shape[1]}): "
                      f"{seconds:.2f} s")
    return {"dataset": result.dataset.name, "n_components": 2, "estimator": name,
            "from_n_components": int(Z_test.shape[1]), "trustworthiness": trust,
            "tsne_seconds": seconds}


def n_steps(n_features, code_sizes, estimators=None):
    """Progress steps of one dataset with ``n_features`` features."""
    estimators = ESTIMATORS if estimators is None else estimators
    sizes = code_sizes_for(code_sizes, n_features)
    n_tsne = sum(label in estimators for label in TSNE_AFTER) if sizes else 0
    return len(sizes) * len(estimators) + n_tsne
