"""Categorical columns: which columns they are, and how the network sees them.

A categorical column of ``K`` categories becomes a block of ``K`` network
inputs and outputs. The rules live here, once:

- The columns are those of ``categorical_features``: ``'from_dtype'`` takes
  a DataFrame's pandas categorical, string and object columns; indices,
  names or a boolean mask name them explicitly. Without it, a non-numeric
  column is an error that names the parameter.
- The categories are the sorted values seen in training. NaN, ``None`` and
  ``pandas.NA`` are a missing entry, not a category.
- The encoded table holds the numeric columns first, then one block per
  categorical column. A block is 1 at its category and NaN elsewhere, so that
  the network's input, filled with 0 where NaN (:mod:`skae._missing`), is the
  one-hot vector, and only the category's position counts in the error. A
  missing entry is all NaN (all-zero input, no error); an unseen category
  that ``handle_unknown='max_error'`` scores is 0 at the first position.
- The network's outputs for a block are logits; a column's error is its
  negative log-likelihood under their softmax, put on the numeric columns'
  scale by the trivial predictor (:func:`categorical_error_scale`): the
  training frequencies cost a categorical column their entropy, the best
  constant (the mean, the median) costs a numeric column its error under
  the estimator's loss and scaling, and each categorical column's negative
  log-likelihood is multiplied by the numeric columns' mean trivial error
  over its entropy. Predicting the frequencies then costs every categorical
  column what predicting a constant costs the average numeric column; with
  no numeric column, 1.
- An unseen category is an error (``handle_unknown='error'``), a missing
  entry (``'ignore'``), or scored as if it were the category the network
  finds least likely (``'max_error'``). While training it is never scored.
"""

import contextlib
import functools
import math

import numpy as np
import scipy.sparse as sp
import torch
from scipy.optimize import minimize_scalar
from scipy.stats import entropy
from sklearn.utils import check_array
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import validate_data

from ._net import _LOSSES, ReconstructionLoss
from ._scaling import scaling_statistics

_ENCODE_FIRST = (
    "encode them first, for example with make_pipeline(make_column_transformer(("
    "OneHotEncoder(handle_unknown='ignore'), categorical_columns), "
    "remainder='passthrough'), estimator), or ordinal codes with OrdinalEncoder. "
    "Missing values (NaN) in numeric columns need no encoding."
)


def _advice(estimator):
    """What to do about non-numeric columns, for ``estimator``."""
    if "categorical_features" not in estimator.get_params(deep=False):
        return "skae estimators take numeric columns only: " + _ENCODE_FIRST
    return ("Name the categorical columns with categorical_features: 'from_dtype' for a "
            "DataFrame's categorical and string columns, or their indices or names; "
            "or " + _ENCODE_FIRST)


CATEGORICAL_PARAMETER_CONSTRAINTS = {
    "categorical_features": [StrOptions({"from_dtype"}), "array-like", None],
    "handle_unknown": [StrOptions({"error", "ignore", "max_error"})],
}

def _non_numeric_columns(X):
    """Names of the columns of a pandas DataFrame ``X`` that hold neither numbers nor booleans."""
    if not _is_dataframe(X):
        return []
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    return [str(name) for name, dtype in X.dtypes.items()
            if not (is_numeric_dtype(dtype) or is_bool_dtype(dtype))]


def _is_dataframe(X):
    return type(X).__module__.split(".")[0] == "pandas" and hasattr(X, "dtypes")


def check_numeric_columns(X, estimator):
    """Raise a ValueError naming the categorical or string columns of a DataFrame ``X``."""
    columns = _non_numeric_columns(X)
    if columns:
        shown = ", ".join(repr(name) for name in columns[:10])
        raise ValueError(f"X has {len(columns)} non-numeric (categorical or string) "
                         f"column(s): {shown}. " + _advice(estimator))


@contextlib.contextmanager
def explained_string_errors(estimator):
    """Re-raise scikit-learn's error on string entries with the advice to encode them."""
    try:
        yield
    except ValueError as exc:
        message = str(exc)
        if "string" in message and ("convert" in message or "dtype='numeric'" in message):
            raise ValueError(f"X holds strings ({message}). " + _advice(estimator)) from exc
        raise


def _is_missing(value):
    """Whether one entry of an object column is missing: NaN, None or pandas.NA."""
    return (value is None or (isinstance(value, float | np.floating) and math.isnan(value))
            or type(value).__name__ in ("NAType", "NaTType"))


def _kind(value):
    """The kind of a category value: a string, a number or a boolean."""
    if isinstance(value, bool | np.bool_):
        return "bool"
    if isinstance(value, str | np.str_):
        return "str"
    if isinstance(value, int | float | np.integer | np.floating):
        return "number"
    return type(value).__name__


