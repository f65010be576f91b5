"""Imputation of missing values by an autoencoder's reconstruction."""

from numbers import Integral, Real
from typing import ClassVar

import numpy as np
from sklearn.base import TransformerMixin, _fit_context
from sklearn.impute import MissingIndicator
from sklearn.utils._mask import _get_mask
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted, validate_data

from ._base import (
    _INPUT_DTYPES,
    RECONSTRUCTION_PARAMETER_CONSTRAINTS,
    SHARED_PARAMETER_CONSTRAINTS,
    _BaseAutoencoder,
)
from ._categorical import check_numeric_columns, explained_string_errors
from ._docstrings import fill_doc
from ._inference import map_batches
from ._missing import check_missing

_OWN_PARAMETERS = {
    "missing_values": (
        "int, float or np.nan",
        """\
        The placeholder of a missing entry; every entry equal to it is
        imputed. With a number other than NaN, NaN in ``X`` is an error.""",
    ),
    "add_indicator": (
        "bool",
        """\
        Append to the output a :class:`~sklearn.impute.MissingIndicator`'s
        binary columns, one per feature that had a missing entry in
        ``fit``.""",
    ),
    "n_components": (
        "int or 'auto'",
        """\
        Width of the code. ``'auto'`` is half the number of features,
        rounded up (``max(1, ceil(n_features / 2))``): a code wide enough to
        carry what the observed entries of a row say about its missing
        ones.""",
    ),
    "mask_probability": (
        "float",
        """\
        Masking noise: the probability that an observed entry of a training
        row is hidden from the network (set to its training mean, as a
        missing entry is) while its reconstruction is still scored. This
        trains the network to fill in entries it does not see.""",
    ),
}


