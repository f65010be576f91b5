"""The skorch ``NeuralNet`` that trains every skae network.

There is one training loop in the package: skorch's. It is customised only
through skorch's own hooks -- ``get_loss`` for the objective, the iterators for
fast batching, callbacks for stopping rules -- so estimator variants subclass
:class:`AutoencoderNet` and override a single hook.
"""

import math

import torch
import torch.nn.functional as F
from skorch import NeuralNet
from skorch.callbacks import Callback

from ._data import BatchIterator

def _binary_cross_entropy(reconstruction, target, reduction):
    return F.binary_cross_entropy(reconstruction.clamp(0.0, 1.0),
                                  target.clamp(0.0, 1.0), reduction=reduction)


_LOSSES = {
    "mse": F.mse_loss,
    "mae": F.l1_loss,
    "huber": F.huber_loss,
    "bce": _binary_cross_entropy,
}


class ReconstructionLoss(torch.nn.Module):
    """Reconstruction error, averaged over all entries of a batch.

    Parameters
    ----------
    loss : {'mse', 'mae', 'huber', 'bce'}
        Squared error, absolute error, Huber error (delta 1) or binary cross
        entropy (for targets in [0, 1] and reconstructions through a sigmoid).
    """

    def __init__(self, loss="mse"):
        super().__init__()
        self.loss = loss

    def elementwise(self, reconstruction, target):
        """The error of every entry, shape ``(n_samples, n_features)``."""
        return _LOSSES[self.loss](reconstruction, target, reduction="none")

    def forward(self, reconstruction, target):
        return _LOSSES[self.loss](reconstruction, target, reduction="mean")


class TrainingDivergedError(FloatingPointError):
    """Raised when the training loss of an autoencoder stops being finite."""


class DivergenceGuard(Callback):
    """Stop training with a clear error as soon as the epoch loss is not finite."""

    def on_epoch_end(self, net, **kwargs):
        loss = net.history[-1, "train_loss"]
        if not math.isfinite(loss):
            epoch = len(net.history)
            raise TrainingDivergedError(
                f"Training diverged at epoch {epoch}: the training loss is "
                f"{loss}. Lower learning_rate (now {net.lr}), keep the input "
                "scaling on, or use a smaller network."
            )


class AutoencoderNet(NeuralNet):
    """A skorch net whose target is its input and whose module is an autoencoder.

    The module's ``forward`` returns ``(reconstruction, code, ...)``; the loss
    is the criterion applied to the reconstruction. Subclasses add terms by
    overriding :meth:`get_loss`. Batches come from
    :class:`~skae._data.BatchIterator` rather than a ``DataLoader``.
    """

    def __init__(self, *args, iterator_train=BatchIterator,
                 iterator_valid=BatchIterator, **kwargs):
        kwargs.setdefault("iterator_train__shuffle", True)
        kwargs.setdefault("torch_load_kwargs", {"weights_only": False})
        super().__init__(*args, iterator_train=iterator_train,
                         iterator_valid=iterator_valid, **kwargs)

    @property
    def _default_callbacks(self):
        # The per-epoch log table costs time even when nothing is printed.
        return [(name, callback) for name, callback in super()._default_callbacks
                if name != "print_log" or self.verbose]

    def _set_training(self, training=True):
        # skorch switches modes on every batch; walking the module tree each
        # time is a measurable share of a small network's step, so skip it
        # when the mode is already right.
        modules = [getattr(self, name + "_") for name in self._modules + self._criteria]
        modules = [m for m in modules if isinstance(m, torch.nn.Module)]
        if any(m.training != training for m in modules):
            super()._set_training(training)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        return self.criterion_(y_pred[0], y_true)
