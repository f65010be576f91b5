"""Calibrated thresholds of the outlier detector: split-conformal
``false_alarm_rate``, ``calibration_fraction`` and ``p_values``."""

import warnings

import numpy as np
import pytest
from scipy.stats import false_discovery_control
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from skae import AutoencoderOutlierDetector
from skae._testing import CPU, dense
from skae.outlier import _between_scores, _conformal_offset, _conformal_rank

# A tiny ensemble: the guarantee holds whatever the network learned, so the
# tests need no good fit, only many of them.
FAST = {**CPU, "network": dense(4), "n_estimators": 2, "max_steps": 20, "batch_size": 128}
MIXING = np.random.RandomState(42).normal(size=(3, 6))

pytestmark = pytest.mark.usefixtures("no_convergence_warnings")


def _inliers(rng, n_samples):
    """Rows near a 3-dimensional subspace of 6 features (one distribution)."""
    return rng.normal(size=(n_samples, 3)) @ MIXING + 0.1 * rng.normal(size=(n_samples, 6))


@pytest.fixture(scope="module")
def calibrated():
    """A detector calibrated at 10 % on 500 rows held out of 1,000, and fresh inliers."""
    rng = np.random.RandomState(0)
    X = _inliers(rng, 1000)
    with warnings.catch_warnings():  # a module fixture: outside no_convergence_warnings
        warnings.simplefilter("ignore", ConvergenceWarning)
        detector = AutoencoderOutlierDetector(**FAST, false_alarm_rate=0.1,
                                              calibration_fraction=0.5).fit(X)
    return detector, X, _inliers(rng, 2000)


@pytest.fixture(scope="module")
def twenty_fits():
    """For 20 seeds: a fit at a 5 % rate on 1,000 fresh inliers (500 held
    out), and the labels and p-values of 2,000 new inliers.

    The guarantee is over everything random in a fit: the training rows, the
    calibration split, the weights and the new rows. So every seed draws
    fresh data and fits afresh.
    """
    fits = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for seed in range(20):
            rng = np.random.RandomState(seed)
            detector = AutoencoderOutlierDetector(**{**FAST, "random_state": seed},
                                                  false_alarm_rate=0.05,
                                                  calibration_fraction=0.5)
            detector.fit(_inliers(rng, 1000))
            X_new = _inliers(rng, 2000)
            fits.append((detector.predict(X_new), detector.p_values(X_new)))
    return fits


def test_false_alarm_rate_is_met_on_average_over_20_seeds(twenty_fits):
    # Expected: (501 - 476) / 501 = 4.99 %; one fit's rate scatters by about
    # 1 point, the mean of 20 by about 0.25.
    rates = [np.mean(labels == -1) for labels, _ in twenty_fits]
    assert abs(np.mean(rates) - 0.05) <= 0.01, rates
    assert max(rates) < 0.1, rates


def test_p_values_are_uniform_over_fits(twenty_fits):
    # Valid p-values: P(p <= t) is at most t, and at least t - 1/501 with
    # continuous scores, over the fits; pooled over 20 fits, the scatter of
    # the empirical distribution is about half a point.
    p = np.concatenate([p for _, p in twenty_fits])
    grid = np.linspace(0.05, 1, 20)
    ecdf = np.mean(p[:, None] <= grid, axis=0)
    np.testing.assert_allclose(ecdf, grid, atol=0.02)


def test_the_threshold_is_the_conformal_quantile_of_the_calibration_scores(calibrated):
    detector = calibrated[0]
    scores = np.sort(detector.calibration_scores_)
    assert scores.size == 500
    # k = ceil(501 * 0.9) = 451: the 451st smallest anomaly score is the
    # 50th smallest score.
    assert _conformal_rank(500, 0.1) == 451
    # The threshold lies half-way below it, above the 49th.
    assert detector.offset_ == pytest.approx((scores[48] + scores[49]) / 2, abs=0, rel=1e-15)
    assert detector.offset_ == -detector.threshold_
    assert scores[48] < detector.offset_ < scores[49]
    # At most a share alpha of the calibration rows are below the threshold.
    assert np.sum(scores < detector.offset_) <= 0.1 * 501 - 1


def test_rank_survives_rounding():
    # 20 * 0.95 is 19 in exact arithmetic: the rank must not round up to 20.
    assert _conformal_rank(19, 0.05) == 19
    assert _conformal_rank(18, 0.05) == 19  # above 18: no threshold exists
    assert _conformal_offset(np.arange(19.0), 0.05) == -0.5


