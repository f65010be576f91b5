"""The skorch ``NeuralNet`` that trains every skae network.

There is one training loop in the package: skorch's. It is customised
through skorch's public hooks -- ``get_loss`` for the objective, the iterators
for fast batching, callbacks for stopping rules -- so estimator variants
subclass :class:`AutoencoderNet` and override a single hook. The few
overrides of skorch's machinery, and why each is there, are listed in the
architecture page's "skorch overrides" section. Stopping rules end training
with :class:`StopTraining`, never with a ``KeyboardInterrupt``.
"""

import copy
import math
import warnings
import weakref

import numpy as np
import torch
import torch.nn.functional as F
from skorch import NeuralNet
from skorch.callbacks import Callback, EarlyStopping, PassthroughScoring

from ._data import ArrayDataset, BatchIterator
from ._ensembles import trimmed_mean
from ._missing import entry_errors, observed_mean, observed_sum
from ._random import rand_like, randn_like, seeded_initialisation


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
    """Reconstruction error, averaged over all observed entries of a batch.

    A missing (NaN) entry of the target has a NaN error and is left out of
    the mean (see :mod:`skae._missing`).

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
        """The error of every entry, in the shape of ``reconstruction``.

        ``(n_samples, n_features)``, or ``(n_members, n_samples, n_features)``
        for the reconstructions of an ensemble of the same target rows.
        """
        return entry_errors(_LOSSES[self.loss], reconstruction,
                            target.expand_as(reconstruction))

    def forward(self, reconstruction, target):
        if torch.isnan(target).any():
            return observed_mean(self.elementwise(reconstruction, target), dim=None)
        return _LOSSES[self.loss](reconstruction, target.expand_as(reconstruction),
                                  reduction="mean")


# Each loss read as a likelihood: -log p(x | x_hat) = factor * loss + log Z per
# entry. Squared error is a Gaussian with unit variance, absolute error a
# Laplace with unit scale, Huber error (delta 1) the density proportional to
# exp(-huber), and binary cross-entropy a Bernoulli.
_LIKELIHOODS = {
    "mse": (0.5, 0.5 * math.log(2 * math.pi)),
    "mae": (1.0, math.log(2.0)),
    "huber": (1.0, math.log(math.sqrt(2 * math.pi) * math.erf(1 / math.sqrt(2))
                            + 2 * math.exp(-0.5))),
    "bce": (1.0, 0.0),
}


def negative_log_likelihood(criterion, reconstruction, target):
    """``-log p(target | reconstruction)`` of every row, summed over features, in nats.

    On a row with missing (NaN) entries, the sum over its observed entries
    times ``n_features / n_observed`` (see :func:`skae._missing.observed_sum`).

    Parameters
    ----------
    criterion : ReconstructionLoss
        Its ``loss`` names the likelihood (see ``_LIKELIHOODS``).
    reconstruction, target : torch.Tensor of shape (n_samples, n_features)

    Returns
    -------
    torch.Tensor of shape (n_samples,)
    """
    factor, log_normaliser = _LIKELIHOODS[criterion.loss]
    entries = criterion.elementwise(reconstruction, target)
    return factor * observed_sum(entries) + entries.shape[-1] * log_normaliser


def kl_divergence(mean, log_var):
    """KL divergence of N(mean, exp(log_var)) from N(0, I) for every row, in nats.

    ``-1/2 sum(1 + log_var - exp(log_var) - mean^2)`` over the code dimensions.
    """
    return 0.5 * (torch.exp(log_var) + mean ** 2 - 1.0 - log_var).sum(dim=-1)


class TrainingDivergedError(FloatingPointError):
    """Raised when the training loss of an autoencoder stops being finite."""


def divergence_advice(learning_rate):
    """What to change after training diverged (ends every divergence message)."""
    return (f"Lower learning_rate (now {learning_rate}), keep the input scaling on, "
            "or use a smaller network.")


def _check_trainable_magnitude(dataset):
    """Raise a ValueError naming the data when its scaled values are too large.

    Called once the loss stopped being finite: when the squared norm of a
    scaled row can overflow float32, the data, not the learning rate, is
    what made the loss infinite.
    """
    if not isinstance(dataset, ArrayDataset) or len(dataset) == 0:
        return
    largest = dataset.max_abs()
    limit = math.sqrt(np.finfo(np.float32).max / dataset.X.shape[1])
    if largest > limit:
        raise ValueError(
            f"X has values of magnitude up to {largest:.3g} after scaling; the "
            "network trains in float32, where errors of that size overflow "
            f"(the limit for {dataset.X.shape[1]} features is about {limit:.3g}). "
            "Scale the input (scaling='standard' or 'minmax', or a scikit-learn "
            "scaler before the estimator)."
        )


class DivergenceGuard(Callback):
    """Stop training with a clear error as soon as the epoch loss is not finite."""

    def on_epoch_end(self, net, **kwargs):
        loss = net.history[-1, "train_loss"]
        if not math.isfinite(loss):
            _check_trainable_magnitude(kwargs.get("dataset_train"))
            epoch = len(net.history)
            raise TrainingDivergedError(
                f"Training diverged at epoch {epoch}: the training loss is "
                f"{loss}. " + divergence_advice(net.lr)
            )


class LBFGS(torch.optim.LBFGS):
    """L-BFGS with an L2 penalty, so that ``weight_decay`` means what it means for Adam.

    Adam's ``weight_decay`` adds ``weight_decay * w`` to every gradient, the
    gradient of ``weight_decay / 2 * ||w||^2``; here that term is added to the
    objective the line search sees.
    """

    def __init__(self, params, weight_decay=0.0, **kwargs):
        super().__init__(params, **kwargs)
        self.weight_decay = weight_decay

    def step(self, closure):
        if not self.weight_decay:
            return super().step(closure)

        def penalised():
            loss = closure()
            with torch.no_grad():
                penalty = sum(p.square().sum() for p in self._params)
                for p in self._params:
                    if p.grad is not None:
                        p.grad.add_(p, alpha=self.weight_decay)
            return loss + 0.5 * self.weight_decay * penalty

        return super().step(penalised)


class AutoencoderNet(NeuralNet):
    """A skorch net whose target is its input and whose module is an autoencoder.

    The module's ``forward`` returns ``(reconstruction, code, ...)``; the loss
    is the criterion applied to the reconstruction, plus the code penalties
    below. Subclasses add terms by overriding :meth:`get_loss`. Batches come
    from :class:`~skae._data.BatchIterator` rather than a ``DataLoader``.

    Parameters
    ----------
    noise_std : float, default=0.0
        Standard deviation of the Gaussian noise added to every training
        batch (denoising); the target stays clean.
    mask_probability : float, default=0.0
        Probability that an entry of a training batch is set to zero
        (masking noise); the target stays clean.
    sparsity_target : float, default=0.1
        Mean activation that the KL penalty pulls each coding unit to.
    sparsity_weight : float, default=0.0
        Weight of the KL-divergence sparsity penalty, summed over coding units.
    activity_l1 : float, default=0.0
        Weight of the L1 penalty on the code (sum over units, mean over rows).
    trim_fraction : float in [0, 1), default=0.0
        Share of the rows of every training batch, those with the largest
        loss, left out of the loss (for an ensemble, separately for each
        member): a robust loss for training data that holds outliers.
    compile_mode : str or None, default=None
        A ``torch.compile`` mode (``'default'``, ``'reduce-overhead'``,
        ``'max-autotune'``) for the module's forward pass in training
        steps; ``None`` trains eagerly. ``module_`` stays the eager module
        (its weights, ``state_dict`` and pickles are unchanged); the compiled
        forward shares its parameters, is made at the first training step
        and is not pickled. If compiling fails (no C compiler, an
        unsupported platform), a ``RuntimeWarning`` says why and training
        goes on eagerly. Validation and inference run eagerly.
    *args, **kwargs
        As for :class:`skorch.NeuralNet`.
    """

    def __init__(self, *args, noise_std=0.0, mask_probability=0.0,
                 sparsity_target=0.1, sparsity_weight=0.0, activity_l1=0.0,
                 trim_fraction=0.0, compile_mode=None,
                 iterator_train=BatchIterator, iterator_valid=BatchIterator, **kwargs):
        kwargs.setdefault("iterator_train__shuffle", True)
        # Loading parameters never runs code from the file.
        kwargs.setdefault("torch_load_kwargs", {"weights_only": True})
        super().__init__(*args, iterator_train=iterator_train,
                         iterator_valid=iterator_valid, **kwargs)
        self.noise_std = noise_std
        self.mask_probability = mask_probability
        self.sparsity_target = sparsity_target
        self.sparsity_weight = sparsity_weight
        self.activity_l1 = activity_l1
        self.trim_fraction = trim_fraction
        self.compile_mode = compile_mode

    def __getstate__(self):
        state = super().__getstate__()
        # Compiled code does not pickle, and bound callbacks would pickle
        # twice: both are made again.
        state.pop("_compiled_forward", None)
        state.pop("_listener_cache", None)
        return state

    def _compiled(self):
        """The compiled forward of ``module_`` (made once), or ``None`` to run eagerly."""
        if self.compile_mode is None:
            return None
        compiled = self.__dict__.get("_compiled_forward")
        if compiled is None or (compiled is not False  # False: compiling failed
                                and getattr(compiled, "_orig_mod", self.module_)
                                is not self.module_):  # a new module_: compile it
            try:
                compiled = torch.compile(self.module_, mode=None if self.compile_mode == "default"
                                         else self.compile_mode)
            except Exception as exc:  # noqa: BLE001 - any failure means: run eagerly
                compiled = self._compile_failed(exc)
            # Not registered as one of the net's modules (skorch's __setattr__).
            self.__dict__["_compiled_forward"] = compiled
        return None if compiled is False else compiled

    def _compile_failed(self, exc):
        warnings.warn(
            f"torch.compile(mode={self.compile_mode!r}) failed, so training goes on "
            f"without compiling: {type(exc).__name__}: {exc}".strip(), RuntimeWarning,
            stacklevel=2)
        return False

    def infer(self, x, **fit_params):
        # Training steps run the compiled forward; validation and inference
        # (no gradients, or eval mode) the eager module.
        compiled = (self._compiled() if torch.is_grad_enabled() and self.module_.training
                    else None)
        if compiled is not None:
            return compiled(x, **fit_params)
        if isinstance(x, torch.Tensor):  # a batch of BatchIterator: skip skorch's
            # conversion of other input types (to() is free on the right device)
            return self.module_(x.to(self.device), **fit_params)
        return super().infer(x, **fit_params)

    def train_step_single(self, batch, **fit_params):
        try:
            return super().train_step_single(batch, **fit_params)
        except Exception as exc:
            # torch.compile fails lazily, at the first call of the compiled
            # forward or its backward: then this step runs again eagerly (an
            # error of the model itself is raised again by the eager step).
            if self.__dict__.get("_compiled_forward") in (None, False):
                raise
            self.__dict__["_compiled_forward"] = self._compile_failed(exc)
            for parameter in self.module_.parameters():
                parameter.grad = None
            return super().train_step_single(batch, **fit_params)

    def get_default_callbacks(self):
        # The per-epoch log table costs time even when nothing is printed.
        return [(name, callback) for name, callback in super().get_default_callbacks()
                if name != "print_log" or self.verbose]

    def _set_training(self, training=True):
        # skorch switches modes on every batch; walking the module tree each
        # time is a measurable share of a small network's step, so skip it
        # when the mode is already right.
        modules = [getattr(self, name + "_") for name in self._modules + self._criteria]
        modules = [m for m in modules if isinstance(m, torch.nn.Module)]
        if any(m.training != training for m in modules):
            super()._set_training(training)

    def corrupt(self, X):
        """A noisy copy of the batch ``X`` (``X`` itself when there is no noise).

        The noise comes from the fit's private generator (see
        :mod:`skae._random`), so fits stay repeatable, in threads too, and
        leave the global generators alone; outside a fit, from the global one.
        """
        if self.mask_probability:
            X = X * (rand_like(X) >= self.mask_probability)
        if self.noise_std:
            X = X + self.noise_std * randn_like(X)
        return X

    def initialize_module(self):
        # The initial weights come from torch.nn.init, which draws from the
        # global generator: fork and seed it with the fit's seed, under a lock.
        with seeded_initialisation():
            return super().initialize_module()

    def _listeners(self, method_name):
        """The callbacks of ``callbacks_`` that override ``method_name``, bound.

        The others would run skorch's empty ``Callback`` method: on a small
        network, calling every callback at every batch is a measurable share
        of a step. Made again whenever ``callbacks_`` is replaced.
        """
        cache = self.__dict__.setdefault("_listener_cache", {})
        callbacks, listeners = cache.get(method_name, (None, None))
        if callbacks is not self.callbacks_:
            default = getattr(Callback, method_name, None)
            listeners = [(callback, getattr(callback, method_name))
                         for _, callback in self.callbacks_
                         if getattr(type(callback), method_name, None) is not default
                         or method_name in vars(callback)]
            cache[method_name] = (self.callbacks_, listeners)
        return listeners

    def notify(self, method_name, **cb_kwargs):
        # skorch's notify, calling only the callbacks that listen.
        getattr(self, method_name)(self, **cb_kwargs)
        for callback, method in self._listeners(method_name):
            try:
                method(self, **cb_kwargs)
            except KeyboardInterrupt as exc:
                # skorch's own EarlyStopping, given by the user, stops
                # training by raising KeyboardInterrupt: that is a stop.
                if isinstance(callback, EarlyStopping) and callback.misses_ >= callback.patience:
                    raise StopTraining from exc
                raise

    def fit_loop(self, X, y=None, *args, **kwargs):
        # The end of training that a stopping rule asks for; a user's
        # KeyboardInterrupt (Ctrl-C) is carried past skorch's partial_fit,
        # which would swallow it.
        try:
            return super().fit_loop(X, y, *args, **kwargs)
        except StopTraining:
            return self
        except KeyboardInterrupt as exc:
            raise _Interrupted from exc

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        """Train the module further, as :meth:`skorch.NeuralNet.partial_fit`.

        A stopping rule (:class:`StopTraining`) ends training as in skorch,
        but a ``KeyboardInterrupt`` (Ctrl-C, or one raised by a callback
        other than skorch's ``EarlyStopping``) is raised again, without the
        end-of-training callbacks: training stops and the caller learns it
        did.
        """
        try:
            return super().partial_fit(X, y, classes, **fit_params)
        except _Interrupted as exc:
            raise exc.__cause__ from None

    def train_step(self, batch, **fit_params):
        # Corrupt once per optimiser step (L-BFGS evaluates its closure
        # several times and needs one objective); the target stays clean.
        Xi, yi = batch
        batch = (self.corrupt(Xi), yi)
        if isinstance(self.optimizer_, torch.optim.LBFGS) or self._listeners("on_grad_computed"):
            # skorch's step: a closure the optimiser may call several times,
            # and the gradients shown to the callbacks that ask for them.
            return super().train_step(batch, **fit_params)
        # The same step without the closure machinery nobody listens to.
        self._zero_grad_optimizer()
        step = self.train_step_single(batch, **fit_params)
        self.optimizer_.step()
        return step

    def code_penalty(self, code):
        """Sparsity (KL divergence) and L1 activity penalties on a batch of codes."""
        penalty = code.new_zeros(())
        if self.sparsity_weight:
            rho = self.sparsity_target
            mean = code.mean(dim=0).clamp(1e-6, 1 - 1e-6)
            kl = rho * torch.log(rho / mean) + (1 - rho) * torch.log((1 - rho) / (1 - mean))
            penalty = penalty + self.sparsity_weight * kl.sum()
        if self.activity_l1:
            penalty = penalty + self.activity_l1 * code.abs().sum(dim=1).mean()
        return penalty

    def mean_row_loss(self, row_losses, training):
        """The batch loss from the loss of every row (the last axis).

        In training, the worst ``trim_fraction`` of the rows of each member
        are left out; validation losses are plain means.
        """
        if training and self.trim_fraction:
            return trimmed_mean(row_losses, self.trim_fraction).mean()
        return row_losses.mean()

    def get_loss(self, y_pred, y_true, X=None, training=False):
        if self.trim_fraction:
            loss = self.mean_row_loss(
                observed_mean(self.criterion_.elementwise(y_pred[0], y_true)), training)
        else:  # the plain path: one fused op
            loss = self.criterion_(y_pred[0], y_true)
        if self.sparsity_weight or self.activity_l1:  # no extra ops on the plain path
            loss = loss + self.code_penalty(y_pred[1])
        return loss



class StopTraining(Exception):  # a signal, not an error
    """Raised by a stopping rule's callback to end training after this epoch.

    :meth:`AutoencoderNet.fit_loop` catches it, and training ends as it does
    at ``max_epochs``: the end-of-training callbacks run (skorch's
    ``EarlyStopping`` loads the best weights there).
    """


class _Interrupted(Exception):
    """Carries a user's KeyboardInterrupt past skorch's ``partial_fit``."""


class BestEpochEarlyStopping(EarlyStopping):
    """skorch's ``EarlyStopping`` that keeps the weights of the strictly best epoch.

    The stopping rule is skorch's: training stops after ``patience`` epochs
    in a row that do not improve on the best score by ``threshold``. But
    skorch keeps (``load_best``) the weights of the last epoch that improved
    by ``threshold``; this keeps those of the epoch with the best score, so
    the returned model is the best one trained. ``best_epoch_`` and
    ``best_score_`` describe it.

    Parameters
    ----------
    **kwargs
        Passed to :class:`skorch.callbacks.EarlyStopping`.
    """

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        super().on_train_begin(net, X=X, y=y, **kwargs)
        self.best_score_ = None
        if (self.load_best and self.monitor == "valid_loss"
                and getattr(net.module_, "starts_as_pca", False)):
            # The start is a model worth keeping (PCA's reconstruction):
            # epoch 0 competes with the trained epochs.
            self._keep(net, _validation_loss(net, X, y), epoch=0)
            self.dynamic_threshold_ = self._calc_new_threshold(self.best_score_)

    def _keep(self, net, score, epoch):
        self.best_score_, self.best_epoch_ = score, epoch
        if self.load_best:
            self.best_model_weights_ = copy.deepcopy(net.module_.state_dict())

    def on_epoch_end(self, net, **kwargs):
        score = net.history[-1, self.monitor]
        if self.best_score_ is None or (score < self.best_score_ if self.lower_is_better
                                        else score > self.best_score_):
            self._keep(net, score, net.history[-1, "epoch"])
        # The stopping rule: misses are epochs that improve by less than threshold.
        if self._is_score_improved(score):
            self.misses_ = 0
            self.dynamic_threshold_ = self._calc_new_threshold(score)
        else:
            self.misses_ += 1
        if self.misses_ == self.patience:
            self._sink(f"Stopping since {self.monitor} has not improved in the last "
                       f"{self.patience} epochs.", verbose=net.verbose)
            raise StopTraining


def _validation_loss(net, X, y):
    """The loss of ``net`` on its validation split of ``X``, as skorch logs ``valid_loss``."""
    _, dataset_valid = net.get_split_datasets(X, y)
    losses, sizes = [], []
    for batch in net.get_iterator(dataset_valid, training=False):
        losses.append(net.validation_step(batch)["loss"].item())
        sizes.append(len(batch[0]))
    return float(np.average(losses, weights=sizes))


def returned_epoch(net):
    """The epoch (from 1) whose weights ``net``'s module holds after training.

    That is the best epoch of a :class:`BestEpochEarlyStopping` that loads
    the best weights and saw an epoch, else the last epoch; 0 when the
    weights kept are those training started from.
    """
    for _, callback in net.callbacks_:
        if (isinstance(callback, BestEpochEarlyStopping) and callback.load_best
                and getattr(callback, "best_score_", None) is not None):
            return callback.best_epoch_
    return len(net.history)


def named_callbacks(callbacks):
    """User callbacks as ``(name, callback)`` pairs, deep-copied.

    Parameters
    ----------
    callbacks : list or tuple or None
        skorch callbacks, each a callback object or a ``(name, callback)``
        pair, as skorch takes them. A plain callback is named after its
        class, with a suffix when the name repeats.

    Returns
    -------
    list of (str, Callback)
    """
    named, seen = [], {}
    for item in copy.deepcopy(list(callbacks or ())):
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
            name, callback = item
        else:
            callback = item
            base = type(callback).__name__
            seen[base] = seen.get(base, 0) + 1
            name = base if seen[base] == 1 else f"{base}_{seen[base]}"
        named.append((name, callback))
    return named


def checkpoint(net):
    """What puts the trained state of ``net`` back as it is now.

    The module's weights, the optimiser's state (Adam's moments and step
    counts), the history and the callbacks: what one more ``partial_fit``
    changes in place.

    Parameters
    ----------
    net : skorch.NeuralNet
        An initialised net.

    Returns
    -------
    restore : callable
        Called without arguments, it restores ``net``.
    """
    module = copy.deepcopy(net.module_.state_dict())
    optimizer = copy.deepcopy(net.optimizer_.state_dict())
    n_epochs, callbacks = len(net.history), list(net.callbacks_)

    def restore():
        net.module_.load_state_dict(module)
        net.optimizer_.load_state_dict(optimizer)
        del net.history[n_epochs:]
        net.callbacks_ = callbacks

    return restore


# Float64 inference copies of fitted CPU modules, dropped with their module,
# each beside the version of the weights it was copied from.
_FLOAT64_COPIES = weakref.WeakKeyDictionary()


def _weights_version(module):
    return tuple((tensor._version, tensor.data_ptr())
                 for tensor in [*module.parameters(), *module.buffers()])


def float64_copy(module):
    """A float64 copy of ``module`` in eval mode, made again when its weights change.

    The copy is rebuilt when any parameter or buffer of ``module`` was
    changed in place (``optimizer.step``, ``load_state_dict``) or replaced
    since it was made, so it never serves stale weights.

    Parameters
    ----------
    module : torch.nn.Module

    Returns
    -------
    torch.nn.Module
    """
    version = _weights_version(module)
    cached = _FLOAT64_COPIES.get(module)
    if cached is None or cached[0] != version:
        cached = (version, copy.deepcopy(module).double().eval())
        _FLOAT64_COPIES[module] = cached
    return cached[1]


class WarmupEarlyStopping(BestEpochEarlyStopping):
    """:class:`BestEpochEarlyStopping` that starts watching after ``warmup_epochs``.

    While the KL weight of a VAE ramps up, its loss rises by design; counting
    those epochs as misses would stop training (or restore weights) before
    the real objective is reached.

    Parameters
    ----------
    warmup_epochs : int, default=0
        Epochs ignored at the start of training.
    **kwargs
        Passed to :class:`BestEpochEarlyStopping`.
    """

    def __init__(self, *, warmup_epochs=0, **kwargs):
        super().__init__(**kwargs)
        self.warmup_epochs = warmup_epochs

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) > self.warmup_epochs:
            super().on_epoch_end(net, **kwargs)


class VAENet(AutoencoderNet):
    """A skorch net whose loss is the negative ELBO of a variational autoencoder.

    The module's ``forward`` returns ``(reconstruction, mean, log_var)``. The
    loss of a batch is the mean over its rows of

        -log p(x | z) + beta * kl_weight * KL(q(z | x) || N(0, I)),

    where the first term is summed over features (see
    :func:`negative_log_likelihood`) and the KL term over code dimensions,
    so ``beta=1`` with the warm-up over is the standard negative ELBO per
    sample, in nats. Both parts are recorded per batch and per epoch in the
    history as ``train_reconstruction`` / ``train_kl`` (and ``valid_*``).

    Parameters
    ----------
    beta : float, default=1.0
        Weight of the KL term.
    kl_warmup_epochs : int, default=0
        The KL weight of epoch ``e`` (from 1) is ``min(1, e / (kl_warmup_epochs + 1))``:
        positive from the first epoch, 1 after the warm-up.
    *args, **kwargs
        Passed to :class:`AutoencoderNet`.
    """

    def __init__(self, *args, beta=1.0, kl_warmup_epochs=0, **kwargs):
        super().__init__(*args, **kwargs)
        self.beta = beta
        self.kl_warmup_epochs = kl_warmup_epochs

    def get_default_callbacks(self):
        names = [f"{prefix}_{part}" for prefix in ("train", "valid")
                 for part in ("reconstruction", "kl")]
        parts = [(name, PassthroughScoring(name=name, lower_is_better=None,
                                           on_train=name.startswith("train")))
                 for name in names]
        return [*super().get_default_callbacks(), *parts]

    @property
    def kl_weight(self):
        """Warm-up factor of the KL term in the current epoch."""
        epoch = max(len(self.history), 1)
        return min(1.0, epoch / (self.kl_warmup_epochs + 1))

    def get_loss(self, y_pred, y_true, X=None, training=False):
        reconstruction, mean, log_var = y_pred[:3]
        nll = negative_log_likelihood(self.criterion_, reconstruction, y_true)
        kl = kl_divergence(mean, log_var)
        if self.history and self.history[-1]["batches"]:
            prefix = "train" if training else "valid"
            parts = torch.stack([nll.mean(), kl.mean()]).detach().tolist()
            self.history.record_batch(f"{prefix}_reconstruction", parts[0])
            self.history.record_batch(f"{prefix}_kl", parts[1])
        return self.mean_row_loss(nll + self.beta * self.kl_weight * kl, training)
