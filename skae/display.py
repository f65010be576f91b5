"""Plots of fitted estimators, as scikit-learn Display objects.

Each display holds the data it draws, and ``plot(ax=None)`` draws it on
``ax`` (a new figure by default), storing the matplotlib artists in
attributes ending in ``_`` (``ax_``, ``figure_``, ``line_``, ...).
``from_estimator`` reads the data from a fitted estimator and plots it, as
:class:`sklearn.metrics.RocCurveDisplay` does; ``from_scores`` and
``from_predictions`` plot data computed elsewhere, as its
``from_predictions`` does. A figure a display makes itself uses
constrained layout, so that no label is clipped.

matplotlib is an optional dependency, imported only when something is
drawn: the ``plot`` extra (``pip install skae[plot]``).
"""

import textwrap
from numbers import Integral

import numpy as np
from sklearn.base import is_outlier_detector
from sklearn.utils import column_or_1d
from sklearn.utils.validation import check_is_fitted

from ._base import _BaseAutoencoder
from ._fit_plan import FitPlan

# FeatureErrorDisplay draws at most this many features unless told otherwise.
DEFAULT_MAX_FEATURES = 20
# Legend entries are wrapped at this width, so the legend fits in the axes.
_LEGEND_WIDTH = 40

def _pyplot():
    """``matplotlib.pyplot``, or an ImportError naming the extra that installs it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError("skae's displays need matplotlib: pip install skae[plot]") from error
    return plt


def _axes(ax, height=None):
    """``ax``, or the axes of a new figure with a layout engine (``height`` in inches).

    Constrained layout makes room for every label, so none is clipped.
    """
    plt = _pyplot()
    if ax is None:
        width, default_height = plt.rcParams["figure.figsize"]
        _, ax = plt.subplots(figsize=(width, height or default_height), layout="constrained")
    return ax


def _legend(ax, **kwargs):
    """A legend inside ``ax``, its entries wrapped so that it covers no axis label."""
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles, [textwrap.fill(label, _LEGEND_WIDTH) for label in labels],
              fontsize="small", **kwargs)


def _unsupported(display, needs, estimator, instead):
    """The TypeError of every ``from_estimator`` given an estimator it cannot read."""
    return TypeError(
        f"{display}.from_estimator needs {needs}; got {type(estimator).__name__}. "
        f"{instead}"
    )


def _check_max_features(max_features):
    """``max_features``, checked: None or a positive int."""
    if max_features is not None and (isinstance(max_features, bool)
                                     or not isinstance(max_features, Integral)
                                     or max_features < 1):
        raise ValueError(f"max_features must be None or a positive int, got {max_features!r}.")
    return max_features


class LossCurveDisplay:
    """The training loss of a fitted estimator per epoch, and its validation loss.

    Build it with :meth:`from_estimator`. The y axis says what the loss is:
    the reconstruction error named by ``loss`` (mean per entry, in the
    scaled space, plus the code penalties that are on) for a deterministic
    autoencoder, and the negative ELBO (nats per row) for a variational one.
    Those are different quantities, so :meth:`plot` refuses to draw a loss
    on axes already labelled with another. To compare estimators with the
    same loss, pass the same ``ax``.

    Parameters
    ----------
    loss_curve : array-like of shape (n_epochs,)
        Training loss of each epoch.

    validation_loss_curve : array-like of shape (n_epochs,), default=None
        Validation loss of each epoch, if any.

    loss_name : str, default="loss"
        What the loss is: the label of the y axis.

    training_label : str, default="training"
        Legend entry of the training loss.

    name : str, default=None
        Name of the estimator, prefixed to the legend entries.

    Attributes
    ----------
    line_ : matplotlib.lines.Line2D
        The training loss.

    validation_line_ : matplotlib.lines.Line2D or None
        The validation loss (dashed, in the same colour), or None.

    ax_ : matplotlib.axes.Axes
        The axes drawn on.

    figure_ : matplotlib.figure.Figure
        The figure of ``ax_``.

    See Also
    --------
    ScoreHistogramDisplay : Histogram of an outlier detector's scores.
    sklearn.model_selection.LearningCurveDisplay : Scores against the number
        of training rows.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_diabetes
    >>> from skae import AutoencoderTransformer
    >>> from skae import LossCurveDisplay
    >>> X = load_diabetes().data
    >>> transformer = AutoencoderTransformer(n_components=3, early_stopping=True,
    ...                                      n_iter_no_change=5, random_state=0).fit(X)
    >>> display = LossCurveDisplay.from_estimator(transformer)
    >>> display.ax_.get_ylabel()
    'mean squared error per entry (scaled inputs)'
    >>> len(display.line_.get_ydata()) == transformer.n_iter_
    True
    """

    def __init__(self, loss_curve, *, validation_loss_curve=None, loss_name="loss",
                 training_label="training", name=None):
        self.loss_curve = loss_curve
        self.validation_loss_curve = validation_loss_curve
        self.loss_name = loss_name
        self.training_label = training_label
        self.name = name

    @classmethod
    def from_estimator(cls, estimator, *, ax=None, name=None, **kwargs):
        """Plot the loss curves of a fitted skae estimator.

        Parameters
        ----------
        estimator : estimator
            A fitted skae estimator. Its ``loss_curve_`` is the training loss;
            ``-validation_scores_`` (with ``early_stopping=True``) the
            validation loss.

        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure by default.

        name : str, default=None
            Legend prefix; the estimator's class name by default.

        **kwargs : dict
            Passed to :meth:`plot`.

        Returns
        -------
        display : LossCurveDisplay
            The display, drawn.
        """
        if not isinstance(estimator, _BaseAutoencoder):
            raise _unsupported("LossCurveDisplay", "a skae estimator, with loss_curve_",
                               estimator, "Build LossCurveDisplay(loss_curve, loss_name=...)"
                               " to plot any other curve.")
        check_is_fitted(estimator)
        plan = FitPlan.of_fitted(estimator)  # its objective says what the loss is
        validation = getattr(estimator, "validation_scores_", None)
        display = cls(
            estimator.loss_curve_,
            validation_loss_curve=None if validation is None else -np.asarray(validation),
            loss_name=plan.objective.loss_name(plan.params),
            training_label=plan.objective.training_label(plan.params),
            name=type(estimator).__name__ if name is None else name,
        )
        return display.plot(ax=ax, **kwargs)

    def plot(self, ax=None, *, name=None, **kwargs):
        """Draw the loss curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure by default. Axes whose y axis
            already shows another loss are refused.

        name : str, default=None
            Legend prefix; ``self.name`` by default.

        **kwargs : dict
            Passed to :meth:`matplotlib.axes.Axes.plot` for the training
            loss (the validation loss takes its colour).

        Returns
        -------
        self : LossCurveDisplay
            With ``line_``, ``validation_line_``, ``ax_`` and ``figure_``.
        """
        ax = _axes(ax)
        shown = ax.get_ylabel()
        if shown and shown != self.loss_name:
            raise ValueError(
                f"These axes show {shown!r}; this loss is {self.loss_name!r}, "
                "which is not comparable. Draw it on other axes (plt.subplots(1, 2)) "
                "or on ax.twinx()."
            )
        name = self.name if name is None else name
        prefix = f"{name}: " if name else ""
        loss = np.asarray(self.loss_curve, dtype=float)
        epochs = np.arange(1, len(loss) + 1)
        (self.line_,) = ax.plot(epochs, loss, **{"label": prefix + self.training_label,
                                                 **kwargs})
        self.validation_line_ = None
        if self.validation_loss_curve is not None:
            validation = np.asarray(self.validation_loss_curve, dtype=float)
            (self.validation_line_,) = ax.plot(
                np.arange(1, len(validation) + 1), validation, linestyle="--",
                color=self.line_.get_color(), label=prefix + "validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(self.loss_name)
        # Losses fall from the left: the upper right corner is the one left empty.
        _legend(ax, loc="upper right")
        self.ax_, self.figure_ = ax, ax.figure
        return self


def _outlier_labels(y, n_samples):
    """``y`` as a 1-D array of +1 (inlier) and -1 (outlier), checked."""
    y = column_or_1d(y)
    if len(y) != n_samples:
        raise ValueError(f"y has {len(y)} labels but X has {n_samples} rows.")
    values = np.unique(y)
    if not np.isin(values, [1, -1]).all():
        raise ValueError(
            "y must hold +1 for inliers and -1 for outliers, as predict returns; "
            f"got the values {values.tolist()}. For 0/1 labels where 1 marks an "
            "outlier, pass 1 - 2 * y."
        )
    return y.astype(int)


class ScoreHistogramDisplay:
    """Histogram of an outlier detector's scores, with its threshold.

    Build it with :meth:`from_estimator`. When labels are given, inliers and
    outliers get a histogram each, on the same bins, so one sees how well the
    scores separate them and where the threshold cuts.

    Parameters
    ----------
    scores : array-like of shape (n_samples,)
        The scores; lower is more abnormal.

    threshold : float
        Where the detector cuts: rows scoring below it are outliers.

    y : array-like of shape (n_samples,), default=None
        +1 for inliers and -1 for outliers, the labels of ``predict``.

    score_name : str, default="score_samples"
        What the scores are: the label of the x axis.

    name : str, default=None
        Name of the estimator, for the title.

    Attributes
    ----------
    bars_ : list of matplotlib.container.BarContainer
        One histogram for all rows, or two: inliers, then outliers.

    bin_edges_ : ndarray of shape (n_bins + 1,)
        The edges of the bins every histogram shares.

    threshold_line_ : matplotlib.lines.Line2D
        The vertical line at ``threshold``.

    ax_ : matplotlib.axes.Axes
        The axes drawn on.

    figure_ : matplotlib.figure.Figure
        The figure of ``ax_``.

    See Also
    --------
    LossCurveDisplay : Loss per epoch of a fitted estimator.
    FeatureErrorDisplay : Which features made one row abnormal.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklearn.ensemble import IsolationForest
    >>> from skae import ScoreHistogramDisplay
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(200, 3))
    >>> X[:10] += 5
    >>> y = np.where(np.arange(200) < 10, -1, 1)
    >>> detector = IsolationForest(random_state=0).fit(X)
    >>> display = ScoreHistogramDisplay.from_estimator(detector, X, y)
    >>> display.threshold_line_.get_xdata()[0] == detector.offset_
    True
    >>> [int(sum(bar.get_height() for bar in bars)) for bars in display.bars_]
    [190, 10]
    """

    def __init__(self, scores, threshold, *, y=None, score_name="score_samples", name=None):
        self.scores = scores
        self.threshold = threshold
        self.y = y
        self.score_name = score_name
        self.name = name

    @classmethod
    def from_estimator(cls, estimator, X, y=None, *, response_method="score_samples",
                       bins=30, ax=None, name=None):
        """Plot the scores of ``X`` by a fitted outlier detector.

        Any scikit-learn outlier detector with ``offset_`` works, such as
        :class:`~sklearn.ensemble.IsolationForest`.

        Parameters
        ----------
        estimator : estimator
            A fitted outlier detector.

        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to score.

        y : array-like of shape (n_samples,), default=None
            +1 for inliers and -1 for outliers, the labels of ``predict``.
            Benchmark labels where 1 marks an outlier are ``1 - 2 * y``.

        response_method : {'score_samples', 'decision_function'}, default='score_samples'
            The scores to draw: ``score_samples``, with the threshold at
            ``offset_``, or ``decision_function``, with the threshold at 0.

        bins : int or str, default=30
            Bins, as :func:`numpy.histogram_bin_edges` takes them.

        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure by default.

        name : str, default=None
            Title; the estimator's class name by default.

        Returns
        -------
        display : ScoreHistogramDisplay
            The display, drawn.
        """
        if response_method not in ("score_samples", "decision_function"):
            raise ValueError("response_method must be 'score_samples' or "
                             f"'decision_function', got {response_method!r}.")
        if not (is_outlier_detector(estimator) and hasattr(estimator, response_method)):
            raise _unsupported("ScoreHistogramDisplay", f"an outlier detector with "
                               f"{response_method} and offset_", estimator,
                               "Use ScoreHistogramDisplay.from_scores(scores, threshold) "
                               "to plot other scores.")
        check_is_fitted(estimator)
        if not hasattr(estimator, "offset_"):
            raise _unsupported("ScoreHistogramDisplay", "a threshold offset_", estimator,
                               "Use ScoreHistogramDisplay.from_scores(scores, threshold) "
                               "to plot its scores.")
        scores = getattr(estimator, response_method)(X)
        threshold = estimator.offset_ if response_method == "score_samples" else 0.0
        return cls.from_scores(
            scores, float(threshold), y=y, bins=bins, ax=ax,
            score_name=f"{response_method} (lower is more abnormal)",
            name=type(estimator).__name__ if name is None else name)

    @classmethod
    def from_scores(cls, scores, threshold, *, y=None, score_name="score", bins=30, ax=None,
                    name=None):
        """Plot given outlier scores and a threshold.

        For scores computed elsewhere (a saved run, another library, an ONNX
        model), as :meth:`sklearn.metrics.RocCurveDisplay.from_predictions`
        takes predictions.

        Parameters
        ----------
        scores : array-like of shape (n_samples,)
            The scores; lower is more abnormal.

        threshold : float
            Where the detector cuts: rows scoring below it are outliers.

        y : array-like of shape (n_samples,), default=None
            +1 for inliers and -1 for outliers, the labels of ``predict``.

        score_name : str, default="score"
            What the scores are: the label of the x axis.

        bins : int or str, default=30
            Bins, as :func:`numpy.histogram_bin_edges` takes them.

        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure by default.

        name : str, default=None
            Title.

        Returns
        -------
        display : ScoreHistogramDisplay
            The display, drawn.
        """
        scores = column_or_1d(scores)
        if y is not None:
            y = _outlier_labels(y, len(scores))
        display = cls(scores, float(threshold), y=y, score_name=score_name, name=name)
        return display.plot(ax=ax, bins=bins)

    def plot(self, ax=None, *, bins=30, name=None):
        """Draw the histogram(s) and the threshold.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure by default.

        bins : int or str, default=30
            Bins, as :func:`numpy.histogram_bin_edges` takes them, over the
            range of all scores and the threshold.

        name : str, default=None
            Title; ``self.name`` by default.

        Returns
        -------
        self : ScoreHistogramDisplay
            With ``bars_``, ``bin_edges_``, ``threshold_line_``, ``ax_`` and
            ``figure_``.
        """
        ax = _axes(ax)
        scores = np.asarray(self.scores, dtype=float)
        self.bin_edges_ = np.histogram_bin_edges(np.append(scores, self.threshold), bins=bins)
        if self.y is None:
            groups = [(scores, f"all rows (n={len(scores)})")]
        else:
            y = _outlier_labels(self.y, len(scores))
            groups = [(scores[y == label], f"{kind} (y={label:+d}, n={np.sum(y == label)})")
                      for label, kind in ((1, "inliers"), (-1, "outliers"))]
        self.bars_ = [ax.hist(group, bins=self.bin_edges_, alpha=0.6, label=label)[2]
                      for group, label in groups]
        self.threshold_line_ = ax.axvline(self.threshold, color="black", linestyle="--",
                                          label=f"threshold ({self.threshold:.3g})")
        ax.set_xlabel(self.score_name)
        ax.set_ylabel("rows")
        name = self.name if name is None else name
        if name:
            ax.set_title(name)
        _legend(ax)
        self.ax_, self.figure_ = ax, ax.figure
        return self


class FeatureErrorDisplay:
    """Bar chart of the reconstruction error of each feature of one row.

    Build it with :meth:`from_estimator` or :meth:`from_predictions`. The
    longest bars are the features that made the row abnormal; they are drawn
    largest first, from the top, at most ``max_features`` of them.

    Parameters
    ----------
    errors : array-like of shape (n_features,)
        The error of each feature.

    feature_names : array-like of str of shape (n_features,)
        Their names.

    error_name : str, default="reconstruction error of the feature"
        What the errors are: the label of the x axis.

    name : str, default=None
        Name of the estimator, for the title.

    Attributes
    ----------
    bars_ : matplotlib.container.BarContainer
        The bars, largest error first.

    ax_ : matplotlib.axes.Axes
        The axes drawn on.

    figure_ : matplotlib.figure.Figure
        The figure of ``ax_``.

    See Also
    --------
    skae.AutoencoderOutlierDetector.feature_errors : The errors drawn.
    ScoreHistogramDisplay : Histogram of an outlier detector's scores.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_wine
    >>> from skae import AutoencoderOutlierDetector
    >>> from skae import FeatureErrorDisplay
    >>> X = load_wine(as_frame=True).data
    >>> detector = AutoencoderOutlierDetector(max_steps=200, random_state=0).fit(X)
    >>> display = FeatureErrorDisplay.from_estimator(detector, X.iloc[[0]], max_features=3)
    >>> len(display.bars_)
    3
    """

    def __init__(self, errors, feature_names, *,
                 error_name="reconstruction error of the feature", name=None):
        self.errors = errors
        self.feature_names = feature_names
        self.error_name = error_name
        self.name = name

    @classmethod
    def from_estimator(cls, estimator, X, *, max_features=DEFAULT_MAX_FEATURES, ax=None,
                       name=None):
        """Plot the per-feature errors of one row by a fitted estimator.

        Parameters
        ----------
        estimator : estimator
            A fitted estimator with ``feature_errors``, such as
            :class:`~skae.AutoencoderOutlierDetector`.

        X : {array-like, sparse matrix} of shape (1, n_features)
            The row, as a 2-D array or frame of one row (``X[[i]]``,
            ``X.iloc[[i]]``).

        max_features : int or None, default=20
            Draw only this many features, those with the largest errors;
            all of them with None.

        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure, as tall as the bars need, by
            default.

        name : str, default=None
            Title; the estimator's class name by default.

        Returns
        -------
        display : FeatureErrorDisplay
            The display, drawn.
        """
        if not hasattr(estimator, "feature_errors"):
            raise _unsupported("FeatureErrorDisplay", "an estimator with feature_errors, "
                               "such as AutoencoderOutlierDetector", estimator,
                               "Use FeatureErrorDisplay.from_predictions(X, X_reconstructed) "
                               "for a row and its reconstruction.")
        _check_max_features(max_features)
        check_is_fitted(estimator)
        errors = estimator.feature_errors(X)
        if errors.shape[0] != 1:
            raise ValueError(f"X must hold one row, got {errors.shape[0]}: pass X[[i]] or "
                             "X.iloc[[i]] for row i.")
        names = getattr(estimator, "feature_names_in_", None)
        display = cls(errors[0], _feature_names(names, errors.shape[1]),
                      error_name="reconstruction error of the feature (feature_errors)",
                      name=type(estimator).__name__ if name is None else name)
        return display.plot(ax=ax, max_features=max_features)

    @classmethod
    def from_predictions(cls, X, X_reconstructed, *, feature_names=None,
                         max_features=DEFAULT_MAX_FEATURES, ax=None, name=None):
        """Plot the squared error of each feature of a row and its reconstruction.

        For reconstructions from any model (``PCA().inverse_transform``,
        an ONNX model), as :meth:`sklearn.metrics.PredictionErrorDisplay.from_predictions`
        takes predictions. The error is in the units of ``X``, unlike
        ``feature_errors``, which measures it in the scaled space the network
        trained in.

        Parameters
        ----------
        X : array-like of shape (1, n_features) or (n_features,)
            The row.

        X_reconstructed : array-like of the same shape as ``X``
            Its reconstruction.

        feature_names : array-like of str of shape (n_features,), default=None
            Names of the features; the columns of a DataFrame ``X``, else
            ``x0``, ``x1``, ...

        max_features : int or None, default=20
            Draw only this many features, those with the largest errors;
            all of them with None.

        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure by default.

        name : str, default=None
            Title.

        Returns
        -------
        display : FeatureErrorDisplay
            The display, drawn.
        """
        _check_max_features(max_features)
        if feature_names is None:
            feature_names = getattr(X, "columns", None)
        row = np.asarray(X, dtype=float)
        reconstructed = np.asarray(X_reconstructed, dtype=float)
        if row.shape != reconstructed.shape:
            raise ValueError(f"X_reconstructed has shape {reconstructed.shape} but X has "
                             f"shape {row.shape}.")
        if row.ndim == 2 and row.shape[0] != 1 or row.ndim > 2:
            raise ValueError(f"X must hold one row, got shape {row.shape}: pass X[[i]] for "
                             "row i.")
        errors = ((row - reconstructed) ** 2).ravel()
        display = cls(errors, _feature_names(feature_names, len(errors)),
                      error_name="squared error of the reconstruction (units of X)", name=name)
        return display.plot(ax=ax, max_features=max_features)

    def plot(self, ax=None, *, max_features=DEFAULT_MAX_FEATURES, name=None):
        """Draw the bars.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure, as tall as the bars need, by
            default.

        max_features : int or None, default=20
            Draw only this many features, those with the largest errors;
            all of them with None.

        name : str, default=None
            Title; ``self.name`` by default.

        Returns
        -------
        self : FeatureErrorDisplay
            With ``bars_``, ``ax_`` and ``figure_``.
        """
        errors = np.asarray(self.errors, dtype=float)
        order = np.argsort(-errors, kind="stable")[:_check_max_features(max_features)]
        ax = _axes(ax, height=1.2 + 0.28 * len(order))
        names = [str(self.feature_names[i]) for i in order]
        # barh draws from the bottom: reverse, so the largest error is on top.
        self.bars_ = ax.barh(names[::-1], errors[order][::-1])
        ax.set_xlabel(self.error_name)
        shown = "" if len(order) == len(errors) else f" ({len(order)} of {len(errors)} features)"
        name = self.name if name is None else name
        if name or shown:
            ax.set_title(f"{name or 'largest errors'}{shown}")
        self.ax_, self.figure_ = ax, ax.figure
        return self


def _feature_names(names, n_features):
    """``names`` as a list of ``n_features`` strings; ``x0``, ``x1``, ... for None."""
    if names is None:
        return [f"x{i}" for i in range(n_features)]
    names = [str(name) for name in names]
    if len(names) != n_features:
        raise ValueError(f"feature_names has {len(names)} names for {n_features} features.")
    return names
