"""Training objectives: what a deterministic and a variational autoencoder differ in.

An objective is a set of pure hooks that the estimator base
(:class:`skae._base._BaseAutoencoder`) calls: the skorch net class that
minimises it and that net's extra arguments, the torch module built from a
network object (:mod:`skae.networks`), the per-batch scores behind
``score_samples`` and the fitted attributes of a trained net. Hooks read the
estimator's parameters as a dict and return values; the estimator owns the
batching and assigns every fitted attribute. :data:`RECONSTRUCTION` serves
:class:`~skae.AutoencoderTransformer` and the detector's
``objective='reconstruction'``, :data:`ELBO` :class:`~skae.VAETransformer` and
``objective='vae'`` (the public objects of :mod:`skae.objectives` name them),
so the variational pieces exist once.
"""

from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import torch
from sklearn.utils._param_validation import Interval

from ._ensembles import ModuleEnsemble
from ._missing import observed_mean
from ._net import (
    AutoencoderNet,
    VAENet,
    WarmupEarlyStopping,
    kl_divergence,
    negative_log_likelihood,
)
from ._scoring import reconstruction_errors

# Parameters of the estimators that can train a variational autoencoder.
VARIATIONAL_PARAMETER_CONSTRAINTS = {
    "beta": [Interval(Real, 0, None, closed="neither")],
    "kl_warmup_epochs": [Interval(Integral, 0, None, closed="left")],
}

# The criterion's error of an entry, in words, by the ``loss`` parameter.
_LOSS_NAMES = {"mse": "squared error", "mae": "absolute error", "huber": "Huber error",
               "bce": "binary cross-entropy"}

# Draws of the code per row in the Monte Carlo ELBO of ``score_samples``
# (antithetic pairs: eps and -eps).
ELBO_DRAWS = 16


class Reconstruction:
    """Minimise the reconstruction error; a row's score is its negative error."""

    net_class = AutoencoderNet

    def check(self, params, owner):
        """Raise a ValueError on parameters that this objective cannot train with.

        Parameters
        ----------
        params : dict
            The estimator's parameters (``get_params(deep=False)``).
        owner : str
            The estimator's name, for the messages.
        """
        if params.get("sparsity_weight") and params["code_activation"] != "sigmoid":
            raise ValueError(
                "sparsity_weight > 0 pulls the mean activation of each coding "
                "unit towards sparsity_target, which needs codes in (0, 1): use "
                f"code_activation='sigmoid', not {params['code_activation']!r}."
            )

    def build_module(self, network, n_features, n_components, params, output_activation):
        """The torch module that ``network`` builds for this objective."""
        return network.build(n_features, n_components,
                             code_activation=params.get("code_activation", "identity"),
                             output_activation=output_activation)

    def build_ensemble(self, network, n_features, members, params, output_activation):
        """An ensemble module of ``network`` for this objective.

        ``members`` lists each member's code width and hidden-width factor
        (see :meth:`skae.networks.BaseNetwork.build_ensemble`).
        """
        return network.build_ensemble(
            n_features, members, code_activation=params.get("code_activation", "identity"),
            output_activation=output_activation)

    def net_params(self, params):
        """Extra keyword arguments of :attr:`net_class`."""
        return {name: params[name] for name in ("sparsity_target", "sparsity_weight",
                                                "activity_l1", "trim_fraction")
                if name in params}

    def callbacks(self, callbacks, params):
        """The ``(name, callback)`` list the net trains with."""
        return callbacks

    def batch_scores(self, module, criterion, Xb, draws=None, target=None):
        """Score of every row of the scaled batch ``Xb``; higher is more typical.

        A row's error is the mean over its observed entries (see
        :mod:`skae._missing`).

        Parameters
        ----------
        module : torch.nn.Module
            The fitted module, in eval mode.
        criterion : skae._net.ReconstructionLoss
            The fitted criterion.
        Xb : torch.Tensor of shape (n_rows, n_features)
        draws : ndarray or None
            Unused; see :meth:`ELBO.batch_scores`.
        target : torch.Tensor of shape (n_rows, n_features), default=None
            The batch with its missing entries NaN, when ``Xb`` is its
            filled input; ``None`` is ``Xb``.

        Returns
        -------
        torch.Tensor of shape (n_rows,), or (n_members, n_rows) for an ensemble
        """
        target = Xb if target is None else target
        return -observed_mean(reconstruction_errors(module, criterion, Xb, target))

    def score_shift(self, loss, input_scale):
        """A constant added to every score (see :meth:`ELBO.score_shift`)."""
        return 0.0

    def loss_name(self, params):
        """What the training loss is, with the penalty terms that are on (an axis label)."""
        name = f"mean {_LOSS_NAMES[params['loss']]} per entry (scaled inputs)"
        penalties = [penalty for penalty, on in (
            ("sparsity", params.get("sparsity_weight", 0)),
            ("L1 activity", params.get("activity_l1", 0))) if on]
        return name + "".join(f" + {penalty} penalty" for penalty in penalties)

    def training_label(self, params):
        """How the training loss differs from the validation loss (a legend entry)."""
        notes = []
        if params.get("noise_std", 0) or params.get("mask_probability", 0):
            notes.append("corrupted inputs")
        trim = params.get("trim_fraction", 0)
        if trim:
            notes.append(f"worst {trim:.0%} of each batch left out")
        return "training" + (f" ({', '.join(notes)})" if notes else "")

    def fitted_attributes(self, net, seed, n_components):
        """The objective's own fitted attributes of the trained ``net``."""
        return {}


