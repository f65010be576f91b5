"""PyTorch modules of the autoencoders.

Every autoencoder module here has the same small interface, which is all the
rest of the package relies on:

- ``encode(x)`` returns the code of a batch (for a VAE, the posterior mean);
- ``decode(z)`` returns the reconstruction of a batch of codes;
- ``forward(x)`` returns a tuple whose first element is the reconstruction and
  whose second is the code, so that a loss can add terms on the code.

Every module takes and returns flat rows of shape ``(batch, n_features)``;
the convolutional and recurrent modules reshape them to images or sequences
inside, so the estimators, the data pipeline and the losses only ever see 2-D
arrays.

Constructors take plain arguments so that skorch's ``module__*`` parameters
route to them. The :class:`Encoder` of ``encoder_module`` scales its rows by
:func:`skae._scoring.scale_rows`, as every scoring path does.
"""

import copy
import itertools
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ._random import Dropout, randn_like
from ._scoring import scale_rows

ACTIVATIONS = {
    "identity": nn.Identity,
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "selu": nn.SELU,
    "gelu": nn.GELU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
}

# He initialisation for the rectifier family, Glorot for the rest.
_HE_INIT = {"relu", "leaky_relu", "elu", "selu", "gelu"}


def init_weight_(weight, activation):
    """Initialise a weight of shape ``(n_out, n_in, ...)`` for the activation after it."""
    if activation in _HE_INIT:
        nn.init.kaiming_uniform_(weight, nonlinearity="relu")
    else:
        nn.init.xavier_uniform_(weight)


def init_linear(layer, activation):
    """Initialise a linear or convolution layer for the activation after it.

    Returns the layer, so that it can be initialised where it is built.
    """
    init_weight_(layer.weight, activation)
    nn.init.zeros_(layer.bias)
    return layer


class TiedLinear(nn.Module):
    """A linear layer whose weight is the transpose of another layer's.

    The weight is the mirror layer's own ``Parameter``, so both layers train
    one matrix; only the bias belongs to this layer.

    Parameters
    ----------
    mirror : nn.Linear
        The layer whose weight, transposed, this layer applies.
    """

    def __init__(self, mirror):
        super().__init__()
        self.weight = mirror.weight
        self.bias = nn.Parameter(torch.zeros(mirror.in_features))

    def forward(self, x):
        return F.linear(x, self.weight.t(), self.bias)


def dense_stack(sizes, activation, last_activation, *, dropout=0.0,
                batch_norm=False, mirror=None):
    """A chain of ``Linear`` layers through ``sizes``, each followed by its activation.

    Every layer but the last is followed by ``activation``; the last by
    ``last_activation``. Those inner (hidden) layers get batch normalisation
    before their activation when ``batch_norm`` and dropout after it when
    ``dropout > 0``. Each layer starts a new block in the ``Sequential``
    (see :func:`dense_blocks`).

    With ``mirror``, a stack built through ``sizes[::-1]``, the layers are
    :class:`TiedLinear` layers applying the mirror's weights transposed.
    """
    layers = []
    n_layers = len(sizes) - 1
    mirrored = [m for m in mirror if _starts_block(m)][::-1] if mirror is not None else None
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        hidden = i < n_layers - 1
        act = activation if hidden else last_activation
        if mirrored is not None:
            layers.append(TiedLinear(mirrored[i]))
        else:
            linear = nn.Linear(n_in, n_out)
            init_linear(linear, act)
            layers.append(linear)
        if hidden and batch_norm:
            layers.append(nn.BatchNorm1d(n_out))
        layers.append(ACTIVATIONS[act]())
        if hidden and dropout > 0:
            layers.append(Dropout(dropout))
    return nn.Sequential(*layers)


def _starts_block(layer):
    return isinstance(layer, (nn.Linear, TiedLinear))


def dense_blocks(stack):
    """Split a :func:`dense_stack` into its layers, each with its own normalisation,
    activation and dropout; the blocks share their modules with ``stack``."""
    starts = [i for i, layer in enumerate(stack) if _starts_block(layer)]
    return [stack[a:b] for a, b in zip(starts, [*starts[1:], len(stack)])]


