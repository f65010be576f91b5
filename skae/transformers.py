"""Autoencoders as scikit-learn transformers."""

from numbers import Integral
from typing import ClassVar

import numpy as np
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin, _fit_context
from sklearn.utils import check_array, check_scalar
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from . import _inference
from ._base import (
    _INPUT_DTYPES,
    RECONSTRUCTION_PARAMETER_CONSTRAINTS,
    SHARED_PARAMETER_CONSTRAINTS,
    _BaseAutoencoder,
)
from ._categorical import CATEGORICAL_PARAMETER_CONSTRAINTS, fitted_encoding
from ._device import draw_seed
from ._docstrings import fill_doc
from ._objectives import ELBO_OBJECTIVE, VARIATIONAL_PARAMETER_CONSTRAINTS
from ._torch_modules import Encoder
from .networks import DenseNetwork


def _decoded(estimator, Z, dtype=None):
    """Check codes ``Z`` and decode them to the original units.

    The result has the dtype of ``Z``, or ``dtype`` when given.
    """
    check_is_fitted(estimator)
    Z = check_array(Z, dtype=_INPUT_DTYPES)
    if Z.shape[1] != estimator.n_components_:
        raise ValueError(
            f"Z has {Z.shape[1]} features, but {type(estimator).__name__} is "
            f"expecting {estimator.n_components_} features (n_components_) as input."
        )
    decoded = _inference.decode(vars(estimator), Z, dtype or Z.dtype, estimator.n_jobs)
    encoding = fitted_encoding(vars(estimator))  # back to categories
    return decoded if encoding is None else encoding.decode(decoded)