def _categorical_indices(spec, X):
    """Sorted column indices of ``categorical_features=spec`` in the input ``X``."""
    n_features = X.shape[1]
    if spec is None:
        return np.array([], dtype=np.intp)
    if isinstance(spec, str):  # 'from_dtype'
        return np.array([i for i, name in enumerate(X.columns)
                         if str(name) in _non_numeric_columns(X)] if _is_dataframe(X)
                        else [], dtype=np.intp)
    spec = np.asarray(spec)
    if spec.size == 0:
        return np.array([], dtype=np.intp)
    if spec.dtype.kind == "b":
        if spec.shape != (n_features,):
            raise ValueError(f"categorical_features as a boolean mask needs {n_features} "
                             f"entries, one per column of X, got shape {spec.shape}.")
        return np.flatnonzero(spec)
    if spec.dtype.kind in "OUS":
        names = [str(name) for name in X.columns] if _is_dataframe(X) else []
        unknown = [str(name) for name in spec.ravel() if str(name) not in names]
        if unknown:
            raise ValueError(f"categorical_features names {unknown[:5]}, which are not "
                             "columns of X (names need a DataFrame).")
        return np.array(sorted({names.index(str(name)) for name in spec.ravel()}),
                        dtype=np.intp)
    if spec.dtype.kind not in "iu" or spec.ndim != 1 or not (
            (spec >= 0) & (spec < n_features)).all():
        raise ValueError("categorical_features must be 'from_dtype', None, column names, "
                         f"a boolean mask or indices in [0, {n_features}), got {spec!r}.")
    return np.unique(spec).astype(np.intp)


def _column_values(column, name):
    """Missing mask and observed values of one categorical column, of one kind."""
    missing = np.fromiter((_is_missing(value) for value in column), bool, len(column))
    observed = column[~missing]
    kinds = sorted({_kind(value) for value in observed})
    if len(kinds) > 1:
        raise ValueError(f"The categorical column {name} mixes types ({', '.join(kinds)}): "
                         "give each column values of one type, for example "
                         "X[column].astype(str).")
    return missing, observed


def _category_array(values):
    """The sorted categories ``values`` of one column, as the safe format stores them.

    Strings as an object array, booleans as a boolean one, numbers as float64.
    """
    kind = _kind(values[0])
    if kind == "str":
        array = np.empty(len(values), dtype=object)
        array[:] = [str(value) for value in values]
        return array
    return np.array(values, dtype=bool if kind == "bool" else np.float64)


def _column_names(state):
    """Every input column's name in the fitted ``state``, for messages."""
    names = state.get("feature_names_in_")
    if names is not None:
        return [repr(str(name)) for name in names]
    return [f"at index {index}" for index in range(state["n_features_in_"])]


def fitted_encoding(state):
    """The :class:`CategoricalEncoding` of the fitted state ``state`` (a mapping), or ``None``.

    Built from the fitted attributes ``is_categorical_`` and ``categories_``,
    which a fit without categorical columns does not set.
    """
    if "categories_" not in state:
        return None
    return CategoricalEncoding(state["n_features_in_"],
                               np.flatnonzero(state["is_categorical_"]),
                               state["categories_"], _column_names(state))


