"""The input scaling of every estimator: column statistics that merge.

A fit scales its input by ``(X - offset) / scale``, fixed from the training
rows. :class:`ColumnStatistics` holds what the scalings need of those rows
(per column: the count of observed entries, their mean, variance and
extrema; missing entries, NaN, are ignored), computed once per fit, so the
offset, the scale, the fill of a missing entry and the range check of
``loss='bce'`` all read one summary. Summaries of parts of the rows merge
(:meth:`ColumnStatistics.merge`, Chan et al.'s pairwise rule), so a
data-parallel fit computes each process's and combines them.
"""

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.utils.sparsefuncs import mean_variance_axis, min_max_axis

from ._missing import column_extrema, column_means, column_variances


def unscaled_constants(offset, scale):
    """``offset`` and ``scale`` as float64, with scale 1 for constant features.

    Constant features pass through unscaled, as in StandardScaler.
    """
    offset = np.asarray(offset, dtype=np.float64)
    scale = np.array(scale, dtype=np.float64)
    scale[scale < 10 * np.finfo(np.float64).eps * np.maximum(1.0, np.abs(offset))] = 1.0
    return offset, scale


@dataclass(frozen=True)
class ColumnStatistics:
    """Per-column summary of training rows, in the terms the scalings need.

    Attributes
    ----------
    count : ndarray of shape (n_features,)
        Observed (not missing) entries of each column.
    mean, variance : ndarray of shape (n_features,)
        Float64 mean and (population) variance of the observed entries.
    low, high : ndarray of shape (n_features,)
        Smallest and largest observed entry, in the dtype of the rows.
    """

    count: np.ndarray
    mean: np.ndarray
    variance: np.ndarray
    low: np.ndarray
    high: np.ndarray

    @classmethod
    def of(cls, X, variance=True):
        """The statistics of the rows of validated ``X`` (dense or CSR).

        With ``variance=False`` the variances are left NaN, uncomputed (the
        squares of huge values overflow where no scaling needs them).
        """
        if sp.issparse(X):
            mean, variances = mean_variance_axis(X, axis=0)
            low, high = min_max_axis(X, axis=0, ignore_nan=True)
            missing = np.bincount(X.indices[np.isnan(X.data)], minlength=X.shape[1])
        else:
            mean = column_means(X)
            variances = column_variances(X) if variance else np.full(X.shape[1], np.nan)
            low, high = column_extrema(X)
            missing = np.isnan(X).sum(axis=0)
        return cls(X.shape[0] - missing, mean, variances, low, high)

    def merge(self, other):
        """The statistics of the rows of ``self`` and ``other`` together.

        Means and variances combine by count (Chan et al.'s pairwise rule),
        extrema by their extremes; merging in the same order gives the same
        figures everywhere.
        """
        total = self.count + other.count
        delta = other.mean - self.mean
        mean = self.mean + delta * (other.count / total)
        variance = ((self.count * self.variance + other.count * other.variance) / total
                    + delta ** 2 * (self.count * other.count / total ** 2))
        return ColumnStatistics(total, mean, variance, np.minimum(self.low, other.low),
                                np.maximum(self.high, other.high))

    def scaling(self, kind):
        """Offset and scale such that ``(X - offset) / scale`` is the ``kind`` scaling.

        ``kind`` is ``'standard'``, ``'center'``, ``'minmax'`` or ``None``
        (the identity).
        """
        n_features = len(self.mean)
        if kind is None:
            return np.zeros(n_features), np.ones(n_features)
        if kind == "minmax":
            return unscaled_constants(self.low, self.high - self.low)
        scale = np.sqrt(self.variance) if kind == "standard" else np.ones(n_features)
        return unscaled_constants(self.mean, scale)

    def scaled_range(self, offset, scale):
        """The smallest and largest scaled value of the rows, over all columns."""
        return ((self.low - offset) / scale).min(), ((self.high - offset) / scale).max()


def scaling_statistics(X, scaling):
    """Offset and scale of the ``scaling`` of validated ``X`` (missing entries ignored)."""
    return ColumnStatistics.of(X, variance=scaling == "standard").scaling(scaling)
