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
from benchmarks import (
    _output,
    datasets,
    few_labels,
    images_and_sequences,
    outliers,
    suite,
    transformer_defaults,
    under_load,
)
from skae import AutoencoderOutlierDetector

TINY = ["--epochs", "2", "--max-train", "120", "--max-test", "60", "--code-sizes", "2", "8",
        "--overhead-repeats", "0"]


def _write_idx(path, array, magic):
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", n) for n in array.shape)
    with gzip.open(path, "wb") as stream:
        stream.write(header + array.astype(np.uint8).tobytes())


@pytest.fixture
def data_dir(tmp_path):
    """A fake data directory with tiny MNIST, Fashion-MNIST, ECG5000, ODDS and ADBench files."""
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
    (root / "adbench").mkdir()
    # ADBench keeps the source dtypes: integer X in some tables, int32 or int64 y.
    np.savez_compressed(root / "adbench" / "10_cover.npz",
                        X=rng.randint(-50, 3000, size=(90, 10)).astype(np.int16),
                        y=(np.arange(90) % 9 == 0).astype(np.int64))
    np.savez_compressed(root / "adbench" / "29_Pima.npz",
                        X=rng.normal(size=(60, 8)), y=(np.arange(60) % 4 == 0).astype(np.int32))
    (root / "embeddings").mkdir()
    np.savez_compressed(root / "embeddings" / "MVTec-AD_pill.npz",
                        X=rng.normal(size=(60, 16)).astype(np.float32),
                        y=(np.arange(60) % 5 == 0).astype(np.int64))
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


def test_adbench_loader_casts_to_float32_and_int64(data_dir):
    X, y = datasets.load_adbench("10_cover", data_dir)
    assert X.shape == (90, 10) and X.dtype == np.float32 and y.dtype == np.int64
    assert y.sum() == 10
    X, y = datasets.load_adbench("29_Pima", data_dir)
    assert X.shape == (60, 8) and X.dtype == np.float32 and y.dtype == np.int64
    assert set(datasets.ADBENCH_TABLES) >= {"10_cover", "29_Pima", "11_donors"}
    assert len(datasets.ADBENCH_TABLES) == 28
    with pytest.raises(FileNotFoundError, match="missing from the data directory"):
        datasets.load_adbench("16_http", data_dir)


def test_outlier_suites_and_row_limits():
    assert outliers.select_datasets(["odds"]) == list(datasets.ODDS_TABLES)
    assert len(outliers.select_datasets()) == 4 + 28 + 12 + 2
    assert outliers.select_datasets(["odds"], ["29_Pima"]) == ["29_Pima"]
    limits = outliers.parse_row_limits(["pyod_knn=1000", "pyod_ae=50"])
    assert limits == {"pyod_knn": 1000, "pyod_ae": 50}
    assert outliers.skip_reason("pyod_knn", 1000, limits) is None
    assert "1001 training rows" in outliers.skip_reason("pyod_knn", 1001, limits)
    assert outliers.skip_reason("iforest", 10**6, limits) is None
    assert outliers.skip_reason("pyod_ae", 10**6, None) is None
    for bad in (["pyod_knn"], ["nope=3"]):
        with pytest.raises(ValueError, match="METHOD=N"):
            outliers.parse_row_limits(bad)
    X, y = np.arange(200.0)[:, None], (np.arange(200) % 10 == 0).astype(int)
    X_sub, y_sub = outliers.subsample(X, y, 50)
    assert len(X_sub) == 50 and y_sub.sum() == 5
    assert outliers.subsample(X, y, None)[0] is X


def _run(dataset, method, seed, roc_auc=None, seconds=1.0, **extra):
    if roc_auc is None:
        return {"dataset": dataset, "method": method, "seed": seed, **extra}
    return {"dataset": dataset, "method": method, "seed": seed, "roc_auc": roc_auc,
            "average_precision": roc_auc / 2, "seconds": seconds, **extra}