class CategoricalEncoding:
    """The fitted layout of a table's numeric columns and categorical blocks.

    Parameters
    ----------
    n_features : int
        Number of columns of the input.
    categorical : ndarray of int
        Indices of the categorical columns.
    categories : list of ndarray
        The sorted training categories of each categorical column.
    names : list of str
        Every column's name, for messages.
    """

    def __init__(self, n_features, categorical, categories, names):
        self.categorical = categorical
        self.numeric = np.setdiff1d(np.arange(n_features), categorical)
        self.categories = categories
        self.names = names
        self._codes = [{category: code for code, category in enumerate(column)}
                       for column in categories]

    @classmethod
    def fitted(cls, X, categorical, names):
        """The encoding of the categorical columns ``categorical`` of object array ``X``."""
        categories = []
        for index in categorical:
            _, observed = _column_values(X[:, index], names[index])
            if not len(observed):
                raise ValueError(f"The categorical column {names[index]} has every entry "
                                 "missing: the model cannot learn it. Drop it before fitting.")
            categories.append(_category_array(sorted(set(observed.tolist()))))
        return cls(X.shape[1], categorical, categories, names)

    @property
    def width(self):
        """Number of columns of the encoded table."""
        return len(self.numeric) + sum(len(column) for column in self.categories)

    @property
    def blocks(self):
        """``(start, stop)`` of every categorical block in the encoded table."""
        stops = len(self.numeric) + np.cumsum([len(column) for column in self.categories])
        return tuple((int(stop) - len(column), int(stop))
                     for stop, column in zip(stops, self.categories, strict=True))

    def encode(self, X, handle_unknown, *, fitting):
        """The float64 encoded table of the validated object array ``X``."""
        try:
            numeric = check_array(X[:, self.numeric], dtype=np.float64,
                                  ensure_all_finite="allow-nan", ensure_min_features=0)
        except ValueError as exc:
            if "string" not in str(exc) and "convert" not in str(exc):
                raise
            raise ValueError(
                f"A numeric column of X holds strings ({exc}); the numeric columns are "
                f"{', '.join(self.names[i] for i in self.numeric[:10])}. Name every "
                "categorical column in categorical_features.") from exc
        encoded = np.full((X.shape[0], self.width), np.nan)
        encoded[:, :len(self.numeric)] = numeric
        for index, codes, (start, _) in zip(self.categorical, self._codes, self.blocks,
                                            strict=True):
            missing, _ = _column_values(X[:, index], self.names[index])
            rows = np.flatnonzero(~missing)
            found = np.array([codes.get(value, -1) for value in X[rows, index]], dtype=np.intp)
            unknown = found < 0
            if unknown.any() and handle_unknown == "error":
                shown = sorted({repr(value) for value in X[rows[unknown], index]})[:5]
                raise ValueError(
                    f"The categorical column {self.names[index]} holds categories not seen "
                    f"in training: {', '.join(shown)}. Set handle_unknown='ignore' to treat "
                    "them as missing, or 'max_error' to score them as the least likely.")
            encoded[rows[~unknown], start + found[~unknown]] = 1.0
            if handle_unknown == "max_error" and not fitting:
                encoded[rows[unknown], start] = 0.0
        return encoded

    def unscaled(self, offset, scale):
        """Scaling statistics with the categorical blocks passed through as they are."""
        offset, scale = offset.copy(), scale.copy()
        offset[len(self.numeric):], scale[len(self.numeric):] = 0.0, 1.0
        return offset, scale

    def fill(self, means):
        """The input of a missing entry: the numeric columns' means, and 0 in every block."""
        means = means.copy()
        means[len(self.numeric):] = 0.0
        return means

    def column_errors(self, entry_errors):
        """Per-entry errors of the encoded table as ``(n_samples, n_features)``, NaN if missing."""
        errors = np.empty((entry_errors.shape[0], len(self.names)))
        errors[:, self.numeric] = entry_errors[:, :len(self.numeric)]
        for index, (start, stop) in zip(self.categorical, self.blocks, strict=True):
            errors[:, index] = np.fmax.reduce(entry_errors[:, start:stop], axis=1)
        return errors

    def decode(self, reconstruction):
        """Reconstructions of the encoded table back to columns: an object array.

        Numeric columns as floats, categorical ones as their most likely category.
        """
        decoded = np.empty((reconstruction.shape[0], len(self.names)), dtype=object)
        decoded[:, self.numeric] = reconstruction[:, :len(self.numeric)]
        for index, column, (start, stop) in zip(self.categorical, self.categories,
                                                self.blocks, strict=True):
            decoded[:, index] = column[reconstruction[:, start:stop].argmax(axis=1)]
        return decoded


#: The fitted attributes of the categorical columns, set while validating the training data.
FITTED_ATTRIBUTES = ("is_categorical_", "categories_", "categorical_error_scale_")


def validate_mixed(estimator, X, *, reset):
    """The encoded table of ``X`` when ``estimator`` has categorical columns, else ``None``.

    With ``reset``, resolves ``categorical_features`` on ``X`` and sets (or
    removes) the fitted ``is_categorical_``, ``categories_`` and
    ``categorical_error_scale_``, as ``validate_data`` sets
    ``n_features_in_``; otherwise uses the fitted ones.
    """
    if reset:
        for name in FITTED_ATTRIBUTES:
            vars(estimator).pop(name, None)
        spec = getattr(estimator, "categorical_features", None)
        if spec is None or sp.issparse(X) and isinstance(spec, str):
            return None
        if sp.issparse(X):
            raise ValueError("categorical_features needs dense input (an array or a "
                             "DataFrame), not a sparse matrix.")
        X_checked = check_array(X, dtype=None, ensure_all_finite=False)
        categorical = _categorical_indices(spec, X if _is_dataframe(X) else X_checked)
        if not len(categorical):
            return None
    elif fitted_encoding(vars(estimator)) is None:
        return None
    X = validate_data(estimator, X, dtype=None, ensure_all_finite=False, reset=reset)
    encoding = (CategoricalEncoding.fitted(X, categorical, _column_names(vars(estimator)))
                if reset else fitted_encoding(vars(estimator)))
    encoded = encoding.encode(X, getattr(estimator, "handle_unknown", "error"), fitting=reset)
    if reset:
        estimator.is_categorical_ = np.isin(np.arange(X.shape[1]), categorical)
        estimator.categories_ = encoding.categories
        estimator.categorical_error_scale_ = categorical_error_scale(
            encoded, encoding, estimator.scaling, estimator.loss)
    return encoded


