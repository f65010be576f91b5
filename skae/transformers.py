"""Autoencoders as scikit-learn transformers."""

from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin, _fit_context

from ._base import _BaseAutoencoder
from ._docstrings import fill_doc


@fill_doc
class AutoencoderTransformer(ClassNamePrefixFeaturesOutMixin, TransformerMixin,
                             _BaseAutoencoder):
    """Non-linear dimensionality reduction with an autoencoder.

    The network is fully connected by default; ``network='conv'`` makes it
    convolutional, for images, and ``network='lstm'`` a sequence-to-sequence
    LSTM, for windows of a time series (see
    :class:`~skae.preprocessing.SlidingWindows`). Rows are always flat:
    ``input_shape`` says how to read them as images or windows.

    A drop-in for :class:`~sklearn.decomposition.PCA`: ``transform`` returns
    the code, ``inverse_transform`` the reconstruction in the original units,
    and ``score`` the negative mean reconstruction error, so that
    :class:`~sklearn.model_selection.GridSearchCV` can tune it without a
    scorer. The network is a PyTorch module trained by a skorch net, on CUDA
    when it is available.

    Parameters
    ----------
    {autoencoder_parameters}

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
    >>> ae = AutoencoderTransformer(n_components=8, max_epochs=5, random_state=0)
    >>> codes = ae.fit_transform(X)
    >>> codes.shape
    (1797, 8)
    >>> ae.inverse_transform(codes).shape
    (1797, 64)
    """

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
        return self._fit(self._validate_input(X, reset=True))

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
        return self._encode(self._validate_input(X, reset=False))

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
        return self._decode(X)

    def score_samples(self, X):
        """Negative reconstruction error of every sample.

        The error is the mean over features of ``loss``, measured in the
        scaled space the network was trained in. Higher is better.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            Float64 scores.
        """
        return -self._reconstruction_errors(self._validate_input(X, reset=False))

    def score(self, X, y=None):
        """Negative mean reconstruction error, the default for model selection.

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