def test_outlier_summary_shows_skipped_cells_and_fair_means():
    methods = ["skae", "iforest", "pyod_ae"]
    runs = []
    for seed in (0, 1):
        runs += [_run("small", "skae", seed, 0.8 + 0.1 * seed, 2.0),
                 _run("small", "iforest", seed, 0.7, 1.0),
                 _run("small", "pyod_ae", seed, 0.6, 10.0),
                 _run("big", "skae", seed, 0.5, 4.0),
                 _run("big", "iforest", seed, 0.9, 1.0),
                 _run("big", "pyod_ae", seed, skipped="600 training rows > row limit 100")]
    runs.append(_run("broken", "skae", 0, 0.6, 1.0))
    runs.append(_run("broken", "iforest", 0, error="ValueError: boom"))
    runs.append(_run("broken", "pyod_ae", 0, 0.5, 1.0))
    results = {"settings": {"methods": methods}, "runs": runs, "notes": ["a note"],
               "tables": {"small": {"n_rows": 100, "n_features": 3, "n_outliers": 10},
                          "big": {"n_rows": 1000, "n_features": 7, "n_outliers": 50}}}
    summary = outliers.aggregate(results)

    per_table, per_method = summary["per_table"], summary["per_method"]
    assert per_table["small"]["skae"]["roc_auc"] == pytest.approx(0.85)
    assert per_table["big"]["pyod_ae"] == {"skipped": "600 training rows > row limit 100"}
    assert per_table["broken"]["iforest"] == {"error": "ValueError: boom"}
    assert summary["common_tables"] == ["small"]
    # each method's mean is over the tables it ran; "common" only over the fair ones
    assert per_method["skae"]["n_tables"] == 3
    assert per_method["skae"]["roc_auc"] == pytest.approx((0.85 + 0.5 + 0.6) / 3)
    assert per_method["skae"]["seconds"] == pytest.approx(4 + 8 + 1)
    assert per_method["pyod_ae"]["roc_auc"] == pytest.approx((0.6 + 0.5) / 2)
    assert per_method["iforest"]["common"]["roc_auc"] == pytest.approx(0.7)
    assert per_method["skae"]["common"]["seconds"] == pytest.approx(4.0)
    comparisons = summary["comparisons"]
    assert comparisons["time_skae_over_iforest"] == {"ratio": pytest.approx(12 / 4),
                                                     "n_tables": 2}
    assert comparisons["time_skae_over_pyod_ae"] == {"ratio": pytest.approx(5 / 21),
                                                     "n_tables": 2}
    assert comparisons["skae_roc_auc_above_iforest"] == {"wins": 1, "n_tables": 2}

    markdown = outliers.summarise(results, summary)
    assert "| big | 1000 | 7 | 5.0 % | 0.500 | 0.900 | — |" in markdown
    assert "| broken |  |  |  | 0.600 | failed | 0.500 |" in markdown
    assert "| skae | 3 | 0.650 | 0.325 | 13.0 | 0.850 | 0.425 | 4.0 |" in markdown
    assert "skae's ROC-AUC is above IsolationForest's: 1 of 2" in markdown
    assert "Skipped (—): pyod_ae on big" in markdown
    assert "Failed: iforest on broken: ValueError: boom" in markdown
    assert "Note: a note" in markdown


def test_outlier_benchmark_end_to_end(data_dir, tmp_path):
    methods = ["iforest", "pca"]
    params = []
    if "max_steps" in AutoencoderOutlierDetector().get_params():
        methods.append("skae")
        params = ["--params", json.dumps({"max_steps": 5})]
    out = tmp_path / "out"
    results = outliers.main(["--data-dir", str(data_dir), "--datasets", "thyroid", "10_cover",
                             "29_Pima", "MVTec-AD_pill", "--seeds", "0", "1", "--methods", *methods, *params,
                             "--method-row-limit", "pca=45", "--max-rows", "80",
                             "--out", str(out), "--output", "tiny"])

    assert results["tables"]["10_cover"] == {"n_rows": 80, "n_features": 10, "n_outliers": 9}
    assert results["tables"]["29_Pima"]["n_rows"] == 60
    by_cell = {(r["dataset"], r["method"], r["seed"]): r for r in results["runs"]}
    assert len(by_cell) == 4 * 2 * len(methods)
    assert "skipped" in by_cell[("10_cover", "pca", 0)]  # 48 training rows > 45
    assert "roc_auc" in by_cell[("thyroid", "pca", 1)]  # 42 training rows
    for r in by_cell.values():
        if "roc_auc" in r:
            assert 0 <= r["roc_auc"] <= 1 and r["seconds"] >= 0
    saved = json.loads((out / "tiny.json").read_text())
    assert saved["command"].startswith("python -m benchmarks.outliers --data-dir ")
    assert saved["summary"]["per_method"]["iforest"]["n_tables"] == 4
    assert 0 <= by_cell[("29_Pima", "iforest", 0)]["flagged_share"] <= 1
    report = (out / "tiny.md").read_text()
    assert "Command: `python -m benchmarks.outliers" in report
    assert "| 10_cover | 80 | 10 |" in report
    assert "| embeddings | 1 |" in report and "flagged by predict" in report


