"""The shared base of every skae estimator: the scikit-learn protocol and the fit transaction.

The base owns what every estimator does the same way: the shared parameter
constraints, input validation, ``fit`` and ``partial_fit`` as a transaction
that assigns every fitted attribute in one place, and the hooks a subclass
overrides where it differs. The steps themselves live in modules of their
own:

- :mod:`skae._fit_plan`: the configuration, resolved once per fit;
- :mod:`skae._scaling`: the input scaling's column statistics;
- :mod:`skae._training`: building and training the skorch net;
- :mod:`skae._diagnostics`: the divergence check, the budget warning, the
  history's attributes;
- :mod:`skae._scoring` and :mod:`skae._inference`: scoring a fitted model.

The network families live in :mod:`skae.networks`, the objectives in
:mod:`skae._objectives`; the public estimators write out their parameters
and say what they return.
"""

import warnings
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _categorical, _inference, _training
from ._categorical import check_numeric_columns, explained_string_errors
from ._device import cpu_threads
from ._diagnostics import budget_warning
from ._doc_link import DocLinkMixin
from ._missing import check_missing
from ._objectives import RECONSTRUCTION
from ._parameter_objects import ParameterObjectsMixin
from ._scaling import scaling_statistics
from ._torch_modules import ACTIVATIONS
from .networks import BaseNetwork, resolve_network

_INPUT_DTYPES = (np.float64, np.float32)


# Parameters of every estimator, with the same constraint everywhere.
SHARED_PARAMETER_CONSTRAINTS = {
    "n_components": [Interval(Integral, 1, None, closed="left")],
    "network": [StrOptions({"dense"}), BaseNetwork],
    "output_activation": [StrOptions(set(ACTIVATIONS) | {"auto"})],
    "loss": [StrOptions({"mse", "mae", "huber", "bce"})],
    "noise_std": [Interval(Real, 0, None, closed="left")],
    "mask_probability": [Interval(Real, 0, 1, closed="left")],
    "scaling": [StrOptions({"standard", "center", "minmax"}), None],
    "optimizer": [StrOptions(set(_training.OPTIMIZERS))],
    "learning_rate": [Interval(Real, 0, None, closed="neither")],
    "weight_decay": [Interval(Real, 0, None, closed="left")],
    "batch_size": [Interval(Integral, 1, None, closed="left")],
    "max_steps": [Interval(Integral, 1, None, closed="left")],
    "early_stopping": ["boolean", StrOptions({"auto"})],
    "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
    "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
    "tol": [Interval(Real, 0, None, closed="left")],
    "device": [str, torch.device],
    "n_jobs": [Integral, None],
    "compile": ["boolean", StrOptions({"default", "reduce-overhead", "max-autotune"})],
    "callbacks": [list, tuple, None],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
}

# Parameters of the estimators that train a deterministic autoencoder.
RECONSTRUCTION_PARAMETER_CONSTRAINTS = {
    "code_activation": [StrOptions(set(ACTIVATIONS))],
    "sparsity_target": [Interval(Real, 0, 1, closed="neither")],
    "sparsity_weight": [Interval(Real, 0, None, closed="left")],
    "activity_l1": [Interval(Real, 0, None, closed="left")],
    "pretrain_epochs": [Interval(Integral, 0, None, closed="left")],
}


def fitted_state(estimator):
    """The fitted attributes of ``estimator`` (names ending in ``_``) and their values.

    With :func:`assign_fitted`, the seam through which persistence and the
    data-parallel fit read and write a fitted model.
    """
    return {name: value for name, value in vars(estimator).items()
            if name.endswith("_") and not name.startswith("__")}


def assign_fitted(estimator, fitted):
    """Replace every fitted attribute of ``estimator`` by those of ``fitted``, at once.

    Attributes that ``fitted`` does not hold (such as ``validation_scores_``
    without early stopping) are removed.
    """
    for name in fitted_state(estimator):
        delattr(estimator, name)
    for name, value in fitted.items():
        setattr(estimator, name, value)


