"""Networks as parameter objects: the ``network`` parameter of every estimator.

A network object holds the options of one network family, checks them and
builds the torch module (see :mod:`skae._torch_modules`) once the estimator knows
the number of features and the width of the code::

    AutoencoderTransformer(network=ConvNetwork(input_shape=(1, 28, 28)))

Network objects are scikit-learn estimators as far as parameters go
(``get_params``, ``set_params``, ``clone``), so nested parameters such as
``network__dropout`` work in :class:`~sklearn.model_selection.GridSearchCV`.
Adding a network family means adding one class here: a subclass of
:class:`BaseNetwork` with its parameters, their ``_parameter_constraints``
and :meth:`~BaseNetwork.build`.
"""

import math
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, StrOptions

from ._deprecation import DEPRECATED, DEPRECATED_CONSTRAINT, renamed
from ._doc_link import DocLinkMixin
from ._ensembles import DenseEnsemble, ModuleEnsemble
from ._torch_modules import (
    ACTIVATIONS,
    ConvAutoencoder,
    DenseAutoencoder,
    LinearPathAutoencoder,
    LSTMAutoencoder,
    VariationalAutoencoder,
)

__all__ = ["BaseNetwork", "ConvNetwork", "DenseNetwork", "LSTMNetwork"]

# hidden_layer_sizes='auto': one layer as wide as the input, within these bounds.
_AUTO_MIN_WIDTH, _AUTO_MAX_WIDTH = 64, 256


def _positive_ints(value, name):
    """``value`` (an int or a flat sequence) as a tuple of positive ints.

    Raises a ValueError naming ``name`` otherwise.
    """
    ints = np.asarray(value)
    if ints.ndim > 1 or (ints.size and (not np.issubdtype(ints.dtype, np.integer)
                                        or ints.min() < 1)):
        raise ValueError(f"{name} must be a positive integer or a flat sequence of "
                         f"positive integers, got {value!r}.")
    return tuple(int(i) for i in ints.reshape(-1))


