"""The fitted state of each skae estimator: which attributes it has, and what each holds.

:func:`fitted_schema` lists, for one estimator (its class and parameters),
the fitted attributes a fit always sets and those it may set, each with a
check of its value against the rest of the state (shapes against
``n_features_in_`` and the ensemble's members). :mod:`skae.persistence`
refuses a file whose fitted state does not match it, so that a loaded
estimator works, or does not load.
"""

import numpy as np

from ._objectives import ELBO_OBJECTIVE


def _brief(value):
    if isinstance(value, np.ndarray):
        return f"an array of dtype {value.dtype} and shape {list(value.shape)}"
    text = repr(value)
    return text if len(text) < 60 else text[:57] + "..."


def _integer(minimum):
    def check(value, fitted, estimator):
        if type(value) is not int or value < minimum:
            return f"expected an integer of at least {minimum}, got {_brief(value)}"
        return None
    return check


def _finite_number(value, fitted, estimator):
    if type(value) not in (float, int, np.float64, np.float32) or not np.isfinite(value):
        return f"expected a finite number, got {_brief(value)}"
    return None


def _numbers(value, fitted, estimator):
    if type(value) is not list or not all(
            type(item) in (float, int, np.float64, np.float32) for item in value):
        return f"expected a list of numbers, got {_brief(value)}"
    return None


def _string(value, fitted, estimator):
    return None if type(value) is str else f"expected a string, got {_brief(value)}"


def _array(kinds, length, *, positive=False, ndim=1):
    """A check of a NumPy array of dtype kind in ``kinds``, of ``ndim`` dimensions.

    Floats must be finite (and ``positive`` if asked). ``length(fitted,
    estimator)`` gives the expected last dimension and what it is, or
    ``length`` is ``None`` for any.
    """
    def check(value, fitted, estimator):
        expected, of = length(fitted, estimator) if length else (None, "")
        if (type(value) is not np.ndarray or value.dtype.kind not in kinds
                or value.ndim != ndim or (expected is not None
                                          and value.shape[-1] != expected)):
            shape = "any" if expected is None else f"{expected} ({of})"
            return (f"expected a {ndim}-D array of kind {kinds!r} whose last dimension is "
                    f"{shape}, got {_brief(value)}")
        if value.dtype.kind == "f" and not np.isfinite(value).all():
            return "it holds values that are not finite"
        if positive and not (value > 0).all():
            return "it holds values that are not positive"
        return None
    return check


def _float64(length, *, positive=False):
    """A check of a 1-D float64 array (what fit computes in, whatever the input)."""
    array = _array("f", length, positive=positive)

    def check(value, fitted, estimator):
        problem = array(value, fitted, estimator)
        if problem is None and value.dtype != np.float64:
            return f"expected float64, got {value.dtype}"
        return problem
    return check


def _n_features(fitted, estimator):
    return fitted["n_features_in_"], "n_features_in_"


def _n_inputs(fitted, estimator):
    """The network's input width: a categorical column counts as its categories."""
    categories = fitted.get("categories_")
    if type(categories) is not list or not all(
            isinstance(column, np.ndarray) for column in categories):
        return fitted["n_features_in_"], "n_features_in_"
    width = fitted["n_features_in_"] - len(categories) + sum(map(len, categories))
    return width, "n_features_in_ with each categorical column as its categories"


def _is_categorical(value, fitted, estimator):
    problem = _array("b", _n_features)(value, fitted, estimator)
    if problem is None and not value.any():
        return "expected at least one categorical column"
    return problem


def _categories(value, fitted, estimator):
    mask = fitted.get("is_categorical_")
    if mask is None or type(value) is not list or len(value) != int(mask.sum()):
        return "expected a list of one array per column of is_categorical_"
    if "categorical_error_scale_" not in fitted:
        return "expected categorical_error_scale_ with it"
    for column in value:
        if (not isinstance(column, np.ndarray) or column.ndim != 1 or not len(column)
                or column.dtype.kind not in "Obf"
                or column.dtype.kind == "O" and not all(type(v) is str for v in column)
                or column.dtype.kind == "f" and not np.isfinite(column).all()):
            return f"expected non-empty arrays of strings, booleans or numbers, got {_brief(column)}"
    return None


def _n_categorical(fitted, estimator):
    return int(np.sum(fitted["is_categorical_"])), "the categorical columns"


def _categorical_error_scale(value, fitted, estimator):
    if not isinstance(fitted.get("is_categorical_"), np.ndarray):
        return "expected is_categorical_ with it"
    return _float64(_n_categorical, positive=True)(value, fitted, estimator)


def _n_members(fitted, estimator):
    return estimator.n_estimators, "n_estimators"


def _code_width(fitted, estimator):
    widths = fitted.get("member_n_components_", [fitted["n_components_"]])
    return max(widths), "the widest code"


def _n_calibration(fitted, estimator):
    return fitted["calibration_indices_"].shape[0], "the calibration rows"