class _BaseAutoencoder(ParameterObjectsMixin, DocLinkMixin, BaseEstimator):
    """The scikit-learn protocol, the fit transaction and the hooks of every estimator.

    The public subclasses write out their ``__init__`` and say what they
    return. What a deterministic and a variational autoencoder differ in is
    the objective, ``_objective`` (see :mod:`skae._objectives`); what a
    network family differs in is the network object of the ``network``
    parameter (see :mod:`skae.networks`). ``fit`` is a transaction:
    :meth:`_transaction` validates ``X``, trains into local variables
    (:func:`skae._training.train`, from a :class:`~skae._fit_plan.FitPlan`)
    and assigns every fitted attribute at the end (:func:`assign_fitted`),
    so a failed fit leaves the estimator as it was. The methods below the
    ``hooks`` line are what a subclass overrides where it differs.
    """

    _parameter_constraints: ClassVar[dict] = SHARED_PARAMETER_CONSTRAINTS

    _objective = RECONSTRUCTION

    # Names of default networks the ``network`` parameter takes besides
    # 'dense' (see skae.networks.resolve_network).
    _network_shorthands: ClassVar[dict] = {}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.input_tags.allow_nan = True  # missing entries: see skae._missing
        return tags

    def _shorthand_objects(self):
        return {"network": lambda name: resolve_network(name, self._network_shorthands)}

    def _training_parameters(self):
        """The parameters as the objective's hooks read them (a subclass may add some)."""
        return self.get_params(deep=False)

    def __sklearn_is_fitted__(self):
        # Every fitted attribute is assigned at once with net_ (see assign_fitted).
        return "net_" in vars(self)

    def __setstate__(self, state):
        super().__setstate__(state)
        if "net_" in state:
            # skorch maps a CUDA net to the CPU when unpickled without CUDA.
            self.device_ = str(self.net_.device)

    # ----------------------------------------------------------- validation
    def _validate_input(self, X, *, reset):
        """Check ``X`` as scikit-learn does; keep float32, else make float64.

        NaN is a missing entry (see :mod:`skae._missing`); inf is an error.
        """
        if not reset:
            check_is_fitted(self)
        if getattr(X, "ndim", 2) > 2:
            raise ValueError(
                f"X has {X.ndim} dimensions, but skae estimators take 2-D input: "
                "flatten each image or window into one row with "
                "X.reshape(len(X), -1) and give its shape as the input_shape of "
                "the network (ConvNetwork, LSTMNetwork)."
            )
        encoded = _categorical.validate_mixed(self, X, reset=reset)  # categorical columns
        if encoded is not None:
            X = encoded
        else:
            check_numeric_columns(X, self)
            # scikit-learn's finiteness check sums X: huge finite values overflow there.
            with explained_string_errors(self), np.errstate(over="ignore",
                                                            invalid="ignore"):
                X = validate_data(self, X, accept_sparse="csr", dtype=_INPUT_DTYPES,
                                  ensure_all_finite="allow-nan", reset=reset)
        check_missing(X, fitting=reset)
        return X

    def _resolved_n_components(self, n_features):
        """The code width for ``n_features`` inputs (a subclass may derive it)."""
        if isinstance(self.n_components, bool):  # bool is an Integral
            # A ValueError, as scikit-learn's InvalidParameterError is.
            raise ValueError(f"n_components must be a positive integer, "  # noqa: TRY004
                             f"got {self.n_components!r}.")
        return self.n_components

    # -------------------------------------------------------------- fitting
    def _fit(self, X):
        """Validate ``X``, train, and assign every fitted attribute; return ``self``.

        A transaction: if anything raises (a check, a diverged fit, a
        ``KeyboardInterrupt``), the fitted attributes are restored to what
        they were, so a failed first fit leaves the estimator unfitted and a
        failed refit leaves the previous model whole.
        """
        return self._transaction(X, reset=True, partial=False)

    def _partial_fit(self, X):
        """One more pass of training on the chunk ``X``, as a transaction; return ``self``.

        The first call (on an unfitted estimator) resolves the configuration
        and fixes the input scaling from its chunk, as ``fit`` does; later
        calls continue the same network and optimiser.
        """
        return self._transaction(X, reset=not self.__sklearn_is_fitted__(), partial=True)

    def _transaction(self, X, *, reset, partial):
        """Validate ``X``, train (:meth:`_train`), assign every fitted attribute in one place.

        If anything raises, the fitted attributes are restored to what they
        were (:meth:`_train` restores what it changed in place).
        """
        previous = fitted_state(self)
        try:
            X = self._validate_input(X, reset=reset)
            with cpu_threads(self.n_jobs):
                fitted, budget_spent = self._train(X, partial)
                fitted.update(self._fitted_extras(X, fitted))
        except BaseException:
            assign_fitted(self, previous)
            raise
        # validate_data set n_features_in_ and feature_names_in_ already.
        assign_fitted(self, {**{name: value for name, value in vars(self).items()
                             if name in ("n_features_in_", "feature_names_in_",
                                         *_categorical.FITTED_ATTRIBUTES)},
                          **fitted})
        message = budget_spent and budget_warning(type(self).__name__, fitted["net_"],
                                                  self.max_steps,
                                                  self._falling_loss_is_unsettled())
        if message:
            warnings.warn(message, ConvergenceWarning)
        return self

    def _fitted_extras(self, X, fitted):
        """Attributes that a subclass derives from the trained model ``fitted``."""
        return {}

    # ---------------------------------------------------------------- hooks
    def _train(self, X, partial=False):
        """Train on validated ``X``: a new model, or with ``partial`` one more pass.

        Returns the fitted attributes as a dict, and whether training ended
        by exhausting ``max_steps`` (see :func:`skae._training.train`).
        Nothing is assigned to ``self`` (a subclass may train on some rows
        of ``X`` only, by overriding this).
        """
        return _training.train(self, X, partial)

    def _training_rows(self, X, seed):
        """The rows of validated ``X`` the network trains on (a subclass may subsample)."""
        return X

    def _build_module(self, plan):
        """The torch module to train of the fit plan ``plan``, and the widest code it has."""
        return (plan.objective.build_module(plan.network, plan.n_features, plan.n_components,
                                            plan.params, plan.output_activation),
                plan.n_components)

    def _input_statistics(self, X):
        """Offset and scale of the input scaling, from validated training ``X``.

        The one place a fit computes them (:mod:`skae._scaling`);
        :mod:`skae.distributed` reduces them over the rows of every process
        instead.
        """
        offset, scale = scaling_statistics(X, self.scaling)
        encoding = _categorical.fitted_encoding(vars(self))
        return (offset, scale) if encoding is None else encoding.unscaled(offset, scale)

    #: Sums an array over the processes of a data-parallel fit (None: one process).
    _sum_over_processes = None

    def _falling_loss_is_unsettled(self):
        """Whether a training loss still falling at ``max_steps`` means the fit stopped short."""
        return True

    def _objective_scores(self, X, fitted):
        """The fitted objective's float64 score of every row of validated ``X``.

        The one scoring path of every estimator
        (:func:`skae._inference.objective_scores`): shape ``(n_samples,)``,
        or ``(n_samples, n_members)`` for an ensemble.
        """
        return _inference.objective_scores(fitted, X, self.n_jobs)

    def _score_samples(self, X, fitted=None):
        """Float64 score of every row of validated ``X``; higher is more typical."""
        return self._objective_scores(X, vars(self) if fitted is None else fitted)
