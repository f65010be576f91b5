"""The Display objects: what they draw (data, labels, artists), on the Agg backend."""

import sys
import warnings

import matplotlib
import numpy as np
import pytest
from sklearn.ensemble import IsolationForest
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LinearRegression

from skae import (
    AutoencoderOutlierDetector,
    AutoencoderTransformer,
    FeatureErrorDisplay,
    LossCurveDisplay,
    ScoreHistogramDisplay,
    VAETransformer,
)
from skae._testing import CPU, dense

matplotlib.use("Agg")
import matplotlib.pyplot as plt

FAST = {**CPU, "network": dense(4), "max_steps": 30, "batch_size": 32}

pytestmark = pytest.mark.usefixtures("no_convergence_warnings")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def X():
    rng = np.random.RandomState(0)
    return rng.normal(size=(120, 2)) @ rng.normal(size=(2, 5))


@pytest.fixture(scope="module")
def fitted(X):
    """A transformer with early stopping, a VAE and a detector, fitted on ``X``."""
    with warnings.catch_warnings():  # a module fixture: outside no_convergence_warnings
        warnings.simplefilter("ignore", ConvergenceWarning)
        return {
            "ae": AutoencoderTransformer(**FAST, n_components=2, early_stopping=True).fit(X),
            "vae": VAETransformer(**FAST, n_components=2).fit(X),
            "detector": AutoencoderOutlierDetector(**FAST, n_estimators=2).fit(X),
        }


def _legend(ax):
    """The legend's entries, as written before they were wrapped to fit."""
    return [text.get_text().replace("\n", " ") for text in ax.get_legend().get_texts()]


# ------------------------------------------------------------ loss curves
def test_loss_curve_draws_the_training_and_validation_losses(fitted):
    ae = fitted["ae"]
    display = LossCurveDisplay.from_estimator(ae)
    np.testing.assert_array_equal(display.line_.get_xdata(), np.arange(1, ae.n_iter_ + 1))
    np.testing.assert_allclose(display.line_.get_ydata(), ae.loss_curve_)
    np.testing.assert_allclose(display.validation_line_.get_ydata(),
                               -np.asarray(ae.validation_scores_))
    assert display.validation_line_.get_color() == display.line_.get_color()
    assert display.ax_.get_ylabel() == "mean squared error per entry (scaled inputs)"
    assert display.ax_.get_xlabel() == "epoch"
    assert _legend(display.ax_) == ["AutoencoderTransformer: training",
                                    "AutoencoderTransformer: validation"]
    assert display.figure_ is display.ax_.figure


def test_loss_curve_names_each_loss(fitted, X):
    vae = LossCurveDisplay.from_estimator(fitted["vae"])
    assert vae.ax_.get_ylabel() == "negative ELBO (nats per row)"
    heavier = VAETransformer(**FAST, n_components=2, beta=4.0, kl_warmup_epochs=2)
    label = LossCurveDisplay.from_estimator(heavier.fit(X)).ax_.get_ylabel()
    assert label == "reconstruction NLL + 4 x KL (nats per row, KL warm-up 2 epochs)"
    no_split = VAETransformer(**FAST, n_components=2, early_stopping=False).fit(X)
    no_split = LossCurveDisplay.from_estimator(no_split)
    assert no_split.validation_line_ is None and len(no_split.ax_.get_lines()) == 1
    detector = LossCurveDisplay.from_estimator(fitted["detector"], name="AE ensemble")
    assert "absolute error" in detector.ax_.get_ylabel()
    # Its training loss is trimmed; a validation loss would not be.
    assert _legend(detector.ax_) == ["AE ensemble: training (worst 20% of each batch left out)"]


def test_loss_curve_names_penalties_and_corruption(X):
    ae = AutoencoderTransformer(**FAST, n_components=2, activity_l1=0.1, noise_std=0.1,
                                early_stopping=False).fit(X)
    display = LossCurveDisplay.from_estimator(ae)
    assert display.ax_.get_ylabel().endswith("+ L1 activity penalty")
    assert _legend(display.ax_) == ["AutoencoderTransformer: training (corrupted inputs)"]


