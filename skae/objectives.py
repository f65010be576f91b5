"""Objectives as parameter objects: the ``objective`` parameter of the outlier detector.

An objective object says what the networks are trained to minimise and
holds the settings that only that objective has, so that an estimator never
lists a parameter it ignores::

    AutoencoderOutlierDetector(objective=VAE(beta=0.5, kl_warmup_epochs=5))

Like the network objects of :mod:`skae.networks`, objective objects are
scikit-learn estimators as far as parameters go (``get_params``,
``set_params``, ``clone``), so nested parameters such as ``objective__beta``
work in :class:`~sklearn.model_selection.GridSearchCV`. The training itself
is done by the stateless objectives of :mod:`skae._objectives`, which each
object names in :attr:`BaseObjective.trains`.
"""

from numbers import Integral, Real
from typing import ClassVar

from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval

from ._doc_link import DocLinkMixin
from ._objectives import ELBO_OBJECTIVE, RECONSTRUCTION

__all__ = ["VAE", "BaseObjective", "Reconstruction"]


class BaseObjective(DocLinkMixin, BaseEstimator):
    """The interface of an objective parameter object.

    Subclasses store their constructor arguments unchanged, declare them in
    ``_parameter_constraints`` and name the stateless objective that trains
    with them in :attr:`trains`.
    """

    _parameter_constraints: ClassVar[dict] = {}

    #: The stateless objective of :mod:`skae._objectives` that trains with
    #: these settings.
    trains = None

    def _validated(self):
        self._validate_params()
        return self


class Reconstruction(BaseObjective):
    """Minimise the reconstruction error; a row's score is its negative error.

    The deterministic autoencoder of :class:`~skae.AutoencoderTransformer`.
    Its error is the estimator's ``loss``, and it has no settings of its own.

    See Also
    --------
    VAE : The variational objective.

    Examples
    --------
    >>> from skae import AutoencoderOutlierDetector, Reconstruction
    >>> AutoencoderOutlierDetector(objective=Reconstruction()).objective
    Reconstruction()
    """

    trains = RECONSTRUCTION


class VAE(BaseObjective):
    """Maximise the evidence lower bound (ELBO) of a variational autoencoder.

    The objective of :class:`~skae.VAETransformer` (dense networks only): a
    row's score is its ELBO, which rewards rows the decoder reconstructs
    well from codes the prior finds likely.

    Parameters
    ----------
    beta : float, default=1.0
        Weight of the KL term; 1 is the standard VAE, larger values give
        smoother, more disentangled codes and blurrier reconstructions.
        Must be positive: without the KL term there is no generative model.
    kl_warmup_epochs : int, default=0
        Number of epochs over which the KL weight ramps up linearly: in
        epoch ``e`` (counted from 1) it is
        ``beta * min(1, e / (kl_warmup_epochs + 1))``. Early stopping starts
        counting after the warm-up.

    See Also
    --------
    Reconstruction : The deterministic objective.
    VAETransformer : The variational autoencoder as a transformer.

    Examples
    --------
    >>> from skae import VAE, AutoencoderOutlierDetector
    >>> detector = AutoencoderOutlierDetector(objective=VAE(beta=0.5))
    >>> detector.set_params(objective__kl_warmup_epochs=3).objective
    VAE(beta=0.5, kl_warmup_epochs=3)
    """

    _parameter_constraints: ClassVar[dict] = {
        "beta": [Interval(Real, 0, None, closed="neither")],
        "kl_warmup_epochs": [Interval(Integral, 0, None, closed="left")],
    }

    trains = ELBO_OBJECTIVE

    def __init__(self, beta=1.0, kl_warmup_epochs=0):
        self.beta = beta
        self.kl_warmup_epochs = kl_warmup_epochs


#: The names the ``objective`` parameter takes for default objects.
OBJECTIVE_SHORTHANDS = {"reconstruction": Reconstruction, "vae": VAE}


def resolve_objective(objective):
    """The objective object of an estimator's ``objective`` parameter.

    A string names a default object (:data:`OBJECTIVE_SHORTHANDS`); an object
    is returned as it is, after checking its parameters.
    """
    if isinstance(objective, str):
        return OBJECTIVE_SHORTHANDS[objective]()
    return objective._validated()
