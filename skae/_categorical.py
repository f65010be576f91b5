"""Categorical and string columns: a clear error pointing to the encoders.

skae's networks take numbers. A table with categorical or string columns
gets an error that names them and shows how to encode them in a pipeline,
instead of a bare "could not convert string to float".
"""

import contextlib

_ADVICE = (
    "skae estimators take numeric columns only: encode the others first, for "
    "example with make_pipeline(make_column_transformer((OneHotEncoder("
    "handle_unknown='ignore'), categorical_columns), remainder='passthrough'), "
    "estimator), or ordinal codes with OrdinalEncoder. Missing values (NaN) in "
    "numeric columns need no encoding."
)


def _non_numeric_columns(X):
    """Names of the columns of a pandas DataFrame ``X`` that hold neither numbers nor booleans."""
    if type(X).__module__.split(".")[0] != "pandas" or not hasattr(X, "dtypes"):
        return []
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    return [str(name) for name, dtype in X.dtypes.items()
            if not (is_numeric_dtype(dtype) or is_bool_dtype(dtype))]


def check_numeric_columns(X):
    """Raise a ValueError naming the categorical or string columns of a DataFrame ``X``."""
    columns = _non_numeric_columns(X)
    if columns:
        shown = ", ".join(repr(name) for name in columns[:10])
        raise ValueError(f"X has {len(columns)} non-numeric (categorical or string) "
                         f"column(s): {shown}. " + _ADVICE)


@contextlib.contextmanager
def explained_string_errors():
    """Re-raise scikit-learn's error on string entries with the advice to encode them."""
    try:
        yield
    except ValueError as exc:
        message = str(exc)
        if "string" in message and ("convert" in message or "dtype='numeric'" in message):
            raise ValueError(f"X holds strings ({message}). " + _ADVICE) from exc
        raise
