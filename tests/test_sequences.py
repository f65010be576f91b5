"""SequenceOutlierDetector, the range metrics and the sequence benchmark, on tiny series."""

import json
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.ensemble import IsolationForest
from sklearn.neighbors import LocalOutlierFactor

from benchmarks import sequences as sequence_benchmark
from skae import AutoencoderOutlierDetector, SequenceOutlierDetector
from skae._testing import CPU, dense
from skae.metrics import range_precision_recall, vus_pr
from skae.sequences import dominant_period

PERIOD = 25


def sine(n=600, period=PERIOD, noise=0.05, seed=0):
    """A noisy sine with a flat stretch (the anomaly) at steps 450-474."""
    rng = np.random.RandomState(seed)
    series = np.sin(2 * np.pi * np.arange(n) / period) + noise * rng.normal(size=n)
    series[450:475] = 0.0
    return series


def lof():
    """A fast, deterministic window detector."""
    return LocalOutlierFactor(n_neighbors=10, novelty=True)


def tiny_autoencoder(**params):
    return AutoencoderOutlierDetector(**{**CPU, "network": dense(8), "n_estimators": 2,
                                         "max_steps": 30, "batch_size": 32, **params})


# --- windows, per-step scores, predictions ---------------------------------


def test_one_score_per_step_and_the_anomaly_scores_lowest():
    series = sine()
    detector = SequenceOutlierDetector(lof()).fit(series[:400])
    scores = detector.score_samples(series)
    assert detector.window_ == PERIOD
    assert scores.shape == (600,) and scores.dtype == np.float64
    assert 440 <= np.argmin(scores) < 485
    labels = detector.predict(series)
    assert set(np.unique(labels)) == {-1, 1}
    assert (labels[450:475] == -1).any()
    np.testing.assert_allclose(detector.decision_function(series), scores - detector.offset_)


def test_step_score_is_the_mean_of_the_windows_covering_it():
    series = sine(n=200)
    detector = SequenceOutlierDetector(lof(), window=4).fit(series)
    window_scores = detector.window_scores(series)
    assert window_scores.shape == (197,)
    steps = detector.score_samples(series)
    assert steps[0] == pytest.approx(window_scores[0])
    assert steps[2] == pytest.approx(window_scores[:3].mean())
    assert steps[10] == pytest.approx(window_scores[7:11].mean())
    assert steps[-1] == pytest.approx(window_scores[-1])


@pytest.mark.usefixtures("no_convergence_warnings")
def test_default_detector_is_the_autoencoder_seeded_by_random_state():
    series = sine(n=300)
    first = SequenceOutlierDetector(window=10, random_state=0).fit(series)
    assert isinstance(first.detector_, AutoencoderOutlierDetector)
    assert first.detector_.random_state == 0


def test_multivariate_series_and_dataframe_with_a_regular_time_index():
    series = np.column_stack([sine(), np.cos(2 * np.pi * np.arange(600) / PERIOD)])
    index = pd.date_range("2024-01-01", periods=600, freq="5min")
    frame = pd.DataFrame(series, index=index, columns=["a", "b"])
    from_frame = SequenceOutlierDetector(lof()).fit(frame)
    from_array = SequenceOutlierDetector(lof()).fit(series)
    assert from_frame.window_ == PERIOD and list(from_frame.feature_names_in_) == ["a", "b"]
    np.testing.assert_allclose(from_frame.score_samples(frame), from_array.score_samples(series))
    univariate = pd.Series(sine(), index=index, name="requests")
    detector = SequenceOutlierDetector(lof()).fit(univariate)
    assert detector.score_samples(univariate).shape == (600,)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a streamed value needs no column name
        detector.score_stream([0.5])


# --- window='auto' -----------------------------------------------------------