def test_transformer_defaults_benchmark_compares_with_pca(tmp_path):
    X = np.random.RandomState(0).normal(size=(150, 6)) @ np.random.RandomState(1).normal(
        size=(6, 6))
    row = transformer_defaults.compare(X[:100], X[100:], 2)
    assert row["ae_error"] > 0 and row["pca_error"] > 0
    assert row["ratio"] == pytest.approx(row["ae_error"] / row["pca_error"])
    report = transformer_defaults.report([{"group": "g", "table": "t", "rows": 100,
                                           "features": 6, **row}], "cmd")
    assert "| g | t | 100 | 6 | 2 |" in report and "Command: `cmd`" in report


def test_under_load_benchmark_times_quiet_and_loaded_fits(tmp_path, monkeypatch):
    from skae import AutoencoderTransformer
    monkeypatch.setattr(under_load, "ESTIMATORS", {"tiny": lambda n_jobs: AutoencoderTransformer(
        max_steps=3, random_state=0, n_jobs=n_jobs)})
    under_load.main(["--repeats", "1", "--out", str(tmp_path)])
    rows = json.loads((tmp_path / "under_load.json").read_text())["rows"]
    assert [r["n_jobs"] for r in rows] == [None, -1]
    assert all(r["ratio"] == pytest.approx(r["loaded_seconds"] / r["quiet_seconds"])
               for r in rows)


def test_inference_memory_benchmark_measures_and_reports(tmp_path, monkeypatch):
    import skae
    from benchmarks import inference_memory

    X = inference_memory.table(50, 12)
    assert X.dtype == np.float32 and X.shape == (50, 12)
    path = skae.save(AutoencoderOutlierDetector(n_estimators=2, max_steps=2, device="cpu",
                                                random_state=0).fit(X),
                     tmp_path / "model.safetensors")
    row = inference_memory.measure_one(path, "score_samples", 300, 12, repeats=1)
    assert row["input_mib"] == 300 * 12 * 4 / 2**20
    # Meaningful in a fresh process only (the benchmark's children): here the
    # test process's earlier peak may be above it.
    assert row["added_peak_per_input"] == row["added_peak_mib"] / row["input_mib"]
    assert row["seconds"] > 0
    # The report, from measurements made in child processes (not run here).
    monkeypatch.setattr(inference_memory, "measure", lambda *args: {"score_samples, x": row})
    inference_memory.main(["--rows", "300", "--out", str(tmp_path)])
    saved = json.loads((tmp_path / "inference_memory.json").read_text())
    assert saved["methods"] == {"score_samples, x": row}
    assert "| score_samples, x |" in (tmp_path / "inference_memory.md").read_text()


def test_benchmarks_write_to_an_ignored_folder_by_default():
    assert outliers.parse_args([]).out == _output.LATEST
    assert outliers.parse_args(["--out", "x"]).out.name == "x"
    gitignore = (_output.COMMITTED.parents[1] / ".gitignore").read_text().splitlines()
    assert "benchmarks/results/latest/" in gitignore


