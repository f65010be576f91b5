"""Ensembles of autoencoders trained as one torch module.

An ensemble module maps a batch of flat rows ``(batch, n_features)`` to the
reconstructions of every member, ``(n_members, batch, n_features)``, so one
optimiser step trains every member on the same batch and one forward pass
scores a batch with all of them. :class:`DenseEnsemble` stacks the weights of
fully connected members (members of different widths are zero-padded to the
widest and masked), so an ensemble costs about one network of its total
width; :class:`ModuleEnsemble` runs any modules one after another, for the
networks that cannot be stacked.

Nothing here imports scikit-learn.
"""

import itertools
import math

import torch
import torch.nn.functional as F
from torch import nn

from ._random import Dropout
from ._torch_modules import ACTIVATIONS, init_weight_


class StackedBatchNorm(nn.Module):
    """Batch normalisation of each member's units over the batch axis.

    Parameters
    ----------
    n_members, n_units : int
    momentum, eps : float
        As for :class:`torch.nn.BatchNorm1d`.
    """

    def __init__(self, n_members, n_units, momentum=0.1, eps=1e-5):
        super().__init__()
        self.momentum, self.eps = momentum, eps
        self.weight = nn.Parameter(torch.ones(n_members, 1, n_units))
        self.bias = nn.Parameter(torch.zeros(n_members, 1, n_units))
        self.register_buffer("running_mean", torch.zeros(n_members, 1, n_units))
        self.register_buffer("running_var", torch.ones(n_members, 1, n_units))

    def forward(self, h):
        if self.training:
            mean = h.mean(dim=1, keepdim=True)
            var = h.var(dim=1, unbiased=False, keepdim=True)
            with torch.no_grad():
                n = h.shape[1]
                self.running_mean.lerp_(mean, self.momentum)
                self.running_var.lerp_(var * n / max(n - 1, 1), self.momentum)
        else:
            mean, var = self.running_mean, self.running_var
        return (h - mean) / torch.sqrt(var + self.eps) * self.weight + self.bias