@pytest.mark.parametrize("n_calibration", [19, 99, 500])
@pytest.mark.parametrize("k", [1, 2, 5])
def test_rank_is_exact_just_below_and_above_a_multiple_of_one_over_n_plus_1(
        n_calibration, k):
    # At alpha = k / (n + 1), k rows' p-values (1/(n+1) .. k/(n+1)) are at
    # most alpha; a hair below it, only k - 1 are.
    alpha = k / (n_calibration + 1)
    for below in (np.nextafter(alpha, 0), alpha - 1e-11, alpha * (1 - 1e-15)):
        assert _conformal_rank(n_calibration, below) == n_calibration + 2 - k
    for above in (alpha, np.nextafter(alpha, 1), alpha + 1e-11):
        assert _conformal_rank(n_calibration, above) == n_calibration + 1 - k


def test_a_rate_a_hair_below_one_over_n_plus_1_is_refused(calibrated):
    # With 19 calibration rows the smallest p-value is 1/20 = 0.05: a rate
    # just below it has no threshold, and fit says so.
    X = calibrated[1][:38]
    detector = AutoencoderOutlierDetector(**FAST, false_alarm_rate=0.05 - 1e-11,
                                          calibration_fraction=0.5)
    with pytest.raises(ValueError, match="needs at least 20 calibration rows"):
        detector.fit(X)
    fitted = detector.set_params(false_alarm_rate=0.05).fit(X)
    p = fitted.p_values(X)
    np.testing.assert_array_equal(fitted.predict(X) == -1, p <= 0.05)


def test_rows_on_the_rule_keep_their_label_and_p_value_in_any_batch(calibrated):
    # Before, the threshold was one calibration row's score: that row's
    # label flipped with the last-digit rounding of its score in a batch of
    # a different size, and its p-value dropped by 1 / (n + 1).
    detector, X = calibrated[:2]
    held_out = X[detector.calibration_indices_]
    on_rule = np.argsort(detector.calibration_scores_)[49]  # the row the rule picks
    in_memory = detector.predict(held_out), detector.p_values(held_out)
    for rows in (held_out[on_rule:on_rule + 1], held_out[on_rule:on_rule + 3]):
        assert detector.predict(rows)[0] == in_memory[0][on_rule] == 1
        assert detector.p_values(rows)[0] == in_memory[1][on_rule]
    # Every calibration row, alone, as among all of them.
    p_alone = [detector.p_values(held_out[i:i + 1])[0] for i in range(0, 500, 25)]
    np.testing.assert_array_equal(p_alone, in_memory[1][::25])


def test_a_score_a_rounding_away_from_a_calibration_score_gets_the_same_p_value(
        calibrated):
    detector = calibrated[0]
    scores = detector.calibration_scores_
    from skae.outlier import _conformal_p_values

    exact = _conformal_p_values(scores, scores)
    for direction in (-np.inf, np.inf):
        nudged = np.nextafter(np.nextafter(scores, direction), direction)
        np.testing.assert_array_equal(_conformal_p_values(scores, nudged), exact)
        assert np.all((nudged < detector.offset_) == (scores < detector.offset_))


def test_a_threshold_rule_value_lands_half_way_between_two_scores():
    scores = np.array([3.0, 1.0, 2.0, 2.0, 5.0])
    assert _between_scores(scores, 2.0) == 1.5  # the rule picked a score
    assert _between_scores(scores, 2.5) == 2.5  # between 2 and 3
    assert _between_scores(scores, 2.9) == 2.5
    assert _between_scores(scores, 0.0) == 0.5  # as far below 1 as 2 is above
    assert _between_scores(scores, 9.0) == 6.0
    assert _between_scores([4.0], 4.0) == 3.5


def test_calibration_rows_are_held_out_of_training(calibrated):
    detector, X, _ = calibrated
    held_out = detector.calibration_indices_
    kept = np.setdiff1d(np.arange(len(X)), held_out)
    assert held_out.size == 500 and np.all(np.diff(held_out) > 0)
    np.testing.assert_allclose(detector.calibration_scores_,
                               detector.score_samples(X[held_out]))
    # Min-max scaling was fitted on the kept rows only.
    np.testing.assert_array_equal(detector.input_offset_, X[kept].min(axis=0))
    np.testing.assert_allclose(detector.input_offset_ + detector.input_scale_,
                               X[kept].max(axis=0))


def test_p_values_are_spread_on_inliers_and_smallest_on_outliers(calibrated):
    detector, _, X_new = calibrated
    p = detector.p_values(X_new)
    assert p.dtype == np.float64 and p.min() >= 1 / 501 and p.max() <= 1
    # One fit's p-values are uniform only up to its calibration draw (a
    # Kolmogorov distance of about 0.06 for 500 rows is usual).
    grid = np.linspace(0.05, 1, 20)
    ecdf = np.mean(p[:, None] <= grid, axis=0)
    assert np.max(np.abs(ecdf - grid)) < 0.1, ecdf
    outliers = X_new[:20] + 8 * np.sign(np.random.RandomState(1).normal(size=(20, 6)))
    np.testing.assert_array_equal(detector.p_values(outliers), 1 / 501)