def test_loss_curves_give_each_loss_its_own_axes_and_redraw_from_json(tmp_path, monkeypatch):
    """The AE's squared error and the VAE's ELBO never share an axis; the
    table-only figures are redrawn from results.json without training."""
    import matplotlib.pyplot as plt

    from benchmarks import plots

    rows = [{"estimator": "PCA", "n_components": 2, "reconstruction_mse": 0.05},
            {"estimator": "AE", "n_components": 2, "reconstruction_mse": 0.04,
             "loss_curve": [1.0, 0.1, 0.01]},
            {"estimator": "VAE", "n_components": 2, "reconstruction_mse": 0.045,
             "loss_curve": [60.0, 40.0, 30.0]}]
    (tmp_path / "results.json").write_text(json.dumps({"datasets": [
        {"name": "toy", "n_train": 3, "n_test": 3, "n_features": 4, "code_sizes": [2],
         "rows": rows}]}))
    saved = []
    monkeypatch.setattr(plots, "_save", lambda fig, out_dir, name: saved.append(fig) or name)

    assert plots.redraw(tmp_path) == ["error_vs_code_size.png", "loss_curves.png"]
    axes = [ax for ax in saved[1].axes if ax.get_visible()]
    assert [ax.get_ylabel() for ax in axes] == [plots.LOSS_LABELS["AE"],
                                               plots.LOSS_LABELS["VAE"]]
    assert [len(ax.get_lines()) for ax in axes] == [1, 1]
    for fig in saved:
        plt.close(fig)


def test_few_labels_benchmark_end_to_end(data_dir, tmp_path):
    out = tmp_path / "few"
    results = few_labels.main(
        ["--data-dir", str(data_dir), "--datasets", "mnist", "--fractions", "0.1", "1.0",
         "--seeds", "0", "1", "--hidden", "8", "--n-components", "2", "--pretrain-epochs", "1",
         "--finetune-steps", "4", "--out", str(out), "--name", "tiny"])
    mnist = results["datasets"]["mnist"]
    assert (mnist["train_rows"], mnist["test_rows"]) == (80, 40)
    some, every = mnist["fractions"]["0.1"], mnist["fractions"]["1.0"]
    assert (some["labelled_rows"], every["labelled_rows"]) == (8, 80)
    for cell in (some, every):
        assert all(len(a) == 2 and 0 <= min(a) <= max(a) <= 1
                   for a in cell["accuracies"].values())
    # Every label: one deterministic logistic regression, reused for each seed.
    assert every["summary"]["raw pixels + logistic regression"]["std"] == 0
    report = (out / "tiny.md").read_text()
    assert "| 10% (8) |" in report and "| 100% (80) |" in report
    assert json.loads((out / "tiny.json").read_text())["config"]["seeds"] == [0, 1]


def test_images_and_sequences_benchmark_end_to_end(data_dir, tmp_path, monkeypatch):
    tiny = {"fashion_train": 60, "fashion_test": 30, "code_sizes": [2, 4], "image_epochs": 1,
            "mnist_digits": [1, 2], "mnist_normal": (20, 8), "mnist_other": (4, 8),
            "mnist_seeds": [0, 1], "ecg_epochs": 1,
            "default_max_steps": 3}
    monkeypatch.setitem(images_and_sequences.SETTINGS, "quick", tiny)
    monkeypatch.setattr(images_and_sequences, "plot_reconstructions",
                        lambda originals, reconstructions, n_components, path: path.touch())
    images_and_sequences.main(["--data-dir", str(data_dir), "--quick", "--device", "cpu",
                               "--out", str(tmp_path), "--name", "tiny"])
    results = json.loads((tmp_path / "tiny.json").read_text())
    assert results["command"].endswith("--quick --device cpu --out " f"{tmp_path} --name tiny")
    fashion = results["fashion"]
    assert [(r["n_components"], r["model"]) for r in fashion] == [
        (k, m) for k in (2, 4) for m in ("PCA", "conv AE", "dense AE", "skae defaults")]
    for k in (2, 4):
        rows = [r for r in fashion if r["n_components"] == k]
        assert [r["mse_over_pca"] for r in rows] == pytest.approx(
            [r["test_mse"] / rows[0]["test_mse"] for r in rows])
    # The article's draw: 20 + 4 training rows, 8 + 8 test rows, for each digit and seed.
    assert {(r["n_train"], r["n_test"]) for r in results["mnist"]} == {(24, 16)}
    assert len(results["mnist"]) == 2 * 2 * 3
    summary = images_and_sequences.summarize_mnist(results["mnist"])
    assert [(s["normal_digit"], s["seeds"]) for s in summary] == [(1, 2)] * 3 + [(2, 2)] * 3
    assert (tmp_path / "tiny_fashion.png").exists()
    assert "| 1 | dense detector |" in (tmp_path / "tiny.md").read_text()