class DenseEnsemble(nn.Module):
    """Fully connected autoencoders of equal depth, trained as one module.

    Member ``m`` is the autoencoder ``n_features -> *member_sizes[m] ->
    n_features`` whose decoder mirrors its encoder (the last entry of
    ``member_sizes[m]`` is its code width). The weights of all members are
    stacked in ``(n_members, n_in, n_out)`` tensors, zero-padded to the widest
    member; padded units are masked to zero, so they neither act nor learn and
    every member computes exactly its own smaller network.

    Parameters
    ----------
    n_features : int
        Width of the input and of the reconstruction.
    member_sizes : sequence of tuple of int
        Per member, the widths of the encoder's hidden layers followed by the
        code width. All members have the same number of layers.
    activation, code_activation, output_activation : str
        Keys of ``ACTIVATIONS``: hidden layers, coding layer, reconstruction.
    dropout : float, default=0.0
        Dropout probability after every hidden activation.
    batch_norm : bool, default=False
        Per-member batch normalisation before every hidden activation.
    tied_weights : bool, default=False
        Each decoder layer applies the transposed weight of its mirror
        encoder layer, with a bias of its own.
    """

    def __init__(self, n_features, member_sizes, activation="elu", code_activation="identity",
                 output_activation="identity", dropout=0.0, batch_norm=False,
                 tied_weights=False):
        super().__init__()
        member_sizes = [tuple(int(s) for s in sizes) for sizes in member_sizes]
        if len({len(sizes) for sizes in member_sizes}) != 1:
            raise ValueError("every member of a DenseEnsemble needs the same number of layers")
        n_members = len(member_sizes)
        self.code_widths = [sizes[-1] for sizes in member_sizes]
        # On the CPU even under a meta device (skae.load sizes a network on one).
        widths = torch.tensor(member_sizes, device="cpu")  # (n_members, depth + 1)
        encoder = [n_features, *widths.max(dim=0).values.tolist()]
        sizes = [*encoder, *encoder[-2::-1]]
        self.n_members = n_members
        self.tied_weights = tied_weights
        n_layers = len(sizes) - 1
        self.code_layer = len(encoder) - 2
        # Masks of the real units after each layer (None: the reconstruction).
        unit_widths = [*widths.T, *widths.T.flip(0)[1:]]
        for i, member_widths in enumerate(unit_widths):
            units = torch.arange(sizes[i + 1], device="cpu")[None, None, :]
            self.register_buffer(f"mask{i}", (units < member_widths[:, None, None]).float())
        self.activations = [code_activation if i == self.code_layer
                            else output_activation if i == n_layers - 1 else activation
                            for i in range(n_layers)]
        self.weights = nn.ParameterList()
        for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
            if tied_weights and i > self.code_layer:
                continue
            weight = torch.empty(n_members, n_in, n_out)
            for member in weight:  # (n_in, n_out): its transpose is nn.Linear's layout
                init_weight_(member.T, self.activations[i])
            self.weights.append(nn.Parameter(weight))
        self.biases = nn.ParameterList(nn.Parameter(torch.zeros(n_members, 1, n_out))
                                       for n_out in sizes[1:])
        hidden = [i for i in range(n_layers - 1) if i != self.code_layer]
        self.norms = nn.ModuleDict({str(i): StackedBatchNorm(n_members, sizes[i + 1])
                                    for i in hidden} if batch_norm else {})
        self.dropout = Dropout(dropout) if dropout > 0 else None
        self.hidden_layers = set(hidden)
        self.act = nn.ModuleList(ACTIVATIONS[name]() for name in self.activations)

    def _weight(self, i):
        if self.tied_weights and i > self.code_layer:
            return self.weights[len(self.biases) - 1 - i].transpose(1, 2)
        return self.weights[i]

    def _layers(self, h, layers):
        for i in layers:
            h = torch.matmul(h, self._weight(i)) + self.biases[i]
            if str(i) in self.norms:
                h = self.norms[str(i)](h)
            h = self.act[i](h)
            if self.dropout is not None and i in self.hidden_layers:
                h = self.dropout(h)
            mask = getattr(self, f"mask{i}", None)
            if mask is not None:
                h = h * mask
        return h

    def encode(self, x):
        """Codes of every member, ``(n_members, batch, widest code)``, zero-padded."""
        return self._layers(x.unsqueeze(0), range(self.code_layer + 1))

    def decode(self, z):
        """Reconstructions ``(n_members, batch, n_features)`` of member codes."""
        return self._layers(z, range(self.code_layer + 1, len(self.biases)))

    def forward(self, x):
        code = self.encode(x)
        return self.decode(code), code


def _stack_padded(tensors):
    """Stack tensors that differ only in their last width, zero-padding it."""
    width = max(t.shape[-1] for t in tensors)
    return torch.stack([F.pad(t, (0, width - t.shape[-1])) for t in tensors])


class ModuleEnsemble(nn.Module):
    """Any autoencoder modules run one after another, their outputs stacked.

    Outputs of different widths (codes of different sizes) are zero-padded to
    the widest, as in :class:`DenseEnsemble`; a zero-padded code dimension
    of a variational member has zero mean and log-variance, so it adds
    nothing to the KL divergence.

    Parameters
    ----------
    members : sequence of nn.Module
        Autoencoders with the same input width whose ``forward`` returns a
        tuple of tensors.
    code_widths : sequence of int
        The code width of each member.
    """

    def __init__(self, members, code_widths):
        super().__init__()
        self.members = nn.ModuleList(members)
        self.code_widths = [int(width) for width in code_widths]
        self.n_members = len(self.members)

    def forward(self, x):
        outputs = [member(x) for member in self.members]
        return tuple(_stack_padded(parts) for parts in zip(*outputs))

    def encode(self, x):
        return _stack_padded([member.encode(x) for member in self.members])


def trimmed_mean(row_errors, trim_fraction):
    """Mean of each member's row errors, leaving out its worst ``trim_fraction``.

    Parameters
    ----------
    row_errors : torch.Tensor of shape (n_members, batch)
    trim_fraction : float in [0, 1)

    Returns
    -------
    torch.Tensor of shape (n_members,)
    """
    n_rows = row_errors.shape[-1]
    n_kept = max(1, math.ceil(n_rows * (1.0 - trim_fraction)))
    if n_kept >= n_rows:
        return row_errors.mean(dim=-1)
    return torch.topk(row_errors, n_kept, dim=-1, largest=False).values.mean(dim=-1)