class Autoencoder(nn.Module):
    """The interface of every deterministic autoencoder module.

    Subclasses define ``encode`` and ``decode``; ``forward`` returns the
    reconstruction and the code. ``decoder_parts`` names the submodules that
    only ``decode`` uses, which :class:`Encoder` leaves out.
    """

    decoder_parts = ()

    def encode(self, x):
        raise NotImplementedError

    def decode(self, z):
        raise NotImplementedError

    def forward(self, x):
        code = self.encode(x)
        return self.decode(code), code


class SequentialAutoencoder(Autoencoder):
    """An autoencoder made of an encoder and a decoder module.

    Parameters
    ----------
    encoder, decoder : nn.Module
        Map inputs to codes and codes to reconstructions.
    """

    decoder_parts = ("decoder",)

    def __init__(self, encoder, decoder):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder

    def encode(self, x):
        return self.encoder(x)

    def decode(self, z):
        return self.decoder(z)


class DenseAutoencoder(SequentialAutoencoder):
    """A fully connected autoencoder, symmetric around its coding layer.

    Parameters
    ----------
    n_features : int
        Width of the input and of the reconstruction.
    n_components : int
        Width of the code.
    hidden_layer_sizes : tuple of int
        Widths of the encoder's hidden layers; the decoder mirrors them.
    activation : str
        Activation of the hidden layers (a key of ``ACTIVATIONS``).
    code_activation : str
        Activation of the coding layer.
    output_activation : str
        Activation of the reconstruction.
    tied_weights : bool
        Each decoder layer applies the transposed weights of its mirror
        encoder layer, with a bias of its own.
    dropout : float
        Dropout probability after every hidden activation.
    batch_norm : bool
        Batch normalisation before every hidden activation.
    """

    def __init__(self, n_features, n_components, hidden_layer_sizes=(),
                 activation="relu", code_activation="identity",
                 output_activation="identity", tied_weights=False, dropout=0.0,
                 batch_norm=False):
        sizes = [n_features, *hidden_layer_sizes, n_components]
        hidden = {"dropout": dropout, "batch_norm": batch_norm}
        encoder = dense_stack(sizes, activation, code_activation, **hidden)
        decoder = dense_stack(sizes[::-1], activation, output_activation, **hidden,
                              mirror=encoder if tied_weights else None)
        super().__init__(encoder, decoder)

    def layer_pairs(self):
        """The ``(encoder block, decoder block)`` pairs, outermost first.

        Pair ``i`` maps the input of encoder layer ``i`` to its output and
        back; greedy layer-wise pre-training trains them one at a time. The
        blocks share their parameters with this module.
        """
        return list(zip(dense_blocks(self.encoder), dense_blocks(self.decoder)[::-1]))


class LinearPathAutoencoder(DenseAutoencoder):
    """A linear autoencoder with a non-linear correction beside it.

    ``encode(x) = x A + a + f(x)`` and ``decode(z) = z B + b + g(z)``, where
    ``f`` and ``g`` are the encoder and decoder of a
    :class:`DenseAutoencoder` (identity code and output activations). The
    last layers of ``f`` and ``g`` start at zero and :meth:`start_at` sets
    the linear path to a PCA solution, so training starts from PCA's
    reconstruction and the hidden layers learn what a linear map misses.

    Parameters
    ----------
    n_features, n_components : int
        Widths of the input and of the code.
    **hidden
        The non-linear part's ``hidden_layer_sizes``, ``activation``,
        ``dropout`` and ``batch_norm``, as for :class:`DenseAutoencoder`
        (not ``tied_weights``: a tied layer started at zero would zero its
        mirror, and no gradient would reach either).
    """

    decoder_parts = ("decoder", "linear_decoder")
    # Its start is PCA's solution, a model worth keeping (early stopping
    # compares it with the trained epochs).
    starts_as_pca = True

    def __init__(self, n_features, n_components, **hidden):
        super().__init__(n_features, n_components, code_activation="identity",
                         output_activation="identity", **hidden)
        self.linear_encoder = nn.Linear(n_features, n_components)
        self.linear_decoder = nn.Linear(n_components, n_features)

    def encode(self, x):
        return self.linear_encoder(x) + self.encoder(x)

    def decode(self, z):
        return self.linear_decoder(z) + self.decoder(z)

    def start_at(self, mean, components):
        """Start at the linear autoencoder of ``components``, with no correction.

        Parameters
        ----------
        mean : array-like of shape (n_features,)
            The mean of the (scaled) training rows.
        components : array-like of shape (n_components, n_features)
            Orthonormal principal axes of the training rows, strongest first.
        """
        device = self.linear_encoder.weight.device
        mean, components = (torch.as_tensor(v, dtype=torch.float32, device=device)
                            for v in (mean, components))
        with torch.no_grad():
            self.linear_encoder.weight.copy_(components)
            self.linear_encoder.bias.copy_(-components @ mean)
            self.linear_decoder.weight.copy_(components.T)
            self.linear_decoder.bias.copy_(mean)
            for stack in (self.encoder, self.decoder):
                last = [layer for layer in stack if _starts_block(layer)][-1]
                last.weight.zero_()
                last.bias.zero_()


