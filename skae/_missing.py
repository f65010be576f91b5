"""Missing values (NaN): what the network sees, and errors over observed entries only.

Every skae estimator takes NaN as a missing entry. The rules live here, once:

- The network's input for a missing entry is the column's training mean
  (``missing_fill_``, NaN ignored), scaled like the rest of the row: 0 with
  ``scaling='standard'`` or ``'center'``. No missingness indicator is added,
  so the network, its input width and its exported graph are those of
  complete data.
- The target of a missing entry stays NaN. Its error is NaN: it is left out
  of the loss, of a row's score and of ``feature_errors``.
- A row's error is the mean over its observed entries, and a row's
  log-likelihood the sum over its observed entries times
  ``n_features / n_observed``, so rows with gaps are neither favoured nor
  punished for having fewer terms.
- A row with no observed entry has no score: it is an error. A column with
  no observed training entry has no mean: fitting on it is an error.

The batches of :class:`~skae._data.ArrayDataset` are ``(input, target)``
pairs: the input filled, the target with its NaN.
"""

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.utils.sparsefuncs import mean_variance_axis


def has_missing(X):
    """Whether the array or sparse matrix ``X`` holds a NaN."""
    data = X.data if sp.issparse(X) else X
    return bool(np.isnan(data).any())


def column_means(X):
    """Float64 mean of every column of ``X``, NaN ignored."""
    if sp.issparse(X):
        return mean_variance_axis(X, axis=0)[0]
    if has_missing(X):
        return np.nanmean(X, axis=0, dtype=np.float64)
    return X.mean(axis=0, dtype=np.float64)


def column_variances(X):
    """Float64 variance of every column of dense ``X``, NaN ignored."""
    if has_missing(X):
        return np.nanvar(X, axis=0, dtype=np.float64)
    return X.var(axis=0, dtype=np.float64)


def column_extrema(X):
    """Minimum and maximum of every column of dense ``X``, NaN ignored."""
    if has_missing(X):
        return np.nanmin(X, axis=0), np.nanmax(X, axis=0)
    return X.min(axis=0), X.max(axis=0)


def check_missing(X, *, fitting, rows=True):
    """Raise a ValueError on rows, and in training columns, with no observed entry.

    Parameters
    ----------
    X : ndarray or scipy.sparse matrix of shape (n_samples, n_features)
        Validated input; NaN marks a missing entry.
    fitting : bool
        Whether ``X`` is training data, whose columns must each have an
        observed entry (their mean is the input of a missing one).
    rows : bool, default=True
        Whether a row with no observed entry is an error (it has no score).
    """
    if not has_missing(X):
        return
    if sp.issparse(X):  # only stored entries can be NaN
        missing = X.copy()
        missing.data = np.isnan(missing.data).astype(np.float64)
    else:
        missing = np.isnan(X)
    n_rows, n_columns = X.shape
    empty_rows = np.flatnonzero(np.asarray(missing.sum(axis=1)).ravel() == n_columns)
    if rows and empty_rows.size:
        raise ValueError(
            f"X has {empty_rows.size} row(s) with every entry missing (NaN), the "
            f"first at index {empty_rows[0]}: there is nothing to encode or score "
            "in them. Drop those rows."
        )
    if not fitting:
        return
    empty_columns = np.flatnonzero(np.asarray(missing.sum(axis=0)).ravel() == n_rows)
    if empty_columns.size:
        raise ValueError(
            f"X has {empty_columns.size} column(s) with every entry missing (NaN), "
            f"at indices {empty_columns[:10].tolist()}: the model cannot learn "
            "them. Drop those columns before fitting."
        )


def filled(Xb, fill):
    """The network's input for the scaled batch ``Xb``: each NaN replaced by ``fill``.

    ``fill`` is the scaled training mean of every column (a tensor of shape
    ``(n_features,)``).
    """
    return torch.where(torch.isnan(Xb), fill, Xb)


def _masking_needed(target):
    # An exported graph must hold the masked path: it cannot branch on data.
    return torch.compiler.is_exporting() or bool(torch.isnan(target).any())


def entry_errors(loss, reconstruction, target):
    """``loss(reconstruction, target, reduction='none')``, NaN where ``target`` is NaN.

    The gradient at a missing entry is zero: its error is computed against
    the reconstruction itself, then replaced by NaN.
    """
    if not _masking_needed(target):
        return loss(reconstruction, target, reduction="none")
    missing = torch.isnan(target)
    safe = torch.where(missing, reconstruction.detach(), target)
    return loss(reconstruction, safe, reduction="none").masked_fill(missing, float("nan"))


def observed_mean(errors, dim=-1):
    """Mean of ``errors`` over ``dim``, NaN (missing) entries left out.

    Over all entries with ``dim=None``.
    """
    if not _masking_needed(errors):
        return errors.mean() if dim is None else errors.mean(dim=dim)
    observed = ~torch.isnan(errors)
    total = torch.where(observed, errors, 0.0)
    if dim is None:
        return total.sum() / observed.sum()
    return total.sum(dim=dim) / observed.sum(dim=dim)


def observed_sum(errors):
    """Sum of ``errors`` over the last axis, rescaled to all entries when some are missing.

    ``n_features * observed_mean(errors)``: equal to the plain sum on a
    complete row, and on a row with gaps the sum its observed entries
    suggest for the whole row.
    """
    if not _masking_needed(errors):
        return errors.sum(dim=-1)
    return errors.shape[-1] * observed_mean(errors)
