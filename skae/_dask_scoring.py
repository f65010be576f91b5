"""Scoring Dask collections with a fitted estimator, block by block (:func:`map_blocks`).

Dask is an optional dependency (``pip install skae[distributed]``), imported
only when a function of this module runs.
"""

import warnings

import numpy as np
from sklearn.utils.validation import check_is_fitted

#: The methods :func:`map_blocks` applies, and the width of their input.
_METHODS = {
    "transform": "n_features_in_",
    "inverse_transform": "n_components_",
    "score_samples": "n_features_in_",
    "decision_function": "n_features_in_",
    "predict": "n_features_in_",
    "feature_errors": "n_features_in_",
}


def import_dask(needed_by):
    """``dask``, ``dask.array`` and ``dask.dataframe`` (``None`` without pandas).

    ``needed_by`` names the function that needs them, for the error raised
    when Dask is not installed.
    """
    try:
        import dask
        import dask.array as da
    except ImportError as exc:  # pragma: no cover - the extra is installed in CI
        raise ImportError(
            f"skae.distributed.{needed_by} needs Dask: pip install skae[distributed]"
        ) from exc
    try:
        import dask.dataframe as dd
    except ImportError:  # dask without pandas: arrays only
        dd = None
    return dask, da, dd


def _apply_block(block, estimator, method, empty):
    """``estimator.method(block)`` as a NumPy array (``empty`` for no rows)."""
    if block.shape[0] == 0:
        return empty
    return np.asarray(getattr(estimator, method)(block))


def _apply_partition(partition, estimator, method, meta):
    """``estimator.method(partition)`` as a pandas object shaped like ``meta``."""
    import pandas as pd

    if len(partition) == 0:
        return meta
    result = np.asarray(getattr(estimator, method)(partition))
    if result.ndim == 1:
        return pd.Series(result, index=partition.index, name=meta.name)
    return pd.DataFrame(result, index=partition.index, columns=meta.columns)