# Bound of the encoder's log-variance. A soft clamp keeps exp(log_var) between
# about 4.5e-5 and 2.2e4 while leaving a gradient everywhere, so the KL term
# cannot overflow on badly scaled input and the head can still learn.
LOG_VAR_BOUND = 10.0


class VariationalAutoencoder(nn.Module):
    """A fully connected variational autoencoder with a diagonal Gaussian posterior.

    The encoder trunk ends in two linear heads, the posterior mean and
    log-variance of the code; the decoder mirrors the trunk. In training mode
    ``forward`` draws the code with the reparameterisation trick
    ``z = mean + exp(log_var / 2) * eps``; in eval mode it decodes the mean,
    so inference is deterministic.

    Parameters
    ----------
    n_features : int
        Width of the input and of the reconstruction.
    n_components : int
        Width of the code (the latent dimension).
    hidden_layer_sizes : tuple of int
        Widths of the encoder's hidden layers; the decoder mirrors them.
    activation : str
        Activation of the hidden layers (a key of ``ACTIVATIONS``).
    output_activation : str
        Activation of the reconstruction (the decoder mean).
    dropout : float
        Dropout probability after the hidden activations (all but the one
        that feeds the mean and log-variance heads).
    batch_norm : bool
        Batch normalisation before the same hidden activations.
    tied_weights : bool
        The decoder's first layer applies the transposed weight of the mean
        head and each further layer that of its mirror trunk layer, each with
        a bias of its own.
    """

    def __init__(self, n_features, n_components, hidden_layer_sizes=(),
                 activation="relu", output_activation="identity", dropout=0.0,
                 batch_norm=False, tied_weights=False):
        super().__init__()
        sizes = [n_features, *hidden_layer_sizes]
        hidden = {"dropout": dropout, "batch_norm": batch_norm}
        self.encoder = dense_stack(sizes, activation, activation, **hidden)
        self.mean = nn.Linear(sizes[-1], n_components)
        self.log_var = nn.Linear(sizes[-1], n_components)
        for head in (self.mean, self.log_var):
            init_linear(head, "identity")
        mirror = [*self.encoder, self.mean] if tied_weights else None
        self.decoder = dense_stack([n_components, *sizes[:0:-1], n_features],
                                   activation, output_activation, **hidden, mirror=mirror)

    decoder_parts = ("decoder",)

    def posterior(self, x):
        """Mean and (soft-clamped) log-variance of the code of each row."""
        hidden = self.encoder(x)
        log_var = LOG_VAR_BOUND * torch.tanh(self.log_var(hidden) / LOG_VAR_BOUND)
        return self.mean(hidden), log_var

    def encode(self, x):
        return self.posterior(x)[0]

    def decode(self, z):
        return self.decoder(z)

    def forward(self, x):
        mean, log_var = self.posterior(x)
        code = mean
        if self.training:
            code = mean + torch.exp(0.5 * log_var) * randn_like(mean)
        return self.decode(code), mean, log_var


