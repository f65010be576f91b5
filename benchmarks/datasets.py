"""Loaders for the benchmark datasets.

Data that ships with scikit-learn (digits) needs nothing. The real datasets --
Fashion-MNIST, MNIST, ECG5000 and the ODDS/ADBench outlier tables -- are read
from a data directory laid out as ``shared/data`` of the skae repository:

    fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz
    mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz
    ecg5000/ecg.csv
    odds/{cardio,thyroid,satellite,internetads}.npz
    adbench/<name>.npz for the 28 names of ADBENCH_TABLES (e.g. 11_donors.npz)
    embeddings/<name>.npz for the 12 names of EMBEDDING_TABLES
    nab/<category>/<name>.csv and nab/labels/combined_windows.json (NAB series)

The directory is the ``data_dir`` argument, else the ``SKAE_DATA_DIR``
environment variable, else ``../shared/data`` beside the repository when it
exists. When there is no directory at all, MNIST and Fashion-MNIST are
fetched from OpenML by :func:`sklearn.datasets.fetch_openml`, which caches
them under ``~/scikit_learn_data``; the other datasets need the directory.
"""

import gzip
import os
from pathlib import Path

import numpy as np

ODDS_TABLES = ("cardio", "thyroid", "satellite", "internetads")
#: The ADBench "Classical" tables of ``adbench/``, by ADBench number (80 to 619,326 rows).
ADBENCH_TABLES = (
    "1_ALOI", "5_campaign", "7_Cardiotocography", "8_celeba", "10_cover", "11_donors",
    "12_fault", "15_Hepatitis", "16_http", "19_landsat", "21_Lymphography", "22_magic.gamma",
    "27_PageBlocks", "29_Pima", "31_satimage-2", "33_skin", "34_smtp", "35_SpamBase",
    "37_Stamps", "39_vertebral", "40_vowels", "41_Waveform", "42_WBC", "43_WDBC", "44_Wilt",
    "45_wine", "46_WPBC", "47_yeast",
)
#: ResNet-18 feature tables of ``embeddings/`` (512 columns; ADBench's CV sets).
EMBEDDING_TABLES = (
    "CIFAR10_6", "SVHN_9", "MVTec-AD_carpet", "MVTec-AD_grid", "MVTec-AD_leather",
    "MVTec-AD_metal_nut", "MVTec-AD_pill", "MVTec-AD_tile", "MVTec-AD_toothbrush",
    "MVTec-AD_transistor", "MVTec-AD_wood", "MVTec-AD_zipper",
)
#: OpenML names of the image sets; their first 60,000 rows are the training split.
OPENML_IMAGES = {"mnist": "mnist_784", "fashion-mnist": "Fashion-MNIST"}
N_TRAIN_IMAGES = 60_000


def resolve_data_dir(data_dir=None):
    """The data directory to read, or ``None`` when there is none.

    Parameters
    ----------
    data_dir : str or Path, default=None
        Explicit directory; falls back to ``$SKAE_DATA_DIR``, then to
        ``../shared/data`` next to the repository.
    """
    if data_dir is not None:
        if not Path(data_dir).is_dir():
            raise FileNotFoundError(f"data directory {data_dir!s} does not exist")
        return Path(data_dir)
    for candidate in (os.environ.get("SKAE_DATA_DIR"),
                      Path(__file__).resolve().parents[2] / "shared" / "data"):
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return None


def _require(data_dir, *parts):
    root = resolve_data_dir(data_dir)
    if root is None:
        raise FileNotFoundError(
            "no data directory: pass --data-dir or set SKAE_DATA_DIR to a folder "
            "laid out like shared/data (see benchmarks/datasets.py)"
        )
    path = root.joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing from the data directory")
    return path


def _read_idx(path, offset):
    with gzip.open(path) as stream:
        return np.frombuffer(stream.read(), np.uint8, offset=offset)


def load_idx_images(name, data_dir=None, split="train"):
    """Images (flattened, float32 in [0, 1]) and labels of MNIST or Fashion-MNIST.

    Parameters
    ----------
    name : {'mnist', 'fashion-mnist'}
    data_dir : str or Path, default=None
    split : {'train', 'test'}

    Returns
    -------
    X : ndarray of shape (n_samples, 784), float32
    y : ndarray of shape (n_samples,), int64
    """
    if resolve_data_dir(data_dir) is None:
        return _openml_images(name, split)
    prefix = "train" if split == "train" else "t10k"
    images = _read_idx(_require(data_dir, name, f"{prefix}-images-idx3-ubyte.gz"), 16)
    labels = _read_idx(_require(data_dir, name, f"{prefix}-labels-idx1-ubyte.gz"), 8)
    X = images.reshape(-1, 28 * 28).astype(np.float32) / 255.0
    return X, labels.astype(np.int64)