def test_auto_window_is_the_dominant_period_within_bounds():
    assert dominant_period(sine(period=40)[:, None]) == 40
    assert dominant_period(np.ones((500, 1))) is None
    noise = np.random.RandomState(0).normal(size=(2000, 1))
    detector = SequenceOutlierDetector(lof()).fit(noise)
    period = dominant_period(noise)
    assert detector.window_ == (125 if period is None else period)
    # A short series bounds the window to a quarter of its length.
    assert SequenceOutlierDetector(lof()).fit(sine(n=60, period=40)).window_ == 15
    assert SequenceOutlierDetector(lof(), window=7).fit(sine()).window_ == 7


# --- z-normalisation -----------------------------------------------------------


def test_normalize_ignores_level_shifts_and_raw_windows_do_not():
    series = sine()
    shifted = series + 5.0
    normalised = SequenceOutlierDetector(lof(), normalize=True).fit(series)
    np.testing.assert_allclose(normalised.score_samples(shifted),
                               normalised.score_samples(series), atol=1e-9)
    raw = SequenceOutlierDetector(lof()).fit(series)
    assert raw.score_samples(shifted).mean() < raw.score_samples(series).mean() - 1


def test_constant_stretches_give_finite_scores():
    series = sine()
    series[100:300] = 2.0
    for normalize in (True, False):
        detector = SequenceOutlierDetector(lof(), normalize=normalize).fit(series)
        assert np.isfinite(detector.score_samples(series)).all()


# --- bad input -----------------------------------------------------------------


def test_nan_gap_is_a_clear_error_and_input_is_left_alone():
    series = sine()
    series[100:103] = np.nan
    before = series.copy()
    with pytest.raises(ValueError, match=r"NaN or inf at 3 time steps \(the first at step 100\)"):
        SequenceOutlierDetector(lof()).fit(series)
    detector = SequenceOutlierDetector(lof()).fit(sine())
    with pytest.raises(ValueError, match="interpolate"):
        detector.score_samples(series)
    np.testing.assert_array_equal(series, before)


def test_irregular_or_unsorted_timestamps_are_refused():
    index = pd.date_range("2024-01-01", periods=600, freq="5min")
    irregular = index.delete(300).append(pd.DatetimeIndex(["2024-02-01"]))
    with pytest.raises(ValueError, match="irregular.*resample"):
        SequenceOutlierDetector(lof()).fit(pd.Series(sine(), index=irregular))
    with pytest.raises(ValueError, match="not strictly increasing"):
        SequenceOutlierDetector(lof()).fit(pd.Series(sine(), index=index[::-1]))
    # The values alone are read as consecutive steps.
    SequenceOutlierDetector(lof()).fit(pd.Series(sine(), index=irregular).to_numpy())


def test_series_shorter_than_the_window_is_refused_and_fit_keeps_the_old_model():
    detector = SequenceOutlierDetector(lof(), window=50)
    with pytest.raises(ValueError, match="30 time steps.*fewer than the window of 50"):
        detector.fit(sine(n=30))
    assert not hasattr(detector, "detector_")
    detector.fit(sine())
    fitted = detector.detector_
    with pytest.raises(ValueError, match="fewer than the window"):
        detector.fit(sine(n=30))
    assert detector.detector_ is fitted
    with pytest.raises(ValueError, match="fewer than the window"):
        detector.score_samples(sine(n=30))


# --- threshold -----------------------------------------------------------------


def test_contamination_sets_the_share_of_flagged_training_steps():
    series = sine()
    detector = SequenceOutlierDetector(lof(), contamination=0.1).fit(series)
    assert np.mean(detector.predict(series) == -1) == pytest.approx(0.1, abs=0.01)
    auto = SequenceOutlierDetector(lof()).fit(series)
    scores = auto.score_samples(series)
    assert auto.offset_ == pytest.approx(scores.mean() - 3 * scores.std())
    assert np.mean(auto.predict(series) == -1) < 0.1


# --- streaming -----------------------------------------------------------------


def test_score_stream_scores_each_new_point_by_the_window_ending_at_it():
    series = sine()
    batch = SequenceOutlierDetector(lof()).fit(series[:400])
    expected = batch.window_scores(series)[400 - PERIOD + 1:]
    chunked = clone(batch).fit(series[:400])
    np.testing.assert_allclose(chunked.score_stream(series[400:]), expected)
    np.testing.assert_array_equal(chunked.context_, series[-PERIOD + 1:, None])
    one_by_one = clone(batch).fit(series[:400])
    points = np.concatenate([one_by_one.score_stream([value]) for value in series[400:]])
    np.testing.assert_allclose(points, expected)