def test_loss_curves_share_axes_only_when_they_are_the_same_loss(fitted, X):
    _, ax = plt.subplots()
    first = LossCurveDisplay.from_estimator(fitted["ae"], ax=ax, name="a")
    other = AutoencoderTransformer(**{**FAST, "random_state": 1}, n_components=2).fit(X)
    second = LossCurveDisplay.from_estimator(other, ax=ax, name="b")
    assert first.ax_ is second.ax_ is ax
    # Training and validation curves of each.
    assert len(ax.get_lines()) == 2 + hasattr(fitted["ae"], "validation_scores_") + 1
    with pytest.raises(ValueError, match="not comparable"):
        LossCurveDisplay.from_estimator(fitted["vae"], ax=ax)


def test_loss_curve_needs_a_fitted_skae_estimator():
    with pytest.raises(NotFittedError):
        LossCurveDisplay.from_estimator(AutoencoderTransformer())
    with pytest.raises(TypeError, match="needs a skae estimator.*got LinearRegression"):
        LossCurveDisplay.from_estimator(LinearRegression())


def test_loss_curve_display_plots_given_curves_with_plot_kwargs():
    display = LossCurveDisplay([3.0, 2.0, 1.5], loss_name="my loss").plot(color="red")
    assert display.line_.get_color() == "red"
    assert display.ax_.get_ylabel() == "my loss"
    assert _legend(display.ax_) == ["training"]


# ------------------------------------------------------- score histograms
@pytest.fixture(scope="module")
def labelled(X):
    X_test = np.vstack([X[:50], X[:8] + 6])
    return X_test, np.r_[np.ones(50, int), -np.ones(8, int)]


def _counts(bars):
    return np.array([patch.get_height() for patch in bars])


def test_score_histogram_splits_inliers_and_outliers(fitted, labelled):
    detector = fitted["detector"]
    X_test, y = labelled
    display = ScoreHistogramDisplay.from_estimator(detector, X_test, y, bins=12)
    inliers, outliers = (_counts(bars) for bars in display.bars_)
    assert inliers.sum() == 50 and outliers.sum() == 8
    assert len(display.bin_edges_) == 13 and len(inliers) == 12
    scores = detector.score_samples(X_test)
    np.testing.assert_array_equal(outliers, np.histogram(scores[y == -1],
                                                         display.bin_edges_)[0])
    assert display.threshold_line_.get_xdata()[0] == detector.offset_
    assert display.ax_.get_xlabel() == "score_samples (lower is more abnormal)"
    assert display.ax_.get_title() == "AutoencoderOutlierDetector"
    assert _legend(display.ax_)[:2] == ["inliers (y=+1, n=50)", "outliers (y=-1, n=8)"]


def test_score_histogram_of_decision_function_cuts_at_zero(fitted, labelled):
    detector = fitted["detector"]
    X_test, _ = labelled
    display = ScoreHistogramDisplay.from_estimator(detector, X_test,
                                                   response_method="decision_function")
    assert display.threshold_line_.get_xdata()[0] == 0.0
    (bars,) = display.bars_
    assert _counts(bars).sum() == len(X_test)
    decision = detector.decision_function(X_test)
    assert display.bin_edges_[0] == decision.min()
    assert display.ax_.get_xlabel().startswith("decision_function")


def test_score_histogram_reuses_axes(fitted, labelled):
    _, ax = plt.subplots()
    display = ScoreHistogramDisplay.from_estimator(fitted["detector"], labelled[0], ax=ax)
    assert display.ax_ is ax and len(ax.patches) == 30


@pytest.mark.parametrize("y, match", [(np.r_[np.zeros(50), np.ones(8)], r"\+1 for inliers"),
                                      (np.ones(10), "10 labels")])
def test_score_histogram_rejects_bad_labels(fitted, labelled, y, match):
    with pytest.raises(ValueError, match=match):
        ScoreHistogramDisplay.from_estimator(fitted["detector"], labelled[0], y)


