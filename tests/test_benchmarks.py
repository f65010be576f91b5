"""The benchmark suite end to end on tiny settings, and the data-directory loaders.

The data directory here is made by the test, in the layout of shared/data;
nothing reads the real datasets or the network.
"""

import gzip
import json
import struct

import numpy as np
import pytest

from benchmarks import __main__ as suite_main
from benchmarks import datasets, suite

TINY = ["--epochs", "2", "--max-train", "120", "--max-test", "60", "--code-sizes", "2", "8",
        "--overhead-repeats", "0"]


def _write_idx(path, array, magic):
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", n) for n in array.shape)
    with gzip.open(path, "wb") as stream:
        stream.write(header + array.astype(np.uint8).tobytes())


@pytest.fixture
def data_dir(tmp_path):
    """A fake data directory with tiny MNIST, Fashion-MNIST, ECG5000 and ODDS files."""
    rng = np.random.RandomState(0)
    root = tmp_path / "data"
    for name in ("mnist", "fashion-mnist"):
        (root / name).mkdir(parents=True)
        for prefix, n in (("train", 80), ("t10k", 40)):
            _write_idx(root / name / f"{prefix}-images-idx3-ubyte.gz",
                       rng.randint(0, 256, (n, 28, 28)), 0x803)
            _write_idx(root / name / f"{prefix}-labels-idx1-ubyte.gz",
                       np.arange(n) % 4, 0x801)
    (root / "ecg5000").mkdir()
    ecg = np.hstack([rng.normal(size=(60, 140)), (np.arange(60) % 2)[:, None]])
    np.savetxt(root / "ecg5000" / "ecg.csv", ecg, delimiter=",")
    (root / "odds").mkdir()
    for name in datasets.ODDS_TABLES:
        np.savez_compressed(root / "odds" / f"{name}.npz",
                            X=rng.normal(size=(70, 12)).astype(np.float32),
                            y=(np.arange(70) % 7 == 0).astype(np.int64))
    return root


def test_loaders_read_the_data_directory(data_dir):
    X, y = datasets.load_idx_images("fashion-mnist", data_dir, "test")
    assert X.shape == (40, 784) and X.dtype == np.float32
    assert 0.0 <= X.min() and X.max() <= 1.0
    np.testing.assert_array_equal(y, np.arange(40) % 4)
    X, y_normal = datasets.load_ecg5000(data_dir)
    assert X.shape == (60, 140) and set(y_normal) == {0, 1}
    X, y = datasets.load_odds("thyroid", data_dir)
    assert X.shape == (70, 12) and y.sum() == 10


def test_missing_data_directory_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        datasets.load_ecg5000(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="missing from the data directory"):
        datasets.load_odds("cardio", tmp_path)


def test_code_sizes_keep_only_compressing_sizes():
    assert suite.code_sizes_for([2, 8, 32], 30) == [2, 8]
    assert suite.code_sizes_for([2, 8, 32], 2) == []


def test_quick_suite_writes_report_json_and_figures(tmp_path, capsys):
    out = tmp_path / "results"
    results = suite_main.main([*TINY, "--datasets", "digits", "--out", str(out),
                               "--overhead-epochs", "1", "--overhead-repeats", "1"])

    names = {path.name for path in out.iterdir()}
    assert {"results.json", "report.md", "report.rst", "error_vs_code_size.png",
            "embeddings_digits.png", "reconstructions_digits.png",
            "loss_curves.png"} <= names
    saved = json.loads((out / "results.json").read_text())
    assert "python -m benchmarks --epochs 2 " in saved["meta"]["command"]
    rows = saved["datasets"][0]["rows"]
    assert {(r["n_components"], r["estimator"]) for r in rows} == {
        (2, "PCA"), (2, "AE"), (2, "VAE"), (8, "PCA"), (8, "AE"), (8, "VAE"),
        (2, "AE+t-SNE")}
    for row in rows:
        if row["estimator"] == "PCA":
            assert row["ratio_to_pca"]["reconstruction_mse"] == 1.0
        elif "reconstruction_mse" in row:
            assert row["ratio_to_pca"]["reconstruction_mse"] > 0
            assert len(row["loss_curve"]) == row["n_iter"] == 2
            assert row["transform_rows_per_second"] > 0
    assert 0 < results["datasets"][0]["rows"][0]["trustworthiness"] <= 1
    assert "| 8 | AE |" in (out / "report.md").read_text()
    assert ".. list-table::" in (out / "report.rst").read_text()
    progress = capsys.readouterr().err
    assert "[1/8" in progress and "[8/8" in progress
    assert results["overhead"]["ratio"] > 0
    assert "Training overhead" in (out / "report.md").read_text()


def test_full_datasets_run_from_the_data_directory(data_dir, tmp_path):
    out = tmp_path / "full"
    results = suite_main.main([*TINY, "--full", "--data-dir", str(data_dir), "--out", str(out),
                               "--datasets", "mnist", "ecg5000", "odds-thyroid",
                               "--code-sizes", "2"])
    assert [d["name"] for d in results["datasets"]] == ["mnist", "ecg5000", "odds-thyroid"]
    assert results["skipped"] == []
    mnist = results["datasets"][0]
    assert (mnist["n_train"], mnist["n_test"], mnist["n_features"]) == (80, 40, 784)
    assert {"reconstructions_mnist.png", "embeddings_ecg5000.png"} <= {
        path.name for path in out.iterdir()}


def test_unreadable_dataset_is_skipped_and_reported(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    results = suite_main.main([*TINY, "--data-dir", str(empty), "--out", str(tmp_path / "o"),
                               "--datasets", "odds-cardio"])
    assert results["datasets"] == []
    assert results["skipped"][0]["name"] == "odds-cardio"
    assert "Skipped odds-cardio" in (tmp_path / "o" / "report.md").read_text()
