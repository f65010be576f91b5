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

import torch
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


def dense_stack(sizes, activation, last_activation):
    """A chain of ``Linear`` layers through ``sizes``, each followed by its activation.

    Every layer but the last is followed by ``activation``; the last by
    ``last_activation``.
    """
    layers = []
    n_layers = len(sizes) - 1
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        act = activation if i < n_layers - 1 else last_activation
        linear = nn.Linear(n_in, n_out)
        init_linear(linear, act)
        layers += [linear, ACTIVATIONS[act]()]
    return nn.Sequential(*layers)


class DenseAutoencoder(nn.Module):
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
    """

    def __init__(self, n_features, n_components, hidden_layer_sizes=(),
                 activation="relu", code_activation="identity",
                 output_activation="identity"):
        super().__init__()
        sizes = [n_features, *hidden_layer_sizes, n_components]
        self.encoder = dense_stack(sizes, activation, code_activation)
        self.decoder = dense_stack(sizes[::-1], activation, output_activation)

    def encode(self, x):
        return self.encoder(x)

    def decode(self, z):
        return self.decoder(z)

    def forward(self, x):
        code = self.encode(x)
        return self.decode(code), code


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
    """

    def __init__(self, n_features, n_components, hidden_layer_sizes=(),
                 activation="relu", output_activation="identity"):
        super().__init__()
        sizes = [n_features, *hidden_layer_sizes]
        self.encoder = dense_stack(sizes, activation, activation)
        self.mean = nn.Linear(sizes[-1], n_components)
        self.log_var = nn.Linear(sizes[-1], n_components)
        for head in (self.mean, self.log_var):
            init_linear(head, "identity")
        self.decoder = dense_stack([n_components, *sizes[:0:-1], n_features],
                                   activation, output_activation)

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
