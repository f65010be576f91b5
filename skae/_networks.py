"""PyTorch modules of the autoencoders.

Every autoencoder module here has the same small interface, which is all the
rest of the package relies on:

- ``encode(x)`` returns the code of a batch (for a VAE, the posterior mean);
- ``decode(z)`` returns the reconstruction of a batch of codes;
- ``forward(x)`` returns a tuple whose first element is the reconstruction and
  whose second is the code, so that a loss can add terms on the code.

Constructors take plain arguments so that skorch's ``module__*`` parameters
route to them; nothing here imports scikit-learn.
"""

import itertools

import torch
import torch.nn.functional as F
from torch import nn

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


def init_linear(layer, activation):
    """Initialise a linear layer for the activation that follows it."""
    if activation in _HE_INIT:
        nn.init.kaiming_uniform_(layer.weight, nonlinearity="relu")
    else:
        nn.init.xavier_uniform_(layer.weight)
    nn.init.zeros_(layer.bias)


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
            layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


def _starts_block(layer):
    return isinstance(layer, (nn.Linear, TiedLinear))


def dense_blocks(stack):
    """Split a :func:`dense_stack` into its layers, each with its own normalisation,
    activation and dropout; the blocks share their modules with ``stack``."""
    starts = [i for i, layer in enumerate(stack) if _starts_block(layer)]
    return [stack[a:b] for a, b in zip(starts, [*starts[1:], len(stack)])]


class SequentialAutoencoder(nn.Module):
    """An autoencoder made of an encoder and a decoder module.

    Parameters
    ----------
    encoder, decoder : nn.Module
        Map inputs to codes and codes to reconstructions.
    """

    def __init__(self, encoder, decoder):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder

    def encode(self, x):
        return self.encoder(x)

    def decode(self, z):
        return self.decoder(z)

    def forward(self, x):
        code = self.encode(x)
        return self.decode(code), code


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
    """

    def __init__(self, n_features, n_components, hidden_layer_sizes=(),
                 activation="relu", output_activation="identity", dropout=0.0,
                 batch_norm=False):
        super().__init__()
        sizes = [n_features, *hidden_layer_sizes]
        hidden = {"dropout": dropout, "batch_norm": batch_norm}
        self.encoder = dense_stack(sizes, activation, activation, **hidden)
        self.mean = nn.Linear(sizes[-1], n_components)
        self.log_var = nn.Linear(sizes[-1], n_components)
        for head in (self.mean, self.log_var):
            init_linear(head, "identity")
        self.decoder = dense_stack([n_components, *sizes[:0:-1], n_features],
                                   activation, output_activation, **hidden)

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
            code = mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)
        return self.decode(code), mean, log_var
