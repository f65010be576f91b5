"""Preprocessing that prepares data for the autoencoders."""

from numbers import Integral
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval
from sklearn.utils._set_output import _get_output_config
from sklearn.utils.validation import _check_feature_names_in, validate_data

from ._doc_link import DocLinkMixin


def _flat_windows(X, window_length, step=1):
    """The windows of the 2-D array ``X`` as rows, time-major (see :class:`SlidingWindows`)."""
    windows = np.lib.stride_tricks.sliding_window_view(X, window_length, axis=0)
    # (n_windows, n_features, window_length) -> time-major rows, copied
    # (np.array) so that the output never shares memory with X.
    windows = np.array(windows[::step].transpose(0, 2, 1))
    return windows.reshape(len(windows), window_length * X.shape[1])


class SlidingWindows(DocLinkMixin, TransformerMixin, BaseEstimator):
    """Cut a multivariate time series into flattened sliding windows.

    Each row of the input is one time step of an ``(n_time, n_features)``
    series; each row of the output is one window of ``window_length``
    consecutive steps, flattened in C order (all features of the window's
    first step, then of its second, ...), which is the layout
    ``AutoencoderTransformer(network='lstm', input_shape=(window_length,
    n_features))`` reads. Windows start every ``step`` rows, so the output has
    ``(n_time - window_length) // step + 1`` rows: fewer than the input.

    The transformation is stateless: ``fit`` only records the number (and
    names) of the features, and ``transform`` works on any series that is at
    least one window long. It changes the number of rows, so use it on
    unlabelled series (a ``y`` passed through a :class:`~sklearn.pipeline.Pipeline`
    is not windowed).

    Parameters
    ----------
    window_length : int
        Time steps per window.

    step : int, default=1
        Rows between the starts of consecutive windows; ``1`` slides the
        window one step at a time, ``window_length`` gives non-overlapping
        windows.

    Attributes
    ----------
    n_features_in_ : int
        Number of features (columns) of the series seen during ``fit``.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during ``fit``, when ``X`` has string column
        names.

    See Also
    --------
    skae.AutoencoderTransformer : With ``network='lstm'``, encodes each window.

    Examples
    --------
    >>> import numpy as np
    >>> from skae.preprocessing import SlidingWindows
    >>> series = np.arange(12.0).reshape(6, 2)
    >>> windows = SlidingWindows(window_length=3, step=2).fit_transform(series)
    >>> windows
    array([[0., 1., 2., 3., 4., 5.],
           [4., 5., 6., 7., 8., 9.]])
    >>> windows.reshape(len(windows), 3, 2)[1]
    array([[4., 5.],
           [6., 7.],
           [8., 9.]])
    """

    _parameter_constraints: ClassVar[dict] = {
        "window_length": [Interval(Integral, 1, None, closed="left")],
        "step": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, window_length, step=1):
        self.window_length = window_length
        self.step = step

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Record the number and names of the features of the series ``X``.

        Parameters
        ----------
        X : array-like of shape (n_time, n_features)
            A time series, one row per time step.
        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        self : object
            The fitted transformer.
        """
        validate_data(self, X, dtype="numeric")
        return self

    def transform(self, X):
        """Cut the series ``X`` into flattened windows.

        Parameters
        ----------
        X : array-like of shape (n_time, n_features)
            A time series, one row per time step, at least ``window_length``
            rows long.

        Returns
        -------
        windows : ndarray of shape (n_windows, window_length * n_features)
            One window per row, in the dtype of ``X``. With
            ``set_output(transform='pandas')`` and a DataFrame input, a
            DataFrame indexed by the index label of each window's last step.
        """
        index = getattr(X, "index", None)
        X = validate_data(self, X, dtype="numeric", reset=False)
        n_time = len(X)
        if n_time < self.window_length:
            raise ValueError(
                f"X has {n_time} rows (time steps), fewer than "
                f"window_length={self.window_length}: there is no complete window."
            )
        windows = _flat_windows(X, self.window_length, self.step)
        if index is not None and _get_output_config("transform", self)["dense"] == "pandas":
            import pandas as pd

            last_steps = index[self.window_length - 1::self.step]
            return pd.DataFrame(windows, index=last_steps, columns=self.get_feature_names_out())
        return windows

    def get_feature_names_out(self, input_features=None):
        """Names of the window features: ``<feature>_t<step in window>``.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Names of the series' features; ``feature_names_in_`` or
            ``x0, x1, ...`` when not given.

        Returns
        -------
        feature_names_out : ndarray of str objects
            ``window_length * n_features_in_`` names, ``t0`` being the oldest
            step of the window.
        """
        names = _check_feature_names_in(self, input_features)
        return np.asarray([f"{name}_t{lag}" for lag in range(self.window_length)
                           for name in names], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