def test_score_histogram_needs_a_fitted_detector_and_a_known_response(fitted, X):
    with pytest.raises(NotFittedError):
        ScoreHistogramDisplay.from_estimator(AutoencoderOutlierDetector(), np.ones((3, 2)))
    with pytest.raises(TypeError, match="needs an outlier detector"):
        ScoreHistogramDisplay.from_estimator(fitted["ae"], X)
    with pytest.raises(ValueError, match="response_method"):
        ScoreHistogramDisplay.from_estimator(AutoencoderOutlierDetector(), np.ones((3, 2)),
                                             response_method="predict")


# ---------------------------------------------------------- feature errors
def test_feature_errors_are_drawn_largest_first(fitted, X):
    import pandas as pd
    frame = pd.DataFrame(X, columns=list("abcde"))
    detector = AutoencoderOutlierDetector(**FAST, n_estimators=2).fit(frame)
    row = frame.iloc[[3]]
    errors = detector.feature_errors(row)[0]
    display = FeatureErrorDisplay.from_estimator(detector, row)
    widths = [bar.get_width() for bar in display.bars_]
    np.testing.assert_allclose(widths[::-1], np.sort(errors)[::-1])
    labels = [label.get_text() for label in display.ax_.get_yticklabels()]
    assert labels[::-1] == [frame.columns[i] for i in np.argsort(-errors)]
    top = FeatureErrorDisplay.from_estimator(detector, row, max_features=2)
    assert len(top.bars_) == 2
    np.testing.assert_allclose(sorted(bar.get_width() for bar in top.bars_),
                               np.sort(errors)[-2:])


def test_feature_errors_name_unnamed_columns_and_need_one_row(fitted, X):
    display = FeatureErrorDisplay.from_estimator(fitted["detector"], X[:1])
    assert {label.get_text() for label in display.ax_.get_yticklabels()} == {
        "x0", "x1", "x2", "x3", "x4"}
    with pytest.raises(ValueError, match="one row"):
        FeatureErrorDisplay.from_estimator(fitted["detector"], X[:2])
    for bad in (0, "3", 2.5, True):
        with pytest.raises(ValueError, match="max_features must be None or a positive int"):
            FeatureErrorDisplay.from_estimator(fitted["detector"], X[:1], max_features=bad)
    with pytest.raises(NotFittedError):
        FeatureErrorDisplay.from_estimator(AutoencoderOutlierDetector(), X[:1])


def test_feature_errors_draw_at_most_twenty_features_by_default():
    rng = np.random.RandomState(0)
    errors = rng.uniform(size=30)
    display = FeatureErrorDisplay(errors, [f"f{i}" for i in range(30)]).plot()
    assert len(display.bars_) == 20
    np.testing.assert_allclose(sorted(bar.get_width() for bar in display.bars_),
                               np.sort(errors)[-20:])
    assert display.ax_.get_title() == "largest errors (20 of 30 features)"
    assert len(FeatureErrorDisplay(errors, list(range(30))).plot(max_features=None).bars_) == 30