@pytest.mark.usefixtures("no_convergence_warnings")
def test_partial_fit_keeps_training_the_window_detector():
    series = sine(n=900)
    detector = SequenceOutlierDetector(tiny_autoencoder(), window=PERIOD)
    detector.partial_fit(series[:300])
    before = detector.score_samples(series)
    first_offset = detector.offset_
    detector.partial_fit(series[300:600])
    assert detector.window_ == PERIOD
    assert detector.detector_.n_iter_ == 2
    assert not np.allclose(detector.score_samples(series), before)
    assert detector.offset_ != first_offset
    np.testing.assert_array_equal(detector.context_, series[600 - PERIOD + 1:600, None])
    with pytest.raises(TypeError, match="needs a detector with partial_fit"):
        SequenceOutlierDetector(IsolationForest()).partial_fit(series)


def test_pickle_round_trip_keeps_scores_and_stream_context():
    series = sine()
    detector = SequenceOutlierDetector(lof()).fit(series[:400])
    restored = pickle.loads(pickle.dumps(detector))
    np.testing.assert_allclose(restored.score_samples(series), detector.score_samples(series))
    np.testing.assert_allclose(restored.score_stream(series[400:410]),
                               detector.score_stream(series[400:410]))


# --- metrics ---------------------------------------------------------------------


def test_range_precision_recall_by_hand():
    y_true = [0, 1, 1, 1, 1, 0, 0, 0, 1, 1]
    # Flags: half of the first range (one flagged range there), one false alarm.
    y_pred = [0, 0, 1, 1, 0, 0, 1, 0, 0, 0]
    precision, recall = range_precision_recall(y_true, y_pred)
    # Recall: range 1: 0.2 * 1 + 0.8 * 0.5; range 2: 0. Precision: (1 + 0) / 2.
    assert recall == pytest.approx((0.2 + 0.8 * 0.5 + 0) / 2)
    assert precision == pytest.approx(0.5)
    # Two flagged ranges in one anomaly share its overlap reward (cardinality).
    precision, recall = range_precision_recall([1, 1, 1, 1], [1, 0, 0, 1], alpha=0.0)
    assert recall == pytest.approx(0.5 / 2) and precision == pytest.approx(1.0)
    assert range_precision_recall([0, 1], [0, 0]) == (0.0, 0.0)
    with pytest.raises(ValueError, match="no anomalous step"):
        range_precision_recall([0, 0], [0, 1])
    with pytest.raises(ValueError, match="0 and 1"):
        range_precision_recall([0, 2], [0, 1])


def test_vus_pr_by_hand():
    y_true = np.array([0, 0, 1, 1, 0, 0, 0, 0])
    perfect = y_true.astype(float)
    assert vus_pr(y_true, perfect, max_buffer=0) == pytest.approx(1.0)
    # Buffer 0 is plain range AP: scores ranking one false alarm first.
    scores = np.array([0, 0, 0.8, 0.7, 0, 0, 0.9, 0])
    # Thresholds (250 ranks) reach 0.9 (P=0, R=0), 0.8 (P=1/2, R=1/2) and
    # 0.7 (P=2/3, R=1), then everything (R=1): AP = 0.5 * 0.5 + 0.5 * 2/3.
    assert vus_pr(y_true, scores, max_buffer=0) == pytest.approx(0.5 * 0.5 + 0.5 * 2 / 3)
    # A buffer credits a flag just outside the range.
    near = np.array([0, 1.0, 0, 0, 0, 0, 0, 0])
    assert vus_pr(y_true, near, max_buffer=4) > vus_pr(y_true, near, max_buffer=0)
    with pytest.raises(ValueError, match="no anomalous step"):
        vus_pr(np.zeros(8, int), scores)