def load_ecg5000(data_dir=None):
    """ECG5000 heartbeats: 140 samples per row; ``y_normal`` is 1 for normal beats.

    Returns
    -------
    X : ndarray of shape (4998, 140), float32
    y_normal : ndarray of shape (4998,), int64
    """
    table = np.loadtxt(_require(data_dir, "ecg5000", "ecg.csv"), delimiter=",")
    return table[:, :140].astype(np.float32), table[:, 140].astype(np.int64)


def load_nab(data_dir=None):
    """The labelled NAB series: ``[(key, values, labels)]``, sorted by key.

    ``key`` is ``'<category>/<name>.csv'`` as in NAB's label files; ``values``
    is the float64 series (rows in file order, read as consecutive steps) and
    ``labels`` is 1 at the steps inside a labelled anomaly window, else 0.
    Series without an anomaly window are left out.
    """
    import json

    import pandas as pd

    windows = json.loads(_require(data_dir, "nab", "labels", "combined_windows.json")
                         .read_text())
    series = []
    for key in sorted(windows):
        path = _require(data_dir, "nab").joinpath(*key.split("/"))
        if not windows[key] or not path.exists():
            continue
        frame = pd.read_csv(path, parse_dates=["timestamp"])
        labels = np.zeros(len(frame), dtype=np.int64)
        for start, end in windows[key]:
            inside = frame.timestamp.between(pd.Timestamp(start), pd.Timestamp(end))
            labels[inside.to_numpy()] = 1
        series.append((key, frame["value"].to_numpy(np.float64), labels))
    return series


def load_odds(name, data_dir=None):
    """One ODDS/ADBench outlier table; ``y`` is 1 for outliers.

    Parameters
    ----------
    name : {'cardio', 'thyroid', 'satellite', 'internetads'}

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), float32
    y : ndarray of shape (n_samples,), int64
    """
    return _load_table(data_dir, "odds", name)


def load_embeddings(name, data_dir=None):
    """One ResNet-18 embedding table of ``embeddings/``; ``y`` is 1 for outliers.

    Parameters
    ----------
    name : str
        One of :data:`EMBEDDING_TABLES`, the file name without ``.npz``.

    Returns
    -------
    X : ndarray of shape (n_samples, 512), float32
    y : ndarray of shape (n_samples,), int64
    """
    return _load_table(data_dir, "embeddings", name)


def load_adbench(name, data_dir=None):
    """One ADBench "Classical" table; ``y`` is 1 for outliers.

    The files keep ADBench's dtypes (some ``X`` are int16 or int64, ``y`` is
    int32 or int64); they are cast here.

    Parameters
    ----------
    name : str
        One of :data:`ADBENCH_TABLES`, the file name without ``.npz``.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), float32
    y : ndarray of shape (n_samples,), int64
    """
    return _load_table(data_dir, "adbench", name)


def _load_table(data_dir, folder, name):
    """``X`` (float32) and ``y`` (int64) of ``folder/name.npz`` in the data directory."""
    with np.load(_require(data_dir, folder, f"{name}.npz")) as table:
        return table["X"].astype(np.float32), table["y"].astype(np.int64)


def _openml_images(name, split):
    """MNIST or Fashion-MNIST from OpenML (cached), split as the idx files are."""
    from sklearn.datasets import fetch_openml

    try:
        X, y = fetch_openml(OPENML_IMAGES[name], version=1, return_X_y=True, as_frame=False)
    except OSError as error:  # no network: urllib's URLError is an OSError
        raise FileNotFoundError(
            f"no data directory for {name} and OpenML is unreachable ({error}); pass "
            "--data-dir or set SKAE_DATA_DIR (see benchmarks/datasets.py)"
        ) from error
    rows = slice(None, N_TRAIN_IMAGES) if split == "train" else slice(N_TRAIN_IMAGES, None)
    return (np.asarray(X[rows], dtype=np.float32) / 255.0,
            np.asarray(y[rows]).astype(np.int64))