@fill_doc(_OWN_PARAMETERS)
class AutoencoderImputer(TransformerMixin, _BaseAutoencoder):
    """Impute missing values with the reconstruction of an autoencoder.

    A drop-in for :class:`~sklearn.impute.KNNImputer` and
    :class:`~sklearn.impute.IterativeImputer`. The autoencoder is trained
    on the observed entries only (a missing entry is left out of the loss
    and given to the network as its column's training mean), with masking
    noise, so that it learns to predict an entry from the others.
    ``transform`` passes the observed entries through unchanged and fills
    each missing one with the network's reconstruction of its row, in the
    original units.

    Parameters
    ----------
    {parameters}

    Attributes
    ----------
    indicator_ : sklearn.impute.MissingIndicator or None
        The indicator of ``add_indicator=True``, else ``None``.

    {autoencoder_attributes}

    See Also
    --------
    sklearn.impute.SimpleImputer : Fill with a column statistic.
    sklearn.impute.KNNImputer : Fill with the mean of the nearest rows.
    sklearn.impute.IterativeImputer : Fill by regressing each column on the others.
    AutoencoderTransformer : The autoencoder as a transformer.

    Examples
    --------
    >>> import numpy as np
    >>> from skae import AutoencoderImputer
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(400, 2)) @ rng.normal(size=(2, 6))
    >>> X_missing = X.copy()
    >>> X_missing[rng.rand(*X.shape) < 0.2] = np.nan
    >>> imputer = AutoencoderImputer(max_steps=300, random_state=0)
    >>> X_filled = imputer.fit_transform(X_missing)
    >>> bool(np.isnan(X_filled).any())
    False
    >>> observed = ~np.isnan(X_missing)
    >>> bool(np.array_equal(X_filled[observed], X_missing[observed]))
    True
    """

    _parameter_constraints: ClassVar[dict] = {
        **SHARED_PARAMETER_CONSTRAINTS,
        **RECONSTRUCTION_PARAMETER_CONSTRAINTS,
        "missing_values": [Real, Integral, None],
        "add_indicator": ["boolean"],
        "n_components": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
    }

    def __init__(
        self,
        *,
        missing_values=np.nan,
        add_indicator=False,
        n_components="auto",
        network="dense",
        loss="mse",
        mask_probability=0.25,
        scaling="standard",
        optimizer="adam",
        learning_rate=1e-3,
        weight_decay=0.0,
        batch_size=128,
        max_steps=2000,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=50,
        tol=1e-4,
        device="auto",
        n_jobs=None,
        compile=False,
        callbacks=None,
        random_state=None,
        verbose=0,
    ):
        self.missing_values = missing_values
        self.add_indicator = add_indicator
        self.n_components = n_components
        self.network = network
        self.loss = loss
        self.mask_probability = mask_probability
        self.scaling = scaling
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_steps = max_steps
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.device = device
        self.n_jobs = n_jobs
        self.compile = compile
        self.callbacks = callbacks
        self.random_state = random_state
        self.verbose = verbose

    # Parameters of the shared base that an imputer keeps at their neutral value.
    output_activation = "auto"
    noise_std = 0.0

    def _resolved_n_components(self, n_features):
        if self.n_components == "auto":
            return max(1, -(-n_features // 2))
        return super()._resolved_n_components(n_features)

    def _validate_input(self, X, *, reset):
        """Validate ``X`` and mark its missing entries NaN (a copy when they were not)."""
        if not reset:
            check_is_fitted(self)
        nan_placeholder = self.missing_values is None or np.isnan(self.missing_values)
        check_numeric_columns(X, self)
        # scikit-learn's finiteness check sums X: huge finite values overflow there.
        with explained_string_errors(self), np.errstate(over="ignore", invalid="ignore"):
            X = validate_data(self, X, dtype=_INPUT_DTYPES, reset=reset,
                              ensure_all_finite="allow-nan" if nan_placeholder else True)
        if not nan_placeholder:
            X = np.where(_get_mask(X, self.missing_values), np.nan, X).astype(X.dtype)
        check_missing(X, fitting=reset, rows=reset)
        return X

    def _fitted_extras(self, X, fitted):
        indicator = None
        if self.add_indicator:
            indicator = MissingIndicator(error_on_new=False).fit(X)
        return {"indicator_": indicator}

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the autoencoder to the observed entries of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data with missing entries. Every column needs an
            observed entry, and every row.
        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        self : object
            The fitted imputer.
        """
        return self._fit(X)

    def transform(self, X):
        """Impute the missing entries of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data with missing entries. A row with no observed entry is filled
            with the reconstruction of the row of training means.

        Returns
        -------
        X_imputed : ndarray of shape (n_samples, n_features_out)
            ``X`` with each missing entry replaced by its reconstruction,
            the observed entries unchanged, in the dtype of ``X``; with
            ``add_indicator``, followed by the indicator columns.
        """
        X = self._validate_input(X, reset=False)
        missing = np.isnan(X)
        imputed = X.copy()
        if missing.any():
            imputed[missing] = self._reconstruct(X)[missing]
        if self.indicator_ is None:
            return imputed
        return np.hstack([imputed, self.indicator_.transform(X).astype(X.dtype)])

    def _reconstruct(self, X):
        """The reconstruction of every row of validated ``X``, in the units of ``X``."""
        offset, scale = self.input_offset_, self.input_scale_
        reconstructions = map_batches(vars(self), X, lambda scorer, inputs, _:
                                      scorer.module(inputs)[0], n_jobs=self.n_jobs)
        return reconstructions.astype(np.float64) * scale + offset

    def get_feature_names_out(self, input_features=None):
        """Names of the output features: the input's, then the indicator's.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Input feature names; ``None`` uses ``feature_names_in_`` or
            ``x0, x1, ...``.

        Returns
        -------
        feature_names_out : ndarray of str objects
        """
        check_is_fitted(self)
        names = _check_feature_names_in(self, input_features)
        if self.indicator_ is None:
            return names
        return np.concatenate([names, self.indicator_.get_feature_names_out(names)])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