class BaseNetwork(DocLinkMixin, BaseEstimator):
    """The interface of a network parameter object.

    Subclasses store their constructor arguments unchanged, declare them in
    ``_parameter_constraints`` and implement :meth:`build`.
    """

    _parameter_constraints: ClassVar[dict] = {}

    #: Whether the built module supports greedy layer-wise pre-training
    #: (``pretrain_epochs > 0``).
    supports_pretraining = False

    @property
    def needs_two_rows(self):
        """Whether every training batch needs at least two rows (batch norm)."""
        return False

    def build(self, n_features, n_components, *, code_activation, output_activation):
        """Check the parameters against the data and build the torch module.

        Parameters
        ----------
        n_features : int
            Width of each input row.
        n_components : int
            Width of the code.
        code_activation : str
            Activation of the coding layer.
        output_activation : str
            Activation of the reconstruction.

        Returns
        -------
        module : torch.nn.Module
            An autoencoder module of :mod:`skae._torch_modules`.
        """
        raise NotImplementedError

    def build_variational(self, n_features, n_components, *, output_activation):
        """Build a variational autoencoder module (dense networks only).

        Parameters
        ----------
        n_features : int
            Width of each input row.
        n_components : int
            Width of the code.
        output_activation : str
            Activation of the reconstruction (the decoder mean).

        Returns
        -------
        module : torch.nn.Module
        """
        raise ValueError(
            f"The variational autoencoder supports network=DenseNetwork(...) only, "
            f"got {type(self).__name__}."
        )

    def build_ensemble(self, n_features, members, *, code_activation, output_activation):
        """Build an ensemble of autoencoders trained and scored as one module.

        Here the members are built by :meth:`build` and run one after
        another (:class:`~skae._ensembles.ModuleEnsemble`); a network whose
        members can share stacked weights overrides this.

        Parameters
        ----------
        n_features : int
            Width of each input row.
        members : sequence of (int, float)
            Per member, its code width and a factor in (0, 1] for the widths
            of its hidden layers (used by networks that can vary them).
        code_activation, output_activation : str
            As for :meth:`build`.

        Returns
        -------
        module : torch.nn.Module
            Maps ``(batch, n_features)`` to outputs stacked over the members.
        """
        return ModuleEnsemble([self.build(n_features, n_components,
                                          code_activation=code_activation,
                                          output_activation=output_activation)
                               for n_components, _ in members],
                              [n_components for n_components, _ in members])

    def _checked_input_shape(self, n_features, axes):
        """``input_shape`` as a tuple, checked against ``axes`` and ``n_features``."""
        name = type(self).__name__
        shape = np.asarray(self.input_shape)
        inferred = shape.ndim == 1 and np.count_nonzero(shape == -1) == 1
        if inferred:  # one axis of -1 is inferred, as in numpy.reshape
            known = math.prod(int(side) for side in shape if side != -1)
            shape = np.where(shape == -1, max(n_features // max(known, 1), 1), shape)
        shape = _positive_ints(shape if inferred else self.input_shape, "input_shape")
        if len(shape) != len(axes):
            raise ValueError(f"{name} needs input_shape=({', '.join(axes)}), "
                             f"got input_shape={self.input_shape!r}.")
        if math.prod(shape) != n_features:
            raise ValueError(
                f"{name}(input_shape={shape}) describes rows of {math.prod(shape)} "
                f"features, but X has {n_features} features."
            )
        return shape

    def _validated(self):
        self._validate_params()
        return self


class DenseNetwork(BaseNetwork):
    """A fully connected network, symmetric around its coding layer.

    Parameters
    ----------
    hidden_layer_sizes : 'auto', int or tuple of int, default='auto'
        Widths of the encoder's hidden layers, from the input towards the
        code; the decoder mirrors them. An int is one hidden layer. ``()``
        gives a single-layer encoder and decoder; with
        ``activation='identity'`` that is a linear autoencoder, which spans
        the same subspace as PCA. ``'auto'`` is one hidden layer as wide as
        the input, but at least 64 and at most 256 units; in the ensemble of
        :class:`~skae.AutoencoderOutlierDetector` it is 64 units, which each
        member scales (wider members cost three times the time on 512-column
        embedding tables and scored no better).
    activation : {'relu', 'leaky_relu', 'elu', 'selu', 'gelu', 'tanh', \
'sigmoid', 'identity'}, default='elu'
        Activation of the hidden layers. Rectifier-type activations get He
        initialisation, the others Glorot initialisation.
    dropout : float in [0, 1), default=0.0
        Dropout probability after each hidden activation of the encoder and
        decoder (not on the code or the reconstruction). Active in training
        only. No effect without hidden layers.
    batch_norm : bool, default=False
        Batch normalisation before each hidden activation of the encoder and
        decoder. No effect without hidden layers.
    tied_weights : bool, default=False
        Tie each decoder layer to its mirror encoder layer: it applies the
        transpose of that layer's weight matrix, with a bias of its own. This
        roughly halves the number of trainable parameters. In a variational
        autoencoder the decoder's first layer is tied to the mean head.
    linear_path : 'auto' or bool, default='auto'
        Add a linear encoder and decoder beside the hidden layers, whose
        outputs add to theirs, and start the linear path at the PCA solution
        of the scaled training data with the hidden layers' contribution at
        zero: training starts from PCA's reconstruction and learns the
        non-linear rest. With early stopping on held-out rows (which also
        compares the PCA start), a fit cannot end worse than PCA on those
        rows. ``'auto'`` adds it where it applies: to the single network of
        :class:`~skae.AutoencoderTransformer` with hidden layers, untied
        weights and identity code and output activations. ``True`` raises
        where it does not apply (tied weights, other activations, the
        variational network and the detector's ensemble).

    See Also
    --------
    ConvNetwork : For images.
    LSTMNetwork : For windows of a time series.

    Examples
    --------
    >>> from skae import AutoencoderTransformer, DenseNetwork
    >>> ae = AutoencoderTransformer(network=DenseNetwork(hidden_layer_sizes=(32, 16)))
    >>> ae.set_params(network__dropout=0.1).network
    DenseNetwork(dropout=0.1, hidden_layer_sizes=(32, 16))
    """

    _parameter_constraints: ClassVar[dict] = {
        "hidden_layer_sizes": [StrOptions({"auto"}), "array-like",
                               Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "batch_norm": ["boolean"],
        "tied_weights": ["boolean"],
        "linear_path": ["boolean", StrOptions({"auto"})],
    }

    supports_pretraining = True

    def __init__(self, hidden_layer_sizes="auto", activation="elu", dropout=0.0,
                 batch_norm=False, tied_weights=False, linear_path="auto"):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.tied_weights = tied_weights
        self.linear_path = linear_path

    @property
    def needs_two_rows(self):
        return self.batch_norm

    def _hidden(self, n_features, auto_width=None):
        if isinstance(self.hidden_layer_sizes, str):  # 'auto'
            sizes = (auto_width or min(_AUTO_MAX_WIDTH, max(_AUTO_MIN_WIDTH, n_features)),)
        else:
            sizes = _positive_ints(self.hidden_layer_sizes, "hidden_layer_sizes")
        return {
            "hidden_layer_sizes": sizes,
            "activation": self.activation,
            "dropout": self.dropout,
            "batch_norm": self.batch_norm,
            "tied_weights": self.tied_weights,
        }

    def _no_linear_path(self, where):
        """Check that ``linear_path`` is not asked for ``where``, which has none."""
        if self.linear_path is True:
            raise ValueError(f"linear_path=True does not apply to {where}; use "
                             "linear_path='auto' or False.")

    def build(self, n_features, n_components, *, code_activation, output_activation):
        hidden = self._validated()._hidden(n_features)
        applies = (hidden["hidden_layer_sizes"] and not hidden["tied_weights"]
                   and n_components <= n_features
                   and code_activation == output_activation == "identity")
        if self.linear_path is True and not applies:
            self._no_linear_path("a network with tied weights, no hidden layers, a code "
                                 "wider than the input, or a code or output activation "
                                 "other than 'identity'")
        if self.linear_path and applies:
            hidden.pop("tied_weights")
            return LinearPathAutoencoder(n_features, n_components, **hidden)
        return DenseAutoencoder(n_features, n_components, code_activation=code_activation,
                                output_activation=output_activation, **hidden)

    def build_ensemble(self, n_features, members, *, code_activation, output_activation):
        """Stacked members (:class:`~skae._ensembles.DenseEnsemble`): member ``m``
        has the code width ``members[m][0]`` and hidden layers
        ``members[m][1]`` times as wide as ``hidden_layer_sizes`` (at least 1;
        ``'auto'`` is 64 here)."""
        self._validated()._no_linear_path("the ensemble of AutoencoderOutlierDetector")
        hidden = self._hidden(n_features, auto_width=_AUTO_MIN_WIDTH)
        sizes = hidden.pop("hidden_layer_sizes")
        member_sizes = [(*(max(1, round(width * factor)) for width in sizes), n_components)
                        for n_components, factor in members]
        return DenseEnsemble(n_features, member_sizes, code_activation=code_activation,
                             output_activation=output_activation, **hidden)

    def build_variational(self, n_features, n_components, *, output_activation):
        self._validated()._no_linear_path("the variational autoencoder")
        return VariationalAutoencoder(n_features, n_components,
                                      output_activation=output_activation,
                                      **self._hidden(n_features))


class ConvNetwork(BaseNetwork):
    """A convolutional network for images given as flat rows.

    Convolution + max-pooling blocks, then dense layers to the code;
    transposed convolutions decode. Each row of ``X`` is one image flattened
    in C order.

    Parameters
    ----------
    input_shape : tuple of int
        ``(channels, height, width)`` of one image: a ``(n, 28, 28)`` image
        array flattened with ``X.reshape(n, -1)`` has
        ``input_shape=(1, 28, 28)``. Its product must equal the number of
        features of ``X``; one axis may be -1, inferred from the number of
        features as in :func:`numpy.reshape`.
    channels : tuple of int, default=(16, 32)
        Output channels of the encoder's convolution blocks, from the input
        towards the code; each block halves the image (rounding up) with 2x2
        max pooling, and the decoder mirrors them with stride-2 transposed
        convolutions. At least one.
    kernel_size : int, default=3
        Odd side of every convolution kernel ('same' padding).
    hidden_layer_sizes : int or tuple of int, default=()
        Widths of the dense layers between the flattened last feature map
        and the code (mirrored in the decoder).
    activation : {'relu', 'leaky_relu', 'elu', 'selu', 'gelu', 'tanh', \
'sigmoid', 'identity'}, default='elu'
        Activation of the hidden (convolution and dense) layers.

    See Also
    --------
    DenseNetwork : The fully connected network.

    Examples
    --------
    >>> from skae import AutoencoderTransformer, ConvNetwork
    >>> ae = AutoencoderTransformer(network=ConvNetwork(input_shape=(1, 8, 8)))
    """

    _parameter_constraints: ClassVar[dict] = {
        "input_shape": ["array-like"],
        "channels": ["array-like"],
        "kernel_size": [Interval(Integral, 1, None, closed="left")],
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
    }

    def __init__(self, input_shape, channels=(16, 32), kernel_size=3,
                 hidden_layer_sizes=(), activation="elu"):
        self.input_shape = input_shape
        self.channels = channels
        self.kernel_size = kernel_size
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation

    def build(self, n_features, n_components, *, code_activation, output_activation):
        self._validated()
        input_shape = self._checked_input_shape(n_features, ("channels", "height", "width"))
        channels = _positive_ints(self.channels, "channels")
        if not channels:
            raise ValueError("ConvNetwork needs at least one entry in channels.")
        if self.kernel_size % 2 == 0:
            raise ValueError(
                f"kernel_size must be odd, so that 'same' padding keeps the image "
                f"size; got {self.kernel_size}."
            )
        return ConvAutoencoder(
            input_shape, n_components,
            hidden_layer_sizes=_positive_ints(self.hidden_layer_sizes, "hidden_layer_sizes"),
            conv_channels=channels, kernel_size=self.kernel_size,
            activation=self.activation, code_activation=code_activation,
            output_activation=output_activation,
        )


class LSTMNetwork(BaseNetwork):
    """A sequence-to-sequence LSTM network for windows of a time series.

    The encoder's last hidden state is mapped to the code; the code is
    repeated at every time step and an LSTM decoder with a per-step linear
    layer rebuilds the window. Each row of ``X`` is one window flattened in C
    order, the layout of :class:`~skae.preprocessing.SlidingWindows`.

    Parameters
    ----------
    input_shape : tuple of int
        ``(time_steps, n_features)`` of one window. Its product must equal the
        number of features of ``X``; one axis may be -1, inferred from the
        number of features as in :func:`numpy.reshape`.
    hidden_layer_sizes : int or tuple of int, default=(64,)
        Hidden sizes of the encoder's stacked LSTMs, from the input towards
        the code; the decoder stacks them in reverse order. At least one.
    reverse_decoding : bool, default=False
        Decode the window last step first, as in sequence-to-sequence
        autoencoders that reconstruct the reversed input; reconstructions are
        flipped back, so they are always returned in the original order.
    hidden_sizes : int or tuple of int, default='deprecated'
        Deprecated since 0.4, removed in 0.5: use ``hidden_layer_sizes``.

    See Also
    --------
    DenseNetwork : The fully connected network.

    Examples
    --------
    >>> from skae import AutoencoderTransformer, LSTMNetwork
    >>> ae = AutoencoderTransformer(network=LSTMNetwork(input_shape=(20, 1)))
    """

    _parameter_constraints: ClassVar[dict] = {
        "input_shape": ["array-like"],
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "reverse_decoding": ["boolean"],
        "hidden_sizes": ["array-like", Interval(Integral, 1, None, closed="left"),
                         DEPRECATED_CONSTRAINT],
    }

    def __init__(self, input_shape, hidden_layer_sizes=(64,), reverse_decoding=False,
                 hidden_sizes=DEPRECATED):
        self.input_shape = input_shape
        self.hidden_layer_sizes = hidden_layer_sizes
        self.reverse_decoding = reverse_decoding
        self.hidden_sizes = hidden_sizes

    def build(self, n_features, n_components, *, code_activation, output_activation):
        self._validated()
        input_shape = self._checked_input_shape(n_features, ("time_steps", "n_features"))
        hidden_sizes = _positive_ints(renamed(self, "hidden_sizes", "hidden_layer_sizes"),
                                      "hidden_layer_sizes")
        if not hidden_sizes:
            raise ValueError("LSTMNetwork needs at least one entry in hidden_layer_sizes "
                             "(the hidden sizes of the stacked LSTMs).")
        return LSTMAutoencoder(input_shape, n_components, hidden_layer_sizes=hidden_sizes,
                               code_activation=code_activation,
                               output_activation=output_activation,
                               reverse_decoding=self.reverse_decoding)


def resolve_network(network, shorthands=None):
    """The network object of an estimator's ``network`` parameter.

    A string names a default network: ``'dense'`` is ``DenseNetwork()``, and
    an estimator may add its own names in ``shorthands``
    (``{name: callable returning a network}``). An object is returned as it
    is, after checking its parameters.
    """
    if isinstance(network, str):
        return {"dense": DenseNetwork, **(shorthands or {})}[network]()
    return network._validated()