class ELBO(Reconstruction):
    """Maximise the evidence lower bound; a row's score is its ELBO.

    Reads ``beta`` and ``kl_warmup_epochs`` from the estimator's parameters.
    """

    net_class = VAENet

    # Options of the estimators that a variational autoencoder has no use
    # for: the value that leaves each off, and why. An estimator that does
    # not have the parameter (VAETransformer) is not asked.
    UNSUPPORTED: ClassVar[dict] = {
        "code_activation": ("identity", "the code is a Gaussian sample"),
        "sparsity_weight": (0.0, "the KL term already regularises the code"),
        "activity_l1": (0.0, "the KL term already regularises the code"),
        "pretrain_epochs": (0, "layer-wise pre-training needs a deterministic network"),
    }

    def check(self, params, owner):
        for name, (off, reason) in self.UNSUPPORTED.items():
            if name in params and params[name] != off:
                raise ValueError(
                    f"{name}={params[name]!r} does not apply to the variational "
                    f"autoencoder of {owner} ({reason}); leave it at {off!r}."
                )
        if params["optimizer"] == "lbfgs":
            raise ValueError(
                f"The variational autoencoder of {owner} does not support "
                "optimizer='lbfgs': its objective is stochastic (sampled codes), "
                "which breaks the L-BFGS line search; use 'adam' or 'sgd'."
            )

    def build_module(self, network, n_features, n_components, params, output_activation):
        return network.build_variational(n_features, n_components,
                                         output_activation=output_activation)

    def build_ensemble(self, network, n_features, members, params, output_activation):
        return ModuleEnsemble([self.build_module(network, n_features, n_components, params,
                                                 output_activation)
                               for n_components, _ in members],
                              [n_components for n_components, _ in members])

    def net_params(self, params):
        return {"beta": params["beta"], "kl_warmup_epochs": params["kl_warmup_epochs"],
                "trim_fraction": params.get("trim_fraction", 0.0)}

    def callbacks(self, callbacks, params):
        # While the KL weight ramps up the loss rises by design: stopping
        # rules start watching after the warm-up.
        return [("early_stopping",
                 WarmupEarlyStopping(warmup_epochs=params["kl_warmup_epochs"],
                                     **item[1].get_params()))
                if isinstance(item, tuple) and item[0] == "early_stopping" else item
                for item in callbacks]

    def batch_scores(self, module, criterion, Xb, draws=None, target=None):
        """ELBO of every row of the scaled batch ``Xb`` with ``beta=1``, in nats.

        The expectation over the posterior is a Monte Carlo average over the
        fixed antithetic standard normal ``draws`` of :meth:`fitted_attributes`.
        The members of an ensemble are scored one after another.
        """
        if isinstance(module, ModuleEnsemble):
            return torch.stack([self.batch_scores(member, criterion, Xb, draws, target)
                                for member in module.members])
        mean, log_var = module.posterior(Xb)
        std = torch.exp(0.5 * log_var)
        noise = torch.as_tensor(draws[:, :mean.shape[-1]], dtype=Xb.dtype, device=Xb.device)
        target = Xb if target is None else target
        nll = sum(negative_log_likelihood(criterion, module.decode(mean + std * eps), target)
                  for eps in noise) / len(noise)
        return -(nll + kl_divergence(mean, log_var))

    def score_shift(self, loss, input_scale):
        """The log-Jacobian of the scaling, making the ELBO a density of the raw ``X``.

        Not for ``loss='bce'``, whose Bernoulli likelihood is a probability of
        the scaled data.
        """
        return 0.0 if loss == "bce" else -float(np.log(input_scale).sum())

    def loss_name(self, params):
        warmup = (f", KL warm-up {params['kl_warmup_epochs']} epochs"
                  if params["kl_warmup_epochs"] else "")
        loss = ("negative ELBO" if params["beta"] == 1
                else f"reconstruction NLL + {params['beta']:g} x KL")
        return f"{loss} (nats per row{warmup})"

    def fitted_attributes(self, net, seed, n_components):
        history = net.history
        # The fixed draws behind score_samples: repeatable for an integer
        # random_state, shared by all rows so a row's score never depends on
        # the others.
        half = np.random.RandomState(seed).standard_normal((ELBO_DRAWS // 2, n_components))
        return {
            "reconstruction_loss_curve_": list(history[:, "train_reconstruction"]),
            "kl_loss_curve_": list(history[:, "train_kl"]),
            "_elbo_draws_": np.concatenate([half, -half]),
        }


RECONSTRUCTION = Reconstruction()
ELBO_OBJECTIVE = ELBO()