def test_mnist_split_keeps_training_and_test_draws_apart(data_dir):
    settings = {"mnist_normal": (6, 3), "mnist_other": (2, 3)}
    X_train, X_test, is_normal = images_and_sequences.mnist_split(1, settings, data_dir, 0)
    assert (len(X_train), len(X_test)) == (8, 6)
    assert is_normal.tolist() == [1, 1, 1, 0, 0, 0]
    rows = {row.tobytes() for row in X_train}
    assert not rows & {row.tobytes() for row in X_test}


@pytest.mark.parametrize("freeze_steps, changed", [(0, True), (2, True), (4, False)])
def test_few_labels_freeze_steps_hold_the_encoder(freeze_steps, changed):
    import torch
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(20, 4)).astype(np.float32), np.arange(20) % 2
    encoder = torch.nn.Sequential(torch.nn.Linear(4, 2))
    before = encoder[0].weight.detach().clone()
    config = {"batch_size": 10, "finetune_steps": 4, "n_components": 2,
              "finetune_learning_rate": 0.1, "device": "cpu"}
    few_labels._network_accuracy(encoder, 2, X, y, X, y, config, 0, freeze_steps)
    # Two steps per epoch: 4 frozen steps cover the whole fit, 2 only its first epoch.
    assert (not torch.equal(encoder[0].weight, before)) == changed


@pytest.mark.parametrize("freeze_steps", ["-1", "1501"])
def test_few_labels_refuses_freeze_steps_outside_the_budget(freeze_steps, capsys):
    with pytest.raises(SystemExit):
        few_labels.main(["--freeze-steps", freeze_steps])
    assert "--freeze-steps must be between 0 and --finetune-steps (1500)" in (
        capsys.readouterr().err)


def test_gpu_check_without_cuda_says_so_and_exits_0(tmp_path, monkeypatch, capsys):
    from benchmarks import gpu_check

    monkeypatch.setattr(gpu_check.torch.cuda, "is_available", lambda: False)
    assert gpu_check.main(["--out", str(tmp_path)]) == 0
    assert "No CUDA device" in capsys.readouterr().out
    assert "nothing was checked" in (tmp_path / "gpu_check.md").read_text()
    assert json.loads((tmp_path / "gpu_check.json").read_text())["checks"] == []


def test_gpu_check_reports_every_check_and_fails_on_any_failure(tmp_path, monkeypatch):
    from benchmarks import gpu_check

    def failing():
        raise AssertionError("outputs differ")

    def skipped():
        raise gpu_check.Skipped("1 GPU: nccl needs 2")

    checks = {"passing": lambda: "fine", "failing": failing, "skipped": skipped}
    results = gpu_check.run_checks(checks)
    assert [r["status"] for r in results] == ["passed", "failed", "skipped"]
    assert "outputs differ" in results[1]["details"]
    about = {"gpus": "NVIDIA Test GPU", "cuda": "12.8", "torch": "2.13", "skae": "0.3.0",
             "python": "3.11"}
    text = gpu_check.write_report(tmp_path, about, results)
    assert "NVIDIA Test GPU" in text and "| failing | failed |" in text
    assert "AssertionError: outputs differ" in text
    saved = json.loads((tmp_path / "gpu_check.json").read_text())
    assert saved == {"machine": about, "checks": results}
    monkeypatch.setattr(gpu_check.torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(gpu_check, "machine", lambda: about)
    monkeypatch.setattr(gpu_check, "run_checks", lambda: results)
    assert gpu_check.main(["--out", str(tmp_path)]) == 1