def _best_constant(column, loss):
    """The constant prediction of the entries ``column`` with the least mean ``loss``."""
    if loss == "mae":
        return float(np.median(column))
    if loss == "huber" and np.ptp(column) > 0:
        return minimize_scalar(lambda constant: _constant_error(column, constant, loss),
                               bounds=(column.min(), column.max()), method="bounded").x
    return float(column.mean())  # the minimiser of squared error and cross-entropy


def _constant_error(column, constant, loss):
    """The mean ``loss`` of predicting every entry of ``column`` by ``constant``."""
    target = torch.as_tensor(column)
    return float(_LOSSES[loss](torch.full_like(target, constant), target, reduction="mean"))


def trivial_errors(scaled, loss):
    """Each column's mean error under ``loss`` when predicted by its best constant.

    The trivial predictor of a numeric column: the mean for ``'mse'`` and
    ``'bce'``, the median for ``'mae'``, the Huber location for ``'huber'``;
    missing (NaN) entries are ignored, and a column with none observed costs 0.
    """
    errors = np.zeros(scaled.shape[1])
    for index, column in enumerate(scaled.T):
        column = column[~np.isnan(column)]
        if len(column):
            errors[index] = _constant_error(column, _best_constant(column, loss), loss)
    return errors


def categorical_error_scale(encoded, encoding, scaling, loss):
    """The factor on each categorical column's negative log-likelihood, from training data.

    The error of the trivial predictor is the unit. Predicting the training
    frequencies costs a categorical column its entropy ``H`` (in nats);
    predicting the best constant costs a numeric column its
    :func:`trivial_errors` under ``loss`` and ``scaling``. The factor is
    ``u / H``, with ``u`` the mean trivial error of the numeric columns that
    vary (1 where there are none), so that the trivial predictor costs each
    categorical column ``u``. A column of one category (``H = 0``, its
    error always 0) gets ``u``.

    Parameters
    ----------
    encoded : ndarray of shape (n_samples, encoding.width)
        The encoded training table (:meth:`CategoricalEncoding.encode`).
    encoding : CategoricalEncoding
    scaling : {'minmax', 'standard', 'center'} or None
        The estimator's input scaling of the numeric columns.
    loss : {'mse', 'mae', 'huber', 'bce'}
        The estimator's loss of the numeric columns.

    Returns
    -------
    ndarray of float64 of shape (n_categorical_columns,)
    """

    numeric = encoded[:, :len(encoding.numeric)]
    unit = 1.0
    if numeric.shape[1]:
        offset, scale = scaling_statistics(numeric, scaling)
        errors = trivial_errors((numeric - offset) / scale, loss)
        unit = float(errors[errors > 0].mean()) if (errors > 0).any() else 1.0
    entropies = np.array([entropy(np.nansum(encoded[:, start:stop], axis=0))
                          for start, stop in encoding.blocks])
    return unit / np.where(entropies > 0, entropies, 1.0)


@functools.cache
def _block_layout(blocks):
    """The 0/1 matrix of shape ``(n_categorical_entries, n_blocks)`` that sums each block.

    Also the block of every entry, and the blocks gathered into a padded
    grid (its indices and padding), for the per-block maxima and minima.
    """
    start = blocks[0][0]
    block_of = np.concatenate([np.full(stop - begin, b) for b, (begin, stop)
                               in enumerate(blocks)])
    widest = max(stop - begin for begin, stop in blocks)
    grid = np.array([[min(begin + k, stop - 1) - start for k in range(widest)]
                     for begin, stop in blocks])
    padding = np.array([[k >= stop - begin for k in range(widest)] for begin, stop in blocks])
    sums = np.zeros((len(block_of), len(blocks)), dtype=np.float32)
    sums[np.arange(len(block_of)), block_of] = 1.0
    return (torch.as_tensor(sums), torch.as_tensor(block_of), torch.as_tensor(grid),
            torch.as_tensor(padding))


