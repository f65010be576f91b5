"""Anomaly detection on time series: one score per time step."""

from numbers import Integral, Real
from typing import ClassVar

import numpy as np
from scipy.sparse import issparse
from sklearn.base import BaseEstimator, OutlierMixin, _fit_context, clone
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._doc_link import DocLinkMixin
from .outlier import AutoencoderOutlierDetector
from .preprocessing import _flat_windows

# window='auto' (the rule of TSB-AD's baselines, Liu and Paparrizos 2024):
# the lag of the highest local maximum of the autocorrelation between these
# lags, computed on at most the first _AUTO_MAX_STEPS steps; without one, a
# fixed fallback. The window is then kept between _MIN_WINDOW steps and a
# quarter of the series, so that there are always windows to train on.
_AUTO_LAGS = (3, 300)
_AUTO_MAX_STEPS = 20_000
_AUTO_FALLBACK = 125
_MIN_WINDOW, _MAX_WINDOW_SHARE = 3, 4
# contamination='auto': Shewhart's control limit, three standard deviations.
_AUTO_SIGMAS = 3.0


def _autocorrelation(series, max_lag):
    """Mean autocorrelation over the varying columns of ``series``, lags 0..max_lag."""
    centred = series - series.mean(axis=0)
    varying = centred[:, centred.std(axis=0) > 0]
    if varying.shape[1] == 0:
        return None
    spectrum = np.fft.rfft(varying, n=2 * len(varying), axis=0)
    acf = np.fft.irfft(np.abs(spectrum) ** 2, axis=0)[:max_lag + 1]
    return (acf / acf[0]).mean(axis=1)


def dominant_period(series):
    """The dominant period of a series by autocorrelation, or ``None``.

    The lag, between 3 and 300 steps, of the highest local maximum of the
    autocorrelation (averaged over the columns of a multivariate series) on
    at most the first 20,000 steps, as TSB-AD picks its window lengths.

    Parameters
    ----------
    series : ndarray of shape (n_steps, n_features)
        The series, time on axis 0.

    Returns
    -------
    period : int or None
        ``None`` when the autocorrelation has no local maximum in that range
        (or the series is constant).
    """
    series = series[:_AUTO_MAX_STEPS]
    low, high = _AUTO_LAGS
    max_lag = min(high + 1, len(series) - 1)
    acf = _autocorrelation(series, max_lag) if max_lag > low else None
    if acf is None:
        return None
    lags = np.arange(low, max_lag)
    peaks = lags[(acf[lags] > acf[lags - 1]) & (acf[lags] > acf[lags + 1])]
    return int(peaks[np.argmax(acf[peaks])]) if len(peaks) else None


def _z_normalise(windows, window, n_features):
    """Each window's features centred and divided by their std over the window.

    A feature that is constant over a window becomes zeros there (it is
    centred, not divided).
    """
    steps = windows.reshape(len(windows), window, n_features)
    std = steps.std(axis=1, keepdims=True)
    steps = (steps - steps.mean(axis=1, keepdims=True)) / np.where(std > 0, std, 1.0)
    return steps.reshape(len(windows), window * n_features)


def _per_step(window_scores, window):
    """Score of every step: the mean score of the windows that cover it."""
    kernel = np.ones(window)
    covered = np.convolve(np.ones(len(window_scores)), kernel)
    return np.convolve(window_scores, kernel) / covered


def _check_time_index(index):
    """Refuse unsorted, duplicated or irregular timestamps."""
    import pandas as pd

    if not isinstance(index, (pd.DatetimeIndex, pd.TimedeltaIndex)) or len(index) < 3:
        return
    spacing = np.diff(index.asi8)
    if (spacing <= 0).any():
        raise ValueError("The time index of X is not strictly increasing: sort the "
                         "series by time and drop duplicated timestamps first.")
    if (spacing != spacing[0]).any():
        steps = pd.to_timedelta([spacing.min(), spacing.max()])
        raise ValueError(
            f"The time index of X is irregular (steps from {steps[0]} to {steps[1]}): "
            "windows assume equally spaced steps. Resample to a regular grid first, "
            "e.g. series.resample('5min').mean().interpolate(), or pass "
            "series.to_numpy() to treat the rows as consecutive steps.")