def test_metrics_match_tsb_ad():
    basic_metrics = pytest.importorskip("TSB_AD.evaluation.basic_metrics")
    rng = np.random.RandomState(0)
    y_true = np.zeros(500, dtype=int)
    y_true[100:107] = y_true[250:270] = y_true[-5:] = 1
    scores = rng.uniform(size=500) + y_true * rng.uniform(size=500)
    reference = basic_metrics.generate_curve(y_true, scores, 20, "opt", 250)[-1]
    assert vus_pr(y_true, scores, max_buffer=20) == pytest.approx(reference)
    flags = (scores > 0.8).astype(int)
    grader = basic_metrics.basic_metricor()
    assert range_precision_recall(y_true, flags) == pytest.approx(
        (grader.range_recall_new(flags, y_true, 0)[0],
         grader.range_recall_new(y_true, flags, 0.2)[0]))


# --- the benchmark ---------------------------------------------------------------


def _fake_data_dir(root):
    rng = np.random.RandomState(0)
    windows = {}
    for category, name in (("realTraffic", "speed_1"), ("realTweets", "volume_2")):
        (root / "nab" / category).mkdir(parents=True)
        stamps = pd.date_range("2024-01-01", periods=800, freq="5min")
        values = sine(n=800, seed=len(name)) + 0.1 * rng.normal(size=800)
        pd.DataFrame({"timestamp": stamps, "value": values}).to_csv(
            root / "nab" / category / f"{name}.csv", index=False)
        windows[f"{category}/{name}.csv"] = [[str(stamps[450]), str(stamps[474])]]
    windows["realTraffic/unlabelled.csv"] = []
    (root / "nab" / "labels").mkdir()
    (root / "nab" / "labels" / "combined_windows.json").write_text(json.dumps(windows))
    (root / "ecg5000").mkdir()
    beats = np.column_stack([np.sin(np.linspace(0, 6, 140))[None, :].repeat(40, 0)
                             + 0.05 * rng.normal(size=(40, 140)), np.arange(40) % 5 > 0])
    np.savetxt(root / "ecg5000" / "ecg.csv", beats, delimiter=",")
    return root


def test_sequence_benchmark_end_to_end(tmp_path):
    data_dir = _fake_data_dir(tmp_path / "data")
    out = tmp_path / "out"
    results = sequence_benchmark.main([
        "--quick", "--data-dir", str(data_dir), "--out", str(out), "--ecg-beats", "0",
        "--methods", "skae_sequence", "iforest", "pca"])
    assert {run["series"] for run in results["runs"]} == {"speed_1", "volume_2"}
    nab = results["summary"]["per_method"]["skae_sequence"]["NAB"]
    assert nab["n_series"] == 2 and 0 <= nab["vus_pr"] <= 1 and 0 <= nab["roc_auc"] <= 1
    assert results["streaming"]["median_seconds_per_point"] > 0
    report = (out / "sequences.md").read_text()
    assert "| NAB | iforest | 2 |" in report and "score_stream" in report
    assert json.loads((out / "sequences.json").read_text())["command"].startswith("python -m")


def test_ecg5000_is_read_as_a_stream_of_beats(tmp_path):
    data_dir = _fake_data_dir(tmp_path / "data")
    series = sequence_benchmark.load_series(data_dir, dev=False, ecg_beats=30)
    category, _, values, labels, window = series[-1]
    assert (category, window, len(values)) == ("ecg5000", 140, 30 * 140)
    np.testing.assert_array_equal(labels[:140 * 6:140], [1, 0, 0, 0, 0, 1])
    dev = sequence_benchmark.load_series(data_dir, dev=True, ecg_beats=30)
    # The fake anomalies lie after the first 40 %: no series has a labelled dev step.
    assert dev == []


def test_benchmark_ranks_infinite_window_scores_most_abnormal():
    scores, n_bad = sequence_benchmark._ranked_finite([0.5, -np.inf, np.nan, -2.0])
    np.testing.assert_array_equal(scores, [0.5, -3.0, -3.0, -2.0])
    assert n_bad == 2