def test_feature_errors_from_predictions_are_squared_errors_in_data_units():
    import pandas as pd
    row = pd.DataFrame([[1.0, 5.0, -2.0]], columns=["a", "b", "c"])
    display = FeatureErrorDisplay.from_predictions(row, [[1.5, 2.0, -2.0]], name="PCA")
    labels = [label.get_text() for label in display.ax_.get_yticklabels()]
    assert labels == ["c", "a", "b"]  # drawn from the bottom: largest on top
    assert [bar.get_width() for bar in display.bars_] == [0.0, 0.25, 9.0]
    assert display.ax_.get_xlabel().startswith("squared error")
    assert display.ax_.get_title() == "PCA"
    with pytest.raises(ValueError, match="X_reconstructed has shape"):
        FeatureErrorDisplay.from_predictions(row, [[1.0, 2.0]])
    with pytest.raises(ValueError, match="one row"):
        FeatureErrorDisplay.from_predictions(np.ones((2, 3)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="feature_names has 2 names for 3"):
        FeatureErrorDisplay.from_predictions([1.0, 2.0, 3.0], [0.0, 0.0, 0.0],
                                             feature_names=["a", "b"])


def test_score_histogram_from_scores_needs_no_estimator():
    scores = np.r_[np.zeros(40), -np.ones(5) * 3]
    y = np.r_[np.ones(40, int), -np.ones(5, int)]
    display = ScoreHistogramDisplay.from_scores(scores, -1.0, y=y, bins=5, name="saved run")
    assert [int(_counts(bars).sum()) for bars in display.bars_] == [40, 5]
    assert display.threshold_line_.get_xdata()[0] == -1.0
    assert display.ax_.get_xlabel() == "score" and display.ax_.get_title() == "saved run"
    with pytest.raises(ValueError, match="3 labels but X has 45 rows"):
        ScoreHistogramDisplay.from_scores(scores, 0.0, y=[1, 1, -1])


@pytest.mark.parametrize("display, estimator", [
    (FeatureErrorDisplay, "transformer"), (FeatureErrorDisplay, "iforest"),
    (ScoreHistogramDisplay, "transformer"), (ScoreHistogramDisplay, "regressor"),
    (LossCurveDisplay, "iforest")])
def test_every_display_refuses_an_unsupported_estimator_with_the_same_type_error(
        fitted, X, display, estimator):
    estimator = {"transformer": fitted["ae"], "regressor": LinearRegression().fit(X, X[:, 0]),
                 "iforest": IsolationForest(n_estimators=5, random_state=0).fit(X)}[estimator]
    args = () if display is LossCurveDisplay else (X[:1],)
    name = type(estimator).__name__
    with pytest.raises(TypeError, match=rf"^{display.__name__}\.from_estimator needs .*; "
                                        rf"got {name}\. Use|^{display.__name__}.* got {name}\. "):
        display.from_estimator(estimator, *args)


# ------------------------------------------------------------ layout
def _clipped_or_covered(figure):
    """What sticks out of the figure, and the axis labels that a legend covers."""
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    page = figure.bbox
    problems = []
    for ax in figure.axes:
        # Everything drawn for the axes: tick labels, axis labels, title, legend.
        box = ax.get_tightbbox(renderer)
        if box.x0 < page.x0 - 1 or box.y0 < page.y0 - 1 or box.x1 > page.x1 + 1 \
                or box.y1 > page.y1 + 1:
            problems.append(f"clipped: {ax.get_ylabel() or ax.get_title()!r} axes")
        legend = ax.get_legend()
        if legend is None:
            continue
        covered = [ax.xaxis.label, ax.yaxis.label, ax.title,
                   *[label for label in ax.get_yticklabels() + ax.get_xticklabels()
                     if ax.bbox.overlaps(label.get_window_extent(renderer))]]
        legend_box = legend.get_window_extent(renderer)
        problems += [f"legend covers {label.get_text()!r}" for label in covered
                     if label.get_text()
                     and legend_box.overlaps(label.get_window_extent(renderer))]
    return problems


def test_the_layout_check_finds_a_clipped_label():
    _, ax = plt.subplots()  # no layout engine: long names run off the left edge
    ax.barh(["a very long feature name that runs far off", "b"], [1, 2])
    assert any(problem.startswith("clipped") for problem in _clipped_or_covered(ax.figure))


def test_no_display_clips_a_label_or_covers_one_with_its_legend(fitted, X):
    from sklearn.datasets import load_breast_cancer

    long_names = load_breast_cancer().feature_names  # 'worst fractal dimension', ...
    rng = np.random.RandomState(0)
    displays = [
        FeatureErrorDisplay(rng.uniform(size=30), long_names, name="detector").plot(),
        FeatureErrorDisplay(rng.uniform(size=30), long_names).plot(max_features=None),
        LossCurveDisplay.from_estimator(fitted["detector"]),
        LossCurveDisplay.from_estimator(fitted["ae"]),
        ScoreHistogramDisplay.from_estimator(fitted["detector"], X,
                                             np.where(np.arange(len(X)) < 10, -1, 1)),
    ]
    for display in displays:
        assert _clipped_or_covered(display.figure_) == []
        assert display.figure_.get_layout_engine() is not None


# --------------------------------------------------------- optional import
def test_a_missing_matplotlib_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"pip install skae\[plot\]"):
        LossCurveDisplay([1.0, 0.5]).plot()
