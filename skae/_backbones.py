"""Network families: what differs between fitting and scoring each of them.

Every estimator consults its ``_backbone`` -- fixed for the transformers, the
one named by its ``backbone`` parameter for the outlier detector -- for the
torch module, the skorch net that trains it, and the few steps of fitting and
scoring that are specific to the family. The variational pieces therefore
exist once, whichever estimator uses a variational autoencoder.
"""

from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import torch
from sklearn.utils._param_validation import Interval

from ._device import draw_seed
from ._net import (
    AutoencoderNet,
    VAENet,
    WarmupEarlyStopping,
    kl_divergence,
    negative_log_likelihood,
)
from ._networks import NETWORKS, VariationalAutoencoder

# Parameters of the estimators that can train a variational autoencoder.
VARIATIONAL_PARAMETER_CONSTRAINTS = {
    "beta": [Interval(Real, 0, None, closed="neither")],
    "kl_warmup_epochs": [Interval(Integral, 0, None, closed="left")],
}

# Draws of the code per row in the Monte Carlo ELBO of ``score_samples``
# (antithetic pairs: eps and -eps).
ELBO_DRAWS = 16


def check_options_off(estimator, options, context):
    """Raise a ValueError if any of ``options`` is switched on.

    Parameters
    ----------
    estimator : estimator
    options : dict
        ``{parameter name: (the value that leaves it off, why it does not apply)}``.
    context : str
        Says what the options do not apply to, e.g. ``"network='conv'"``.
    """
    for name, (off, reason) in options.items():
        value = getattr(estimator, name)
        if value != off:
            raise ValueError(f"{name}={value!r} does not apply to {context} ({reason}); "
                             f"leave it at {off!r}.")


class DenseBackbone:
    """The deterministic autoencoders; a row's score is its negative error.

    The network is the one the estimator's ``network`` parameter names.
    """

    net_class = AutoencoderNet

    def module_class(self, estimator):
        """The torch module class to train."""
        return NETWORKS[estimator.network]

    def module_params(self, estimator, params):
        """Check the estimator's options; the module's constructor arguments.

        ``params`` are the network's arguments built from the estimator's
        parameters.
        """
        return params

    def net_params(self, estimator):
        """Extra keyword arguments of the skorch net."""
        return {}

    def callbacks(self, estimator, callbacks):
        """The ``(name, callback)`` list the net trains with."""
        return callbacks

    def fitted(self, estimator):
        """Set the family's own fitted attributes, after training."""

    def score_samples(self, estimator, X):
        """Float64 score of every row of validated ``X``; higher is more typical."""
        return -estimator._reconstruction_errors(X)


class VariationalBackbone(DenseBackbone):
    """The variational autoencoder; a row's score is its ELBO.

    Reads ``beta`` and ``kl_warmup_epochs`` from the estimator.
    """

    net_class = VAENet

    # Options of the deterministic autoencoder that a VAE has no use for:
    # the value that leaves each off, and why.
    UNSUPPORTED: ClassVar[dict] = {
        "network": ("dense", "the variational autoencoder is fully connected"),
        "code_activation": ("identity", "the code is a Gaussian sample"),
        "tied_weights": (False, "the decoder does not mirror the mean head"),
        "sparsity_weight": (0.0, "the KL term already regularises the code"),
        "activity_l1": (0.0, "the KL term already regularises the code"),
    }

    def module_class(self, estimator):
        return VariationalAutoencoder

    def module_params(self, estimator, params):
        name = type(estimator).__name__
        check_options_off(estimator, self.UNSUPPORTED,
                          f"the variational autoencoder of {name}")
        if estimator.optimizer == "lbfgs":
            raise ValueError(
                f"The variational autoencoder of {name} does not support "
                "optimizer='lbfgs': its objective is stochastic (sampled codes), "
                "which breaks the L-BFGS line search; use 'adam' or 'sgd'."
            )
        return {key: value for key, value in params.items()
                if key not in ("code_activation", "tied_weights")}

    def net_params(self, estimator):
        return {"beta": estimator.beta, "kl_warmup_epochs": estimator.kl_warmup_epochs}

    def callbacks(self, estimator, callbacks):
        # While the KL weight ramps up the loss rises by design: stopping
        # rules start watching after the warm-up.
        return [(name, WarmupEarlyStopping(warmup_epochs=estimator.kl_warmup_epochs,
                                           **callback.get_params()))
                if name == "early_stopping" else (name, callback)
                for name, callback in callbacks]

    def fitted(self, estimator):
        history = estimator.net_.history
        estimator.reconstruction_loss_curve_ = list(history[:, "train_reconstruction"])
        estimator.kl_loss_curve_ = list(history[:, "train_kl"])
        # The fixed draws behind score_samples: repeatable for an integer
        # random_state, shared by all rows so a row's score never depends on
        # the others.
        rng = np.random.RandomState(draw_seed(estimator.random_state))
        half = rng.standard_normal((ELBO_DRAWS // 2, estimator.n_components_))
        estimator._elbo_noise = np.concatenate([half, -half])

    def score_samples(self, estimator, X):
        """ELBO of every row of validated ``X`` with ``beta=1``, in nats, float64.

        The expectation over the posterior is a Monte Carlo average over the
        fixed antithetic draws of :meth:`fitted`. For ``loss`` other than
        ``'bce'`` the log-likelihood is a density of ``X`` in its original
        units (the log-Jacobian of the scaling is included).
        """
        criterion = estimator.net_.criterion_
        elbo_noise = estimator._elbo_noise

        def elbo(module, Xb):
            mean, log_var = module.posterior(Xb)
            std = torch.exp(0.5 * log_var)
            noise = torch.as_tensor(elbo_noise, dtype=Xb.dtype, device=Xb.device)
            nll = sum(negative_log_likelihood(criterion, module.decode(mean + std * eps), Xb)
                      for eps in noise) / len(noise)
            return -(nll + kl_divergence(mean, log_var))

        log_jacobian = 0.0 if estimator.loss == "bce" else np.log(estimator.input_scale_).sum()
        return estimator._map_batches(X, elbo).astype(np.float64) - log_jacobian


DENSE = DenseBackbone()
VARIATIONAL = VariationalBackbone()