class ConvAutoencoder(Autoencoder):
    """A convolutional autoencoder for images given as flat rows.

    The encoder is a chain of ``Conv2d`` ('same' padding) + activation +
    2x2 max pooling blocks, whose last feature map is flattened and mapped by
    dense layers to the code. The decoder mirrors it: dense layers back to
    the feature map, one stride-2 ``ConvTranspose2d`` + activation per
    pooling step, and a final ``Conv2d`` to the input channels. Pooling
    rounds odd sizes up (7 -> 4) and every transposed convolution is asked
    for the exact size its encoder step started from (4 -> 7), so any image
    size comes back unchanged.

    Parameters
    ----------
    input_shape : tuple of int
        ``(channels, height, width)`` of one image; rows are these images
        flattened in C order.
    n_components : int
        Width of the code.
    hidden_layer_sizes : tuple of int
        Widths of the dense layers between the flattened feature map and the
        code; the decoder mirrors them.
    conv_channels : tuple of int
        Output channels of the encoder's convolution blocks, from the input
        towards the code; one pooling step per block.
    kernel_size : int
        Odd side of every convolution kernel.
    activation, code_activation, output_activation : str
        Activations of the hidden (dense and convolution) layers, of the
        coding layer and of the reconstruction, as in :class:`DenseAutoencoder`.
    """

    def __init__(self, input_shape, n_components, hidden_layer_sizes=(),
                 conv_channels=(16, 32), kernel_size=3, activation="relu",
                 code_activation="identity", output_activation="identity"):
        super().__init__()
        self.input_shape = tuple(input_shape)
        n_channels, height, width = self.input_shape
        padding = kernel_size // 2
        # Spatial size before each pooling step, then after the last one.
        self.map_sizes = [(height, width)]
        blocks = []
        for n_in, n_out in itertools.pairwise([n_channels, *conv_channels]):
            conv = nn.Conv2d(n_in, n_out, kernel_size, padding=padding)
            blocks += [init_linear(conv, activation),
                       ACTIVATIONS[activation](), nn.MaxPool2d(2, ceil_mode=True)]
            self.map_sizes.append(tuple(-(-side // 2) for side in self.map_sizes[-1]))
        self.conv_encoder = nn.Sequential(*blocks)
        self.feature_shape = (conv_channels[-1], *self.map_sizes[-1])
        sizes = [math.prod(self.feature_shape), *hidden_layer_sizes, n_components]
        self.dense_encoder = dense_stack(sizes, activation, code_activation)
        self.dense_decoder = dense_stack(sizes[::-1], activation, activation)
        up_channels = [*conv_channels[::-1], conv_channels[0]]
        self.upsample = nn.ModuleList(
            init_linear(nn.ConvTranspose2d(n_in, n_out, kernel_size, stride=2, padding=padding),
                  activation)
            for n_in, n_out in itertools.pairwise(up_channels)
        )
        self.hidden_activation = ACTIVATIONS[activation]()
        self.output_layer = nn.Sequential(
            init_linear(nn.Conv2d(conv_channels[0], n_channels, kernel_size, padding=padding),
                  output_activation),
            ACTIVATIONS[output_activation](),
        )

    decoder_parts = ("dense_decoder", "upsample", "output_layer")

    def encode(self, x):
        maps = self.conv_encoder(x.reshape(-1, *self.input_shape))
        return self.dense_encoder(maps.flatten(start_dim=1))

    def decode(self, z):
        maps = self.dense_decoder(z).reshape(-1, *self.feature_shape)
        for layer, size in zip(self.upsample, self.map_sizes[-2::-1]):
            maps = self.hidden_activation(layer(maps, output_size=size))
        return self.output_layer(maps).flatten(start_dim=1)


class LSTMAutoencoder(Autoencoder):
    """A sequence-to-sequence LSTM autoencoder for windows given as flat rows.

    The encoder runs stacked LSTMs over the window and maps the last hidden
    state of the top layer to the code. The decoder repeats the code at every
    time step, runs stacked LSTMs (the encoder's widths in reverse) and maps
    each step's hidden state to the features with one shared linear layer.

    Parameters
    ----------
    input_shape : tuple of int
        ``(time_steps, n_features)`` of one window; rows are these windows
        flattened in C order (all features of step 0, then of step 1, ...).
    n_components : int
        Width of the code.
    hidden_layer_sizes : tuple of int
        Hidden sizes of the encoder's stacked LSTMs, from the input towards
        the code; at least one.
    code_activation : str
        Activation of the coding layer.
    output_activation : str
        Activation of the per-step output layer.
    reverse_decoding : bool
        Decode the window last step first (the decoder starts from the steps
        the encoder saw most recently); the output is flipped back, so the
        reconstruction is in the original order either way.
    """

    def __init__(self, input_shape, n_components, hidden_layer_sizes=(64,),
                 code_activation="identity", output_activation="identity",
                 reverse_decoding=False):
        super().__init__()
        self.input_shape = tuple(input_shape)
        self.reverse_decoding = reverse_decoding
        n_features = self.input_shape[1]
        sizes = list(hidden_layer_sizes)
        self.encoder_lstms = _lstm_stack([n_features, *sizes])
        self.to_code = nn.Sequential(
            init_linear(nn.Linear(sizes[-1], n_components), code_activation),
            ACTIVATIONS[code_activation]())
        self.decoder_lstms = _lstm_stack([n_components, *sizes[::-1]])
        self.to_output = nn.Sequential(
            init_linear(nn.Linear(sizes[0], n_features), output_activation),
            ACTIVATIONS[output_activation]())

    decoder_parts = ("decoder_lstms", "to_output")

    def encode(self, x):
        states = x.reshape(-1, *self.input_shape)
        for lstm in self.encoder_lstms:
            states, _ = lstm(states)
        return self.to_code(states[:, -1])

    def decode(self, z):
        n_steps = self.input_shape[0]
        states = z.unsqueeze(1).expand(-1, n_steps, -1).contiguous()
        for lstm in self.decoder_lstms:
            states, _ = lstm(states)
        steps = self.to_output(states)
        if self.reverse_decoding:
            steps = steps.flip(1)
        return steps.flatten(start_dim=1)


def _lstm_stack(sizes):
    return nn.ModuleList(nn.LSTM(n_in, n_out, batch_first=True)
                         for n_in, n_out in itertools.pairwise(sizes))


class Encoder(nn.Module):
    """The encoder of an autoencoder module, with its input scaling, as a module of its own.

    ``forward(x)`` is ``autoencoder.encode((x - offset) / scale)``: raw rows
    of shape ``(batch, n_features)`` to codes of shape ``(batch,
    n_components)``, scaled as the estimator's scorer scales them
    (:func:`skae._scoring.scale_rows`). ``x`` is cast to the dtype of
    ``offset`` first, so float64 batches (what skorch makes of a float64
    NumPy array) work too.

    Parameters
    ----------
    autoencoder : nn.Module
        An autoencoder module (see the module docstring). It is copied
        without the submodules named by its ``decoder_parts``, which only
        decoding uses; the argument is left untouched.
    offset, scale : array-like of shape (n_features,)
        The input scaling, kept as float32 buffers (they move with the
        module, and are not trained).
    fill : array-like of shape (n_features,), default=None
        The value a missing (NaN) entry of ``x`` is given, in the units of
        ``x``; ``None`` is ``offset``. Kept scaled, as the buffer
        ``scaled_fill``.
    """

    def __init__(self, autoencoder, offset, scale, fill=None):
        super().__init__()
        skipped = {id(getattr(autoencoder, name)): None
                   for name in getattr(autoencoder, "decoder_parts", ())}
        self.autoencoder = copy.deepcopy(autoencoder, memo=skipped)
        offset, scale = np.asarray(offset, np.float64), np.asarray(scale, np.float64)
        fill = offset if fill is None else np.asarray(fill, np.float64)
        self.register_buffer("offset", torch.as_tensor(offset, dtype=torch.float32).clone())
        self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.float32).clone())
        self.register_buffer("scaled_fill", torch.as_tensor((fill - offset) / scale,
                                                            dtype=torch.float32).clone())

    def forward(self, x):
        inputs, _ = scale_rows(x, self.offset, self.scale, self.scaled_fill)
        return self.autoencoder.encode(inputs)
