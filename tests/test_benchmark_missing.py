"""The missing-values benchmark, end to end on a table made here."""

import json

import numpy as np

from benchmarks import missing


def test_gaps_follow_their_condition():
    X = np.random.RandomState(0).normal(size=(400, 5))
    mcar = missing.with_gaps(X, "mcar30", seed=0)
    assert 0.27 < np.isnan(mcar).mean() < 0.33
    mnar = missing.with_gaps(X, "mnar", seed=0)
    gaps = np.isnan(mnar)
    assert np.all(X[gaps] > np.percentile(X, 90, axis=0)[np.nonzero(gaps)[1]])
    assert not np.isnan(missing.with_gaps(X[:, :1], "mcar50", seed=0)).all(axis=1).any()
    assert not np.isnan(X).any()  # the input is copied


def test_quick_run_writes_markdown_and_json(tmp_path):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(150, 2)) @ rng.normal(size=(2, 5))
    y = np.zeros(len(X), dtype=np.int64)
    X[:15] += 4 * rng.normal(size=(15, 5))
    y[:15] = 1
    results = missing.main(["--quick", "--out", str(tmp_path)], tables={"toy": (X, y)})
    saved = json.loads((tmp_path / "missing.json").read_text())
    assert saved["command"] == "python -m benchmarks.missing --quick --out " + str(tmp_path)
    tasks = {(run["task"], run["method"]) for run in results["runs"]}
    assert len(tasks) == len(missing.DETECTORS) + len(missing.IMPUTERS)
    rmse = saved["summary"]["imputation_rmse"]["mcar30"]
    assert set(rmse) == set(missing.IMPUTERS)
    assert all(np.isfinite(value) and value > 0 for value in rmse.values())
    auc = saved["summary"]["detection_roc_auc"]["mcar30"]
    assert all(0 <= value <= 1 for value in auc.values())
    report = (tmp_path / "missing.md").read_text()
    assert "Command: `python -m benchmarks.missing --quick" in report
    assert "| mcar30 |" in report


def test_mixed_quick_run_on_a_frame_with_categories_and_gaps(tmp_path):
    import pandas as pd
    rng = np.random.RandomState(0)
    n_rows = 120
    frame = pd.DataFrame({"amount": rng.normal(size=n_rows),
                          "age": rng.normal(size=n_rows),
                          "channel": rng.choice(["web", "shop", "phone"], n_rows)})
    frame.loc[rng.rand(n_rows) < 0.1, "amount"] = np.nan
    frame.loc[rng.rand(n_rows) < 0.1, "channel"] = np.nan
    y = np.zeros(n_rows, dtype=np.int64)
    y[:12] = 1
    frame.loc[:11, "age"] += 5
    results = missing.main(["--mixed", "--quick", "--out", str(tmp_path)],
                           tables={"toy": (frame, y)})
    assert {run["method"] for run in results["runs"]} == set(missing.MIXED_METHODS)
    saved = json.loads((tmp_path / "missing_mixed.json").read_text())
    assert saved["tables"]["toy"]["n_missing"] == int(frame.isna().to_numpy().sum())
    assert set(saved["summary"]["roc_auc"]) == set(missing.MIXED_METHODS)
    assert "| toy |" in (tmp_path / "missing_mixed.md").read_text()