def _output_sample(estimator, method, sample):
    """The estimator's output on one row of zeros: its width and dtype."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(getattr(estimator, method)(sample))


def _output_columns(estimator, method, width):
    """Column names of a 2-D output of ``method``."""
    if method == "transform" and hasattr(estimator, "get_feature_names_out"):
        return list(estimator.get_feature_names_out())
    names = getattr(estimator, "feature_names_in_", None)
    return list(names) if names is not None and len(names) == width else list(range(width))


def map_blocks(estimator, X, method="transform"):
    """Apply a fitted estimator to a Dask array or DataFrame, block by block, lazily.

    Each block (chunk of rows, or partition) is passed to
    ``estimator.method`` on its own, so memory per task grows with the block,
    not with ``X``. The estimator enters the task graph once, as one task:
    the distributed scheduler sends it to each worker once, where it stays
    for every block that worker scores. Every method of a skae estimator
    treats each row on its own, so row ``i`` of the result is the in-memory
    ``estimator.method(X)[i]``: exactly for ``predict``, and for the float
    outputs up to the last digit (about ``1e-16`` of the value), since
    matrix products round differently with the number of rows in a block.

    Parameters
    ----------
    estimator : fitted estimator
        Usually a skae estimator; any fitted scikit-learn estimator whose
        ``method`` maps each row to one output row works.
    X : dask.array.Array or dask.dataframe.DataFrame of shape (n_samples, n_columns)
        The data, ``n_features_in_`` columns wide (``n_components_`` for
        ``inverse_transform``). An array chunked along its columns is
        rechunked to whole rows.
    method : {'transform', 'inverse_transform', 'score_samples', \
'decision_function', 'predict', 'feature_errors'}, default='transform'
        The method to apply; the estimator must have it.

    Returns
    -------
    result : dask.array.Array, dask.dataframe.DataFrame or dask.dataframe.Series
        Lazy, with the row chunks (partitions) of ``X``: a 2-D array (a
        DataFrame for DataFrame input) for ``transform``,
        ``inverse_transform`` and ``feature_errors``, a 1-D array (a Series
        named after ``method``) for the others. Its dtype is that of the
        in-memory result; call ``.compute()`` or write it out chunk by chunk
        (``to_zarr``, ``to_parquet``).

    Raises
    ------
    TypeError
        If ``X`` is not a Dask array or DataFrame.
    ValueError
        If ``method`` is not one of the above, the estimator does not have it,
        or ``X`` does not have 2 dimensions of the expected width.

    See Also
    --------
    fit_data_parallel : Train on several processes.
    dask.array.Array.map_blocks : The Dask operation this builds on.

    Examples
    --------
    >>> import dask.array as da
    >>> from sklearn.datasets import load_digits
    >>> from skae import AutoencoderOutlierDetector
    >>> from skae.distributed import map_blocks
    >>> X, _ = load_digits(return_X_y=True)
    >>> detector = AutoencoderOutlierDetector(max_steps=20, random_state=0).fit(X)
    >>> scores = map_blocks(detector, da.from_array(X, chunks=200), "score_samples")
    >>> scores.shape, scores.numblocks
    ((1797,), (9,))
    >>> bool((scores.compute() == detector.score_samples(X)).all())
    True
    """
    dask, da, dd = import_dask("map_blocks")
    check_is_fitted(estimator)
    if method not in _METHODS:
        raise ValueError(f"method must be one of {sorted(_METHODS)}, got {method!r}.")
    if not hasattr(estimator, method):
        raise ValueError(f"{type(estimator).__name__} has no method {method!r}.")
    is_frame = dd is not None and isinstance(X, dd.DataFrame)
    if not (is_frame or isinstance(X, da.Array)):
        raise TypeError(
            "map_blocks takes a dask.array.Array or a dask.dataframe.DataFrame, got "
            f"{type(X).__name__}; for data in memory call estimator.{method}(X)."
        )
    width = getattr(estimator, _METHODS[method])
    n_columns = len(X.columns) if is_frame else (X.shape[1] if X.ndim == 2 else None)
    if n_columns != width:
        shape = f"{n_columns} columns" if n_columns is not None else f"{X.ndim} dimension(s)"
        raise ValueError(
            f"X has {shape}, but {type(estimator).__name__}.{method} is expecting "
            f"2-D input with {width} columns ({_METHODS[method]})."
        )
    # One task holds the estimator; every block depends on it.
    model = dask.delayed(estimator, pure=True)
    if is_frame:
        return _map_partitions(estimator, X, method, model)
    X = X.rechunk({1: -1}) if X.numblocks[1] > 1 else X
    sample = _output_sample(estimator, method, np.zeros((1, width), dtype=X.dtype))
    empty = np.empty((0, *sample.shape[1:]), dtype=sample.dtype)
    if sample.ndim == 1:
        return X.map_blocks(_apply_block, model, method, empty, drop_axis=1,
                            dtype=sample.dtype, meta=empty)
    return X.map_blocks(_apply_block, model, method, empty,
                        chunks=(X.chunks[0], (sample.shape[1],)), dtype=sample.dtype,
                        meta=empty)


def _map_partitions(estimator, X, method, model):
    """:func:`map_blocks` of a Dask DataFrame."""
    import pandas as pd

    zeros = pd.DataFrame(np.zeros((1, len(X.columns))), columns=X.columns).astype(X.dtypes)
    sample = _output_sample(estimator, method, zeros)
    if sample.ndim == 1:
        meta = pd.Series(np.empty(0, dtype=sample.dtype), name=method)
    else:
        meta = pd.DataFrame(np.empty((0, sample.shape[1]), dtype=sample.dtype),
                            columns=_output_columns(estimator, method, sample.shape[1]))
    return X.map_partitions(_apply_partition, model, method, meta, meta=meta)