def _block_extreme(values, grid, padding, largest):
    """The maximum (or minimum) of ``values`` (no gradient) over each block."""
    fill = -math.inf if largest else math.inf
    padded = torch.where(padding, fill, values.detach()[..., grid])
    return padded.amax(dim=-1) if largest else padded.amin(dim=-1)


def block_errors(logits, target, layout, scale):
    """The errors of the categorical blocks: at each block's observed position, NaN elsewhere.

    ``logits`` and ``target`` hold the blocks only; ``layout`` is
    :func:`_block_layout` of the blocks, ``scale`` a tensor. ``scale[b]`` times the
    negative log-likelihood of the target category under the softmax of the
    block's logits (of the least likely category where the target is an
    unseen category, marked 0). Every block at once, by products with the
    0/1 matrix that sums each block, so that a training step costs the same
    few operations however many columns are categorical.
    """
    sums, block_of, grid, padding = (part.to(logits.device) for part in layout)
    sums = sums.to(logits.dtype)
    shift = _block_extreme(logits, grid, padding, largest=True)  # for a stable logsumexp
    log_norm = torch.log(torch.exp(logits - shift[..., block_of]) @ sums) + shift
    hot = target == 1
    chosen = torch.where(hot, logits, 0.0) @ sums
    if not torch.compiler.is_exporting() and bool((target == 0).any()):  # unseen categories
        known = (hot.to(logits.dtype) @ sums) > 0
        chosen = torch.where(known, chosen, _block_extreme(logits, grid, padding, largest=False))
    scale = scale.to(device=logits.device, dtype=logits.dtype)
    errors = ((log_norm - chosen) * scale) @ sums.T
    return torch.where(torch.isnan(target), float("nan"), errors)


class CategoricalReconstructionLoss(ReconstructionLoss):
    """:class:`~skae._net.ReconstructionLoss` with a cross-entropy term per categorical block.

    Parameters
    ----------
    loss : {'mse', 'mae', 'huber', 'bce'}
        The loss of the numeric columns (the first ``blocks[0][0]``).
    blocks : tuple of (int, int)
        ``(start, stop)`` of every categorical block, after the numeric columns.
    block_scale : tuple of float, default=None
        The factor on each block's negative log-likelihood
        (:func:`categorical_error_scale`); ``None``, 1 for every block (nats).
    """

    def __init__(self, loss="mse", blocks=(), block_scale=None):
        super().__init__(loss)
        self.blocks = blocks
        self.block_scale = (1.0,) * len(blocks) if block_scale is None else block_scale
        if blocks:  # built once, not at every training step; not part of any state dict
            for name, part in zip(("_sums", "_block_of", "_grid", "_padding"),
                                  _block_layout(blocks), strict=True):
                self.register_buffer(name, part, persistent=False)
            self.register_buffer("_scale", torch.as_tensor(self.block_scale,
                                                           dtype=torch.float64),
                                 persistent=False)

    def elementwise(self, reconstruction, target):
        """The error of every entry: NaN where missing and off a block's category."""
        target = target.expand_as(reconstruction)
        n_numeric = self.blocks[0][0]
        numeric = super().elementwise(reconstruction[..., :n_numeric], target[..., :n_numeric])
        categorical = block_errors(reconstruction[..., n_numeric:], target[..., n_numeric:],
                                   (self._sums, self._block_of, self._grid, self._padding),
                                   self._scale)
        return torch.cat([numeric, categorical], dim=-1)

    def forward(self, reconstruction, target):
        errors = self.elementwise(reconstruction, target)
        observed = ~torch.isnan(errors)
        return torch.where(observed, errors, 0.0).sum() / observed.sum()


def criterion_params(state):
    """The skorch criterion arguments of the categorical blocks of fitted ``state`` (none without)."""
    encoding = fitted_encoding(state)
    if encoding is None:
        return {}
    return {"criterion": CategoricalReconstructionLoss, "criterion__blocks": encoding.blocks,
            "criterion__block_scale": tuple(map(float, state["categorical_error_scale_"]))}


def check_exportable(estimator):
    """Raise a ValueError when ``estimator`` models categorical columns (no ONNX graph)."""
    if fitted_encoding(vars(estimator)) is not None:
        raise ValueError(
            f"This {type(estimator).__name__} models categorical columns, whose encoding "
            "(strings to one-hot blocks) an ONNX graph of float rows cannot hold. Export "
            "a model fitted on encoded columns instead: make_pipeline(make_column_"
            "transformer((OneHotEncoder(), columns), remainder='passthrough'), estimator) "
            "with skae.export.register_skl2onnx.")
