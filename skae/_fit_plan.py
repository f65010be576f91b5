"""The fit plan: everything a fit decides before it trains, resolved once.

:meth:`FitPlan.resolve` reads the estimator's parameters and the validated
training rows and checks them, raising before any training on a parameter
that cannot train on them; :meth:`FitPlan.of_fitted` rebuilds the plan of a
fitted estimator, to continue it (``partial_fit``) or to rebuild its network
(:mod:`skae.persistence`). The plan is frozen: training, persistence and the
diagnostics read it, none of them changes it.
"""

from dataclasses import dataclass, field

import numpy as np

from ._categorical import criterion_params, fitted_encoding
from ._device import draw_seed, resolve_device
from ._missing import column_means
from ._scaling import ColumnStatistics
from .networks import resolve_network


@dataclass(frozen=True)
class FitPlan:
    """The resolved configuration of one model.

    Attributes
    ----------
    owner : str
        The estimator's class name, for messages.
    params : dict
        The estimator's parameters (``get_params(deep=False)``), and the
        shared settings that a class fixes instead.
    objective : skae._objectives.Reconstruction
        What the network minimises and how a row is scored.
    network : skae.networks.BaseNetwork
        The network object that builds the module.
    output_activation : str
        The resolved output activation.
    device : str
        Where the network trains.
    seed : int
        The seed every draw of the fit derives from.
    n_components : int
        The (middle) code width.
    offset, scale : ndarray of shape (n_features,)
        The input scaling, ``(X - offset) / scale``.
    fill : ndarray of shape (n_features,)
        The input of a missing entry, in the units of ``X``.
    criterion : dict
        The skorch criterion arguments of the categorical columns' one-hot
        blocks (:func:`skae._categorical.criterion_params`), empty without.
    """

    owner: str
    params: dict
    objective: object
    network: object
    output_activation: str
    device: str
    seed: int
    n_components: int
    offset: np.ndarray
    scale: np.ndarray
    fill: np.ndarray
    criterion: dict = field(default_factory=dict)

    @property
    def n_features(self):
        return self.offset.shape[0]

    @property
    def pretrain_epochs(self):
        return self.params.get("pretrain_epochs", 0)

    @staticmethod
    def objective_of(estimator):
        """The objective the parameters of ``estimator`` choose (its ``_objective``)."""
        return estimator._objective

    @classmethod
    def resolve(cls, estimator, X):
        """The checked plan of a new model of ``estimator`` on validated ``X``."""
        params = _settings(estimator)
        owner = type(estimator).__name__
        objective = cls.objective_of(estimator)
        objective.check(params, owner)
        network = resolve_network(estimator.network, estimator._network_shorthands)
        if params.get("pretrain_epochs", 0) and not network.supports_pretraining:
            raise ValueError(
                f"pretrain_epochs > 0 needs a layered network; {type(network).__name__} "
                "has none, so set pretrain_epochs=0."
            )
        device = resolve_device(estimator.device)
        seed = draw_seed(estimator.random_state)
        offset, scale = estimator._input_statistics(X)
        # Validation fixed the categorical columns' layout (is_categorical_, categories_).
        encoding = fitted_encoding(vars(estimator))
        fill = column_means(X) if encoding is None else encoding.fill(column_means(X))
        plan = cls(owner, params, objective, network, _output_activation(params), device,
                   seed, estimator._resolved_n_components(X.shape[1]), offset, scale,
                   fill, criterion_params(vars(estimator)))
        plan.check_bce_range(X)
        return plan

    @classmethod
    def of_fitted(cls, estimator, fitted=None, device=None):
        """The plan the fitted ``estimator`` was trained by.

        ``fitted`` is its fitted state (by default its own attributes: a
        loaded state is checked before it is assigned), ``device`` where
        to put the network (by default ``device_``).
        """
        params = _settings(estimator)
        fitted = vars(estimator) if fitted is None else fitted
        return cls(type(estimator).__name__, params, fitted["_objective_"],
                   resolve_network(estimator.network, estimator._network_shorthands),
                   _output_activation(params),
                   fitted.get("device_") if device is None else device,
                   fitted["_fit_seed_"], fitted["n_components_"], fitted["input_offset_"],
                   fitted["input_scale_"], fitted.get("missing_fill_",
                                                      fitted["input_offset_"]),
                   criterion_params(fitted))

    def check_bce_range(self, X):
        """``loss='bce'`` needs a sigmoid output and scaled training data in [0, 1]."""
        if self.params["loss"] != "bce":
            return
        if self.output_activation != "sigmoid":
            raise ValueError(
                "loss='bce' needs reconstructions in [0, 1]: use "
                f"output_activation='sigmoid' or 'auto', not "
                f"{self.params['output_activation']!r}."
            )
        low, high = ColumnStatistics.of(X, variance=False).scaled_range(self.offset, self.scale)
        if low < -1e-6 or high > 1 + 1e-6:
            raise ValueError(
                "loss='bce' needs training data in [0, 1] after scaling; use "
                f"scaling='minmax' (now scaling={self.params['scaling']!r})."
            )


def _settings(estimator):
    """The estimator's parameters, with the shared settings a class may fix.

    The imputer keeps ``output_activation`` and ``noise_std`` at their neutral
    value as class attributes, not parameters.
    """
    return {"output_activation": estimator.output_activation,
            "noise_std": estimator.noise_std, **estimator._training_parameters()}


def _output_activation(params):
    """The output activation of ``params``: ``'auto'`` is sigmoid for BCE, else identity."""
    if params["output_activation"] != "auto":
        return params["output_activation"]
    return "sigmoid" if params["loss"] == "bce" else "identity"