def _dtype(value, fitted, estimator):
    if not isinstance(value, np.dtype) or value not in (np.float32, np.float64):
        return f"expected the dtype float32 or float64, got {_brief(value)}"
    return None


def _seed(value, fitted, estimator):
    if type(value) is not int or not 0 <= value < 2**32:
        return f"expected a seed in [0, 2**32), got {_brief(value)}"
    return None


def _signature(value, fitted, estimator):
    if type(value) is not dict or not all(
            type(key) is str and type(item) is str for key, item in value.items()):
        return f"expected a dict of strings, got {_brief(value)}"
    return None


def _member_widths(value, fitted, estimator):
    if (type(value) is not list or len(value) != estimator.n_estimators
            or not all(type(width) is int and width >= 1 for width in value)):
        return (f"expected n_estimators = {estimator.n_estimators} positive integers, "
                f"got {_brief(value)}")
    return None


def _threshold(value, fitted, estimator):
    problem = _finite_number(value, fitted, estimator)
    if problem is None and value != -fitted["offset_"]:
        return "it is not -offset_"
    return problem


def _feature_names(value, fitted, estimator):
    problem = _array("OU", _n_features)(value, fitted, estimator)
    if problem is None and not all(type(name) is str for name in value):
        return "expected strings"
    return problem


def _no_indicator(value, fitted, estimator):
    # A MissingIndicator is a scikit-learn object, which the format does not hold.
    return None if value is None else "a missing-value indicator cannot be saved"


# Checked in this order: a check may read the attributes above it. net_ and
# _objective_ are checked where the network is rebuilt (skae.persistence).
_ALWAYS = {
    "n_features_in_": _integer(1), "n_components_": _integer(1), "net_": None,
    "_objective_": None, "device_": _string,
    "input_offset_": _float64(_n_inputs),
    "input_scale_": _float64(_n_inputs, positive=True),
    "_fit_dtype_": _dtype, "_fit_seed_": _seed, "_fit_signature_": _signature,
    "n_iter_": _integer(0), "n_steps_": _integer(0), "loss_curve_": _numbers,
}
_DETECTOR = {
    "member_n_components_": _member_widths,
    "member_scale_": _float64(_n_members, positive=True),
    "offset_": _finite_number, "threshold_": _threshold,
}
_CALIBRATED = {"calibration_indices_": _array("iu", None),
               "calibration_scores_": _float64(_n_calibration)}
_ELBO = {"reconstruction_loss_curve_": _numbers, "kl_loss_curve_": _numbers,
         "_elbo_draws_": _array("f", _code_width, ndim=2)}


def fitted_schema(estimator):
    """The fitted attributes of ``estimator`` (unfitted, with its parameters).

    Returns
    -------
    required, optional : dict
        Name to check, for the attributes every fit sets and those a fit may
        set. A check takes the value, the whole fitted state and the
        estimator, and returns what is wrong, or ``None``.
    """
    params = estimator.get_params(deep=False)
    required = dict(_ALWAYS)
    optional = {"feature_names_in_": _feature_names,
                "best_validation_score_": _finite_number,
                # The input of a missing entry (absent from files of skae 0.3).
                "missing_fill_": _float64(_n_inputs),
                # The categorical columns and their categories (skae._categorical).
                "is_categorical_": _is_categorical, "categories_": _categories,
                "categorical_error_scale_": _categorical_error_scale}
    if params["early_stopping"] is True:
        required["validation_scores_"] = _numbers
    elif params["early_stopping"]:  # 'auto': a validation split from 41 rows on
        optional["validation_scores_"] = _numbers
    if "add_indicator" in params:  # AutoencoderImputer
        required["indicator_"] = _no_indicator
    if "n_estimators" in params:
        required.update(_DETECTOR)
        if params["false_alarm_rate"] is not None:
            required.update(_CALIBRATED)
    if estimator._objective is ELBO_OBJECTIVE:
        required.update(_ELBO)
    return required, optional


def undeclared_name(estimator, names):
    """The first of ``names`` that is not a fitted attribute of ``estimator``, or ``None``."""
    required, optional = fitted_schema(estimator)
    unknown = sorted(set(names) - set(required) - set(optional))
    return unknown[0] if unknown else None


def fitted_problems(estimator, fitted):
    """``(name, problem)`` of the first attribute of ``fitted`` the schema refuses, or ``None``.

    Names outside the schema, missing required names and values that fail
    their check are refused, in that order.
    """
    unknown = undeclared_name(estimator, fitted)
    if unknown is not None:
        return unknown, f"not a fitted attribute of {type(estimator).__name__}"
    required, optional = fitted_schema(estimator)
    missing = [name for name in required if name not in fitted]
    if missing:
        return missing[0], "missing from the fitted state"
    for name, check in {**required, **optional}.items():
        problem = check and name in fitted and check(fitted[name], fitted, estimator)
        if problem:
            return name, problem
    return None