@fill_doc()
class AutoencoderTransformer(ClassNamePrefixFeaturesOutMixin, TransformerMixin,
                             _BaseAutoencoder):
    """Non-linear dimensionality reduction with an autoencoder.

    The network is fully connected by default; ``network=ConvNetwork(...)``
    makes it convolutional, for images, and ``network=LSTMNetwork(...)`` a
    sequence-to-sequence LSTM, for windows of a time series (see
    :class:`~skae.preprocessing.SlidingWindows`). Rows are always flat: the
    network's ``input_shape`` says how to read them as images or windows.

    A drop-in for :class:`~sklearn.decomposition.PCA`: ``transform`` returns
    the code, ``inverse_transform`` the reconstruction in the original units,
    and ``score`` the negative mean reconstruction error, so that
    :class:`~sklearn.model_selection.GridSearchCV` can tune it without a
    scorer. The network is a PyTorch module trained by a skorch net, on CUDA
    when it is available.

    Parameters
    ----------
    {parameters}

    Attributes
    ----------
    {autoencoder_attributes}

    See Also
    --------
    sklearn.decomposition.PCA : The linear analogue.
    VAETransformer : A variational autoencoder with a generative model.
    AutoencoderOutlierDetector : Outlier detection by reconstruction error.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import AutoencoderTransformer
    >>> X, _ = load_digits(return_X_y=True)
    >>> ae = AutoencoderTransformer(n_components=8, max_steps=75, random_state=0)
    >>> codes = ae.fit_transform(X)
    >>> codes.shape
    (1797, 8)
    >>> ae.inverse_transform(codes).shape
    (1797, 64)
    """

    _parameter_constraints: ClassVar[dict] = {
        **SHARED_PARAMETER_CONSTRAINTS,
        **CATEGORICAL_PARAMETER_CONSTRAINTS,
        **RECONSTRUCTION_PARAMETER_CONSTRAINTS,
    }

    def __init__(
        self,
        *,
        n_components=2,
        network="dense",
        output_activation="auto",
        code_activation="identity",
        loss="mse",
        noise_std=0.0,
        mask_probability=0.0,
        sparsity_target=0.1,
        sparsity_weight=0.0,
        activity_l1=0.0,
        scaling="standard",
        categorical_features=None,
        handle_unknown="error",
        optimizer="adam",
        learning_rate=1e-3,
        weight_decay=0.0,
        batch_size=128,
        max_steps=4000,
        pretrain_epochs=0,
        early_stopping="auto",
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        device="auto",
        n_jobs=None,
        compile=False,
        callbacks=None,
        random_state=None,
        verbose=0,
    ):
        self.n_components = n_components
        self.network = network
        self.output_activation = output_activation
        self.code_activation = code_activation
        self.loss = loss
        self.noise_std = noise_std
        self.mask_probability = mask_probability
        self.sparsity_target = sparsity_target
        self.sparsity_weight = sparsity_weight
        self.activity_l1 = activity_l1
        self.scaling = scaling
        self.categorical_features = categorical_features
        self.handle_unknown = handle_unknown
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_steps = max_steps
        self.pretrain_epochs = pretrain_epochs
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

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the autoencoder to ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Train on one more chunk of rows: one pass over ``X``.

        For data that does not fit in memory, or arrives in a stream, as
        :meth:`IncrementalPCA.partial_fit
        <sklearn.decomposition.IncrementalPCA.partial_fit>` and
        :meth:`MLPRegressor.partial_fit
        <sklearn.neural_network.MLPRegressor.partial_fit>`. The first call on
        an unfitted estimator builds the network and fixes the input
        scaling (``scaling``) from the rows of its chunk: give a first chunk
        that represents the data, or scale outside with ``scaling=None``
        (e.g. a :class:`~sklearn.preprocessing.StandardScaler` fitted by its
        own ``partial_fit`` over the chunks first). Every call, including
        the first, does one epoch over its chunk in mini-batches of
        ``batch_size``, continuing the same network and the same optimiser
        state (Adam's moments and step count); ``max_steps``, early stopping,
        ``pretrain_epochs`` and ``callbacks``' stopping rules are ``fit``'s
        and are not used. A call after :meth:`fit` continues the fitted
        model; :meth:`fit` starts a new one. The parameters that shape the
        model must not change between calls (a ``ValueError`` says which
        did). A call that fails leaves the estimator as it was.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            A chunk of training data.
        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        self : object
            The estimator, trained one more epoch.
        """
        return self._partial_fit(X)

    def transform(self, X):
        """Encode ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to encode.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components_)
            The codes, in the dtype of ``X`` (float32 or float64).
        """
        return _inference.encode(vars(self), self._validate_input(X, reset=False),
                                 self.n_jobs)

    def inverse_transform(self, X):
        """Decode codes back to the original feature space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components_)
            Codes, as returned by ``transform``.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features_in_)
            Reconstructions in the original units.
        """
        return _decoded(self, X)

    def encoder_module(self, *, include_scaling=True):
        """The fitted encoder as a new PyTorch module, for a supervised network.

        Unsupervised pre-training for few labels: the module maps rows to
        codes, so it can be the lower layers of a classifier (a skorch
        :class:`~skorch.classifier.NeuralNetClassifier` with
        ``module=nn.Sequential(encoder, nn.Linear(n_components_, n_classes))``
        and ``criterion=nn.CrossEntropyLoss``) that is fine-tuned on the
        labelled rows; see :ref:`finetuning`. The module is a copy of the
        fitted weights (training it leaves the estimator unchanged), without
        the decoder, in float32, on the CPU (skorch moves it to its
        ``device``) and in training mode. Like any torch module it can be
        pickled and deep-copied, so the classifier can be cloned by
        :class:`~sklearn.model_selection.GridSearchCV`. On a
        :class:`VAETransformer` it returns the posterior mean, as ``transform``
        does.

        Parameters
        ----------
        include_scaling : bool, default=True
            Whether the module applies the fitted input scaling
            (``(x - input_offset_) / input_scale_``, as fixed buffers) before
            encoding, so that it takes raw rows like :meth:`transform`. With
            ``False`` it expects rows already scaled (it is the bare network).

        Returns
        -------
        encoder : torch.nn.Module
            Maps a float tensor of shape ``(batch, n_features_in_)`` to codes
            of shape ``(batch, n_components_)``; float64 input is cast to
            float32. A missing (NaN) entry is given ``missing_fill_``, as in
            :meth:`transform`.

        Examples
        --------
        >>> import torch
        >>> from sklearn.datasets import load_digits
        >>> from skae import AutoencoderTransformer
        >>> X, y = load_digits(return_X_y=True)
        >>> ae = AutoencoderTransformer(n_components=8, max_steps=75, random_state=0).fit(X)
        >>> encoder = ae.encoder_module()
        >>> codes = encoder(torch.as_tensor(X[:3], dtype=torch.float32))
        >>> codes.shape
        torch.Size([3, 8])
        >>> bool(torch.allclose(codes, torch.as_tensor(ae.transform(X[:3]), dtype=torch.float32),
        ...                     atol=1e-4))
        True

        A classifier whose lower layers are the pre-trained encoder:

        >>> from skorch import NeuralNetClassifier
        >>> from torch import nn
        >>> clf = NeuralNetClassifier(nn.Sequential(encoder, nn.Linear(8, 10)),
        ...                           criterion=nn.CrossEntropyLoss, max_epochs=2,
        ...                           train_split=None, verbose=0)
        >>> clf.fit(X.astype("float32"), y).predict(X[:3].astype("float32")).shape
        (3,)
        """
        check_is_fitted(self)
        if not isinstance(include_scaling, bool):
            raise TypeError(f"include_scaling must be True or False, got {include_scaling!r}.")
        offset, scale = self.input_offset_, self.input_scale_
        fill = getattr(self, "missing_fill_", offset)  # a missing entry's input
        if not include_scaling:
            fill = (fill - offset) / scale
            offset, scale = np.zeros_like(offset), np.ones_like(scale)
        return Encoder(self.net_.module_, offset, scale, fill).float().cpu().train()

    def score_samples(self, X):
        """Negative reconstruction error of every sample.

        The error is the mean over features of ``loss`` (over the observed
        features of a row with missing values), measured in the scaled space
        the network was trained in. Higher is better.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            Float64 scores.
        """
        return self._score_samples(self._validate_input(X, reset=False))

    def score(self, X, y=None):
        """Mean of :meth:`score_samples`, the default for model selection.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data.
        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        score : float
            Mean of :meth:`score_samples`.
        """
        return float(self.score_samples(X).mean())

    @property
    def _n_features_out(self):
        return self.n_components_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


_VAE_NETWORK = {
    "network": (
        "'dense' or DenseNetwork",
        """\
        The fully connected network of the encoder trunk and the decoder; the
        trunk ends in the posterior mean and log-variance heads. ``'dense'``
        is shorthand for ``DenseNetwork()``. Only dense networks are
        supported.""",
    ),
}


@fill_doc(_VAE_NETWORK)
class VAETransformer(AutoencoderTransformer):
    """Variational autoencoder: probabilistic codes, new samples and an ELBO score.

    The encoder maps a row to a Gaussian posterior over the code (a mean and
    a log-variance per dimension); training maximises the evidence lower
    bound (ELBO), the expected log-likelihood of the row under the decoder,
    with codes drawn by the reparameterisation trick, minus ``beta`` times the
    KL divergence of the posterior from the N(0, I) prior. ``transform``
    returns the posterior mean, ``inverse_transform`` the decoder mean,
    :meth:`sample` decodes draws from the prior, and ``score`` is the mean
    ELBO, so :class:`~sklearn.model_selection.GridSearchCV` can tune ``beta``
    and ``n_components`` without a scorer.

    ``loss`` chooses the likelihood of the decoder, in the scaled space:
    ``'mse'`` a Gaussian with unit variance (for real-valued data; with the
    default standard scaling the noise variance is the variance of each
    feature, and ``beta < 1`` amounts to assuming less noise), ``'mae'`` a
    Laplace distribution with unit scale, ``'huber'`` the density
    proportional to ``exp(-huber)``, and ``'bce'`` a Bernoulli (for data in
    [0, 1], with ``scaling='minmax'`` or ``None``).

    Parameters
    ----------
    {parameters}

    Attributes
    ----------
    {autoencoder_attributes}

    {vae_attributes}

    See Also
    --------
    AutoencoderTransformer : The deterministic autoencoder.
    sklearn.decomposition.PCA : Linear codes; ``PCA.score`` is also a
        log-likelihood.
    sklearn.mixture.GaussianMixture : Another generative model with ``sample``
        and ``score_samples``.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import VAETransformer
    >>> X, _ = load_digits(return_X_y=True)
    >>> vae = VAETransformer(n_components=4, max_steps=75, random_state=0)
    >>> vae.fit_transform(X).shape
    (1797, 4)
    >>> vae.sample(3, random_state=0).shape
    (3, 64)
    >>> vae.score_samples(X[:2]).shape
    (2,)
    """

    _parameter_constraints: ClassVar[dict] = {
        **SHARED_PARAMETER_CONSTRAINTS,
        **CATEGORICAL_PARAMETER_CONSTRAINTS,
        "network": [StrOptions({"dense"}), DenseNetwork],
        # The stochastic objective breaks the L-BFGS line search.
        "optimizer": [StrOptions({"adam", "sgd"})],
        **VARIATIONAL_PARAMETER_CONSTRAINTS,
    }

    _objective = ELBO_OBJECTIVE

    def __init__(
        self,
        *,
        n_components=2,
        network="dense",
        output_activation="auto",
        loss="mse",
        noise_std=0.0,
        mask_probability=0.0,
        beta=1.0,
        kl_warmup_epochs=0,
        scaling="standard",
        categorical_features=None,
        handle_unknown="error",
        optimizer="adam",
        learning_rate=1e-3,
        weight_decay=0.0,
        batch_size=128,
        max_steps=4000,
        early_stopping="auto",
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        device="auto",
        n_jobs=None,
        compile=False,
        callbacks=None,
        random_state=None,
        verbose=0,
    ):
        self.n_components = n_components
        self.network = network
        self.output_activation = output_activation
        self.loss = loss
        self.noise_std = noise_std
        self.mask_probability = mask_probability
        self.beta = beta
        self.kl_warmup_epochs = kl_warmup_epochs
        self.scaling = scaling
        self.categorical_features = categorical_features
        self.handle_unknown = handle_unknown
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

    def score_samples(self, X):
        """Evidence lower bound (ELBO) of every sample; higher is more typical.

        ``E_q[log p(x | z)] - KL(q(z | x) || p(z))`` with ``beta=1``, whatever
        ``beta`` the model was trained with, so that scores of models with
        different ``beta`` compare. The expectation is a Monte Carlo average
        over 16 codes per row drawn from its posterior with fixed noise
        (antithetic pairs drawn at ``fit`` from ``random_state``), so scores
        are deterministic and a row's score does not depend on the other rows.
        For ``loss`` other than ``'bce'`` the log-likelihood is a density of
        ``X`` in its original units (the log-Jacobian of the scaling is
        included), a lower bound of the ``log p(x)`` that ``PCA.score`` or
        ``GaussianMixture.score`` report; for ``'bce'`` it is the Bernoulli
        log-probability of the scaled data. On a row with missing values the
        log-likelihood is the sum over its observed features times
        ``n_features / n_observed``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            Float64 ELBO of each row, in nats.
        """
        return super().score_samples(X)

    def sample(self, n_samples=1, random_state=None):
        """Generate new rows by decoding draws from the prior N(0, I).

        Parameters
        ----------
        n_samples : int, default=1
            Number of rows to generate.
        random_state : int, RandomState instance or None, default=None
            Seeds the draws; an integer gives the same rows every time. The
            global NumPy and torch generators are left untouched.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features_in_)
            Decoder means of the draws, in the original units (no observation
            noise is added), in the dtype of the training data.
        """
        check_is_fitted(self)
        check_scalar(n_samples, "n_samples", Integral, min_val=1)
        rng = np.random.RandomState(draw_seed(random_state))
        return _decoded(self, rng.standard_normal((n_samples, self.n_components_)),
                        dtype=self._fit_dtype_)