def test_predict_flags_exactly_the_p_values_at_most_the_rate(calibrated):
    detector, _, X_new = calibrated
    labels = detector.predict(X_new)
    np.testing.assert_array_equal(labels, np.where(detector.p_values(X_new) <= 0.1, -1, 1))
    decision = detector.decision_function(X_new)
    np.testing.assert_allclose(decision, detector.score_samples(X_new) - detector.offset_)
    np.testing.assert_array_equal(labels, np.where(decision < 0, -1, 1))


def test_benjamini_hochberg_on_p_values_finds_clear_outliers(calibrated):
    detector, _, X_new = calibrated
    outliers = X_new[:30] + 8
    X = np.vstack([X_new[30:530], outliers])
    flagged = false_discovery_control(detector.p_values(X)) <= 0.1
    assert flagged[-30:].all()
    assert flagged[:-30].sum() <= 0.1 * flagged.sum() + 3


def test_false_alarm_rate_moves_only_the_threshold(calibrated):
    detector, X, X_new = calibrated
    stricter = AutoencoderOutlierDetector(**FAST, false_alarm_rate=0.02,
                                          calibration_fraction=0.5).fit(X)
    np.testing.assert_array_equal(stricter.calibration_scores_, detector.calibration_scores_)
    assert stricter.offset_ < detector.offset_
    assert np.mean(stricter.predict(X_new) == -1) < np.mean(detector.predict(X_new) == -1)


def test_calibration_fraction_sets_the_held_out_share():
    X = _inliers(np.random.RandomState(0), 101)
    detector = AutoencoderOutlierDetector(**FAST, false_alarm_rate=0.2,
                                          calibration_fraction=0.25).fit(X)
    assert detector.calibration_indices_.size == 26  # ceil(25.25)
    detector.set_params(calibration_fraction=0.6).fit(X)
    assert detector.calibration_indices_.size == detector.calibration_scores_.size == 61


def test_without_false_alarm_rate_nothing_is_held_out():
    X = _inliers(np.random.RandomState(0), 60)
    detector = AutoencoderOutlierDetector(**FAST, false_alarm_rate=0.2).fit(X)
    detector.set_params(false_alarm_rate=None).fit(X)
    assert not hasattr(detector, "calibration_scores_")
    assert not hasattr(detector, "calibration_indices_")
    np.testing.assert_array_equal(detector.input_offset_, X.min(axis=0))
    with pytest.raises(AttributeError, match="p_values") as raised:
        detector.p_values(X)
    assert "set false_alarm_rate" in str(raised.value.__cause__)


def test_p_values_before_fit_raise_not_fitted():
    with pytest.raises(NotFittedError, match="no calibration scores"):
        AutoencoderOutlierDetector(false_alarm_rate=0.1).p_values(np.ones((2, 3)))


@pytest.mark.parametrize("params, n_samples, match", [
    ({"contamination": 0.1, "false_alarm_rate": 0.05}, 100, "two rules for the same"),
    ({"false_alarm_rate": 0.05, "calibration_fraction": 0.2}, 90, "at least 19 calibration"),
    ({"false_alarm_rate": 0.5, "calibration_fraction": 0.5}, 1, "n_samples = 1"),
])
def test_bad_combinations_raise_and_leave_the_detector_as_it_was(params, n_samples, match):
    X = _inliers(np.random.RandomState(0), 100)
    detector = AutoencoderOutlierDetector(**FAST).fit(X)
    before = {name: value for name, value in vars(detector).items() if name.endswith("_")}
    with pytest.raises(ValueError, match=match):
        detector.set_params(**params).fit(X[:n_samples])
    assert {name for name in vars(detector) if name.endswith("_")} == set(before)
    assert detector.offset_ == before["offset_"]


@pytest.mark.parametrize("name, value", [("false_alarm_rate", 0.0), ("false_alarm_rate", 1.0),
                                         ("calibration_fraction", 1.0)])
def test_out_of_range_values_are_rejected(name, value):
    with pytest.raises(ValueError, match=name):
        AutoencoderOutlierDetector(**FAST, **{name: value}).fit(np.ones((30, 2)))


def test_a_row_on_a_contamination_percentile_keeps_its_label_alone():
    # With 401 rows the 25th percentile is the 101st smallest score itself:
    # the threshold used to be that row's score.
    X = _inliers(np.random.RandomState(3), 401)
    detector = AutoencoderOutlierDetector(**FAST, contamination=0.25).fit(X)
    scores = detector.score_samples(X)
    on_rule = np.argsort(scores)[100]
    assert np.sort(scores)[99] < detector.offset_ < scores[on_rule]
    labels = detector.predict(X)
    assert (labels == -1).sum() == 100
    for rows in (X[on_rule:on_rule + 1], X[on_rule:on_rule + 2], X[on_rule:on_rule + 5]):
        assert detector.predict(rows)[0] == labels[on_rule] == 1
        assert detector.decision_function(rows)[0] > 0