class SequenceOutlierDetector(DocLinkMixin, OutlierMixin, BaseEstimator):
    """Anomaly detection on a time series, one score per time step.

    The series (time on axis 0, one column per variable) is cut into sliding
    windows of ``window`` steps with :class:`~skae.preprocessing.SlidingWindows`
    (stride 1, the same layout), each window is optionally z-normalised, and ``detector``
    learns the normal windows. The score of a time step is the mean score of
    the windows that cover it, so ``score_samples`` and ``predict`` give one
    value per step, aligned with the input: lower is more abnormal, and
    ``predict`` gives -1 at anomalous steps.

    For a stream, :meth:`score_stream` scores points as they arrive, each by
    the window that ends at it, and :meth:`partial_fit` keeps training on new
    chunks.

    Parameters
    ----------
    detector : outlier detector or None, default=None
        Learns and scores the windows: any estimator with ``fit`` and
        ``score_samples`` (lower is more abnormal), and ``partial_fit`` for
        :meth:`partial_fit`. It is cloned at fit (copied, if it is not a
        scikit-learn estimator). ``None`` is an
        :class:`~skae.AutoencoderOutlierDetector` at its defaults, seeded by
        ``random_state``.

    window : int or 'auto', default='auto'
        Time steps per window. ``'auto'`` is the dominant period of the
        training series by autocorrelation (:func:`dominant_period`), or 125
        steps when it has none, kept between 3 steps and a quarter of the
        training series.

    normalize : bool, default=False
        Z-normalise every window (each variable centred and divided by its
        standard deviation over the window), so that windows are compared by
        their shape alone and a level shift is not an anomaly; a variable
        constant over a window becomes zeros there. ``False`` keeps the
        levels, so that spikes, drops and shifts to levels unseen in training
        are flagged: on the NAB series, whose anomalies are mostly of that
        kind, z-normalised windows scored far lower (see the user guide).

    contamination : 'auto' or float, default='auto'
        Sets the threshold ``offset_`` on the training steps' scores. A float
        in (0, 0.5] is the share of training steps flagged. ``'auto'`` is
        Shewhart's control limit: a step is anomalous when its anomaly score
        exceeds the training mean by three standard deviations.

    random_state : int, RandomState instance or None, default=None
        Seeds the default detector (used only when ``detector`` is None).

    Attributes
    ----------
    window_ : int
        The window length used.

    detector_ : estimator
        The fitted clone of ``detector`` (or the default detector).

    offset_ : float
        Threshold on ``score_samples``: ``decision_function = score_samples -
        offset_``.

    context_ : ndarray of shape (window_ - 1, n_features_in_)
        The last ``window_ - 1`` steps seen by ``fit``, :meth:`partial_fit`
        or :meth:`score_stream`: the start of the first window of the next
        streamed point.

    n_features_in_ : int
        Number of variables of the series.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the variables, when ``X`` is a DataFrame with string column
        names.

    See Also
    --------
    skae.AutoencoderOutlierDetector : The default window detector.
    skae.preprocessing.SlidingWindows : The windows.
    skae.metrics.vus_pr : A range-aware metric for per-step scores.

    Notes
    -----
    Input rules: the series must have no NaN or infinite values (fill gaps
    first; a ``ValueError`` says where they are); a pandas time index must
    be strictly increasing and regular (resample first); a series shorter
    than the window is refused. Rows are read as consecutive, equally spaced
    steps.

    Examples
    --------
    >>> import numpy as np
    >>> from skae import AutoencoderOutlierDetector, SequenceOutlierDetector
    >>> t = np.arange(2000)
    >>> series = np.sin(2 * np.pi * t / 50)
    >>> series[1500:1520] = 0.0
    >>> detector = SequenceOutlierDetector(
    ...     AutoencoderOutlierDetector(max_steps=100, random_state=0))
    >>> scores = detector.fit(series[:1000]).score_samples(series)
    >>> detector.window_
    50
    >>> 1470 <= int(np.argmin(scores)) < 1550
    True
    """

    _parameter_constraints: ClassVar[dict] = {
        "detector": [HasMethods(["fit", "score_samples"]), None],
        "window": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "normalize": ["boolean"],
        "contamination": [StrOptions({"auto"}), Interval(Real, 0, 0.5, closed="right")],
        "random_state": ["random_state"],
    }

    def __init__(self, detector=None, *, window="auto", normalize=False,
                 contamination="auto", random_state=None):
        self.detector = detector
        self.window = window
        self.normalize = normalize
        self.contamination = contamination
        self.random_state = random_state

    def _validate_series(self, X, reset):
        """``X`` as a float array of shape (n_steps, n_features), checked."""
        index = getattr(X, "index", None)
        if index is not None:
            _check_time_index(index)
        if hasattr(X, "to_frame"):  # a pandas Series: its name is no column schema
            X = X.to_numpy().reshape(-1, 1)
        elif not hasattr(X, "columns") and not issparse(X) and np.asarray(X).ndim == 1:
            X = np.asarray(X).reshape(-1, 1)
        X = validate_data(self, X, reset=reset, dtype=np.float64, ensure_all_finite=False)
        bad = ~np.isfinite(X).all(axis=1)
        if bad.any():
            raise ValueError(
                f"X contains NaN or inf at {bad.sum()} time steps (the first at step "
                f"{np.argmax(bad)}): windows need a gap-free series. Fill the gaps "
                "first, e.g. with pandas' Series.interpolate(), or split the series "
                "at them.")
        return X

    def _resolve_window(self, X):
        if self.window != "auto":
            return self.window
        period = dominant_period(X)
        longest = max(_MIN_WINDOW, len(X) // _MAX_WINDOW_SHARE)
        return int(np.clip(_AUTO_FALLBACK if period is None else period,
                           _MIN_WINDOW, longest))

    def _windows(self, X, window):
        if len(X) < window:
            raise ValueError(
                f"X has {len(X)} time steps (n_samples = {len(X)}), fewer than the "
                f"window of {window} steps: there is no complete window to score.")
        windows = _flat_windows(X, window)
        return _z_normalise(windows, window, X.shape[1]) if self.normalize else windows

    def _new_detector(self):
        if self.detector is None:
            return AutoencoderOutlierDetector(random_state=self.random_state)
        return clone(self.detector, safe=False)

    def _set_threshold(self, X):
        scores = self._step_scores(X)
        if self.contamination == "auto":
            self.offset_ = float(scores.mean() - _AUTO_SIGMAS * scores.std())
        else:
            self.offset_ = float(np.percentile(scores, 100.0 * self.contamination))
        self.context_ = X[len(X) - self.window_ + 1:].copy()

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None):
        """Learn the normal windows of the series ``X`` and set the threshold.

        Parameters
        ----------
        X : array-like of shape (n_steps,) or (n_steps, n_features)
            The training series, time on axis 0: a NumPy array, or a pandas
            Series or DataFrame (with a regular time index, if any). It may
            hold anomalies.
        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        self : object
            The fitted detector.
        """
        X = self._validate_series(X, reset=True)
        window = self._resolve_window(X)
        windows = self._windows(X, window)
        self.detector_ = self._new_detector().fit(windows)
        self.window_ = window
        self._set_threshold(X)
        return self

    @_fit_context(prefer_skip_nested_validation=False)
    def partial_fit(self, X, y=None):
        """Train on one more chunk of the series, then reset the threshold from it.

        The first call fixes the window (``'auto'`` reads it from this chunk)
        and builds the detector; every call passes the chunk's windows to the
        detector's ``partial_fit`` (for the default detector: one more epoch
        over them) and sets ``offset_`` from the chunk's step scores, as
        ``fit`` does. Windows are cut from the chunk alone: start the chunk
        with the previous chunk's last ``window_ - 1`` steps to train on the
        windows across the boundary too. A chunk should be a few hundred
        steps long, so that its threshold is stable.

        Parameters
        ----------
        X : array-like of shape (n_steps,) or (n_steps, n_features)
            A chunk of the series, at least one window long.
        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        self : object
            The detector, trained on one more chunk.
        """
        first = not hasattr(self, "detector_")
        X = self._validate_series(X, reset=first)
        window = self._resolve_window(X) if first else self.window_
        windows = self._windows(X, window)
        detector = self._new_detector() if first else self.detector_
        if not hasattr(detector, "partial_fit"):
            raise TypeError(f"partial_fit needs a detector with partial_fit; "
                            f"{type(detector).__name__} has none.")
        self.detector_ = detector.partial_fit(windows)
        self.window_ = window
        self._set_threshold(X)
        return self

    def window_scores(self, X):
        """Score of every window of ``X``; lower is more abnormal.

        Parameters
        ----------
        X : array-like of shape (n_steps,) or (n_steps, n_features)
            A series, at least ``window_`` steps long.

        Returns
        -------
        scores : ndarray of shape (n_steps - window_ + 1,)
            ``scores[i]`` is the detector's score of the window of steps
            ``i`` to ``i + window_ - 1``.
        """
        check_is_fitted(self)
        X = self._validate_series(X, reset=False)
        return self.detector_.score_samples(self._windows(X, self.window_))

    def _step_scores(self, X):
        window_scores = self.detector_.score_samples(self._windows(X, self.window_))
        return _per_step(np.asarray(window_scores, dtype=np.float64), self.window_)

    def score_samples(self, X):
        """Score of every time step; lower is more abnormal.

        The mean of the scores of the windows that cover the step: ``window_``
        windows in the middle of the series, fewer near its ends.

        Parameters
        ----------
        X : array-like of shape (n_steps,) or (n_steps, n_features)
            A series, at least ``window_`` steps long.

        Returns
        -------
        scores : ndarray of shape (n_steps,)
            Float64 scores, one per step.
        """
        check_is_fitted(self)
        return self._step_scores(self._validate_series(X, reset=False))

    def decision_function(self, X):
        """Shifted score of every step: negative for anomalous steps.

        Parameters
        ----------
        X : array-like of shape (n_steps,) or (n_steps, n_features)
            A series, at least ``window_`` steps long.

        Returns
        -------
        decision : ndarray of shape (n_steps,)
            ``score_samples(X) - offset_``.
        """
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """Label every time step: +1 normal, -1 anomalous.

        Parameters
        ----------
        X : array-like of shape (n_steps,) or (n_steps, n_features)
            A series, at least ``window_`` steps long.

        Returns
        -------
        labels : ndarray of shape (n_steps,)
            -1 where ``decision_function(X) < 0``, +1 elsewhere.
        """
        return np.where(self.decision_function(X) < 0, -1, 1)

    def score_stream(self, X):
        """Score new points of the stream as they arrive; lower is more abnormal.

        The points continue the series seen so far: each point's score is
        that of the window ending at it, whose earlier steps come from
        ``context_``, so a point is scored as soon as it arrives (the batch
        score of a step, in :meth:`score_samples`, also averages the windows
        that end after it). ``context_`` then moves on to the end of ``X``;
        nothing is trained (call :meth:`partial_fit` on the accumulated
        points for that). A point is anomalous when its score is below
        ``offset_``: since one window is noisier than a mean of windows,
        this flags somewhat more points than ``predict`` does on the same
        series.

        Parameters
        ----------
        X : array-like of shape (n_new,) or (n_new, n_features)
            One or more new points. A univariate stream's single point may be
            given as ``[value]``.

        Returns
        -------
        scores : ndarray of shape (n_new,)
            Score of every new point.
        """
        check_is_fitted(self)
        X = self._validate_series(X, reset=False)
        series = np.concatenate([self.context_, X])
        scores = self.detector_.score_samples(self._windows(series, self.window_))
        self.context_ = series[len(series) - self.window_ + 1:]
        return np.asarray(scores, dtype=np.float64)
