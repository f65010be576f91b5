"""Parameter documentation shared by the estimators, filled in by :func:`fill_doc`.

Each estimator's ``Parameters`` section is rendered from its own signature:
the names in signature order, each with its default read from the signature,
so a documented default cannot disagree with the real one. The descriptions
come from :data:`PARAMETERS` unless the estimator gives its own.
"""

import inspect

# name: (type, description indented as in a docstring).
PARAMETERS = {
    "n_components": (
        'int',
        """\
        Width of the code: the number of features ``transform`` returns.""",
    ),
    "network": (
        "'dense' or a network object",
        """\
        The network between input and code:
        :class:`~skae.DenseNetwork` (fully connected layers),
        :class:`~skae.ConvNetwork` (convolutions, for images) or
        :class:`~skae.LSTMNetwork` (a sequence-to-sequence LSTM, for windows
        of a time series). ``'dense'`` is shorthand for ``DenseNetwork()``.
        The object holds the network's own options, which
        :class:`~sklearn.model_selection.GridSearchCV` can tune as
        ``network__<option>`` once ``network`` is an object. Input stays 2-D
        for every network: one flattened image or window per row, read with
        the network's ``input_shape``.""",
    ),
    "output_activation": (
        "{'auto', 'identity', 'sigmoid', ...}",
        """\
        Activation of the reconstruction layer (for an
        :class:`~skae.LSTMNetwork`, of the per-step output layer). ``'auto'``
        is ``'sigmoid'`` with ``loss='bce'`` and ``'identity'`` otherwise.""",
    ),
    "code_activation": (
        "{'identity', 'sigmoid', 'tanh', 'relu', ...}",
        """\
        Activation of the coding layer, so of the codes ``transform``
        returns. ``'sigmoid'`` gives codes in (0, 1), as the sparsity penalty
        needs.""",
    ),
    "loss": (
        "{'mse', 'mae', 'huber', 'bce'}",
        """\
        Reconstruction error minimised in training and reported by
        ``score_samples``: squared, absolute, Huber, or binary cross-entropy
        (for data in [0, 1]; use it with ``scaling='minmax'`` or ``None``).""",
    ),
    "noise_std": (
        'float',
        """\
        Denoising: standard deviation of Gaussian noise added to the
        (scaled) training inputs; the reconstruction target stays the clean
        input. Noise is drawn afresh for every optimiser step and never at
        inference.""",
    ),
    "mask_probability": (
        'float in [0, 1)',
        """\
        Denoising by masking: each entry of a training input is set to zero
        (the feature mean with ``scaling='standard'``) with this probability;
        the target stays clean. Combines with ``noise_std``.""",
    ),
    "sparsity_target": (
        'float in (0, 1)',
        """\
        Mean activation that the sparsity penalty pulls each coding unit
        towards. Used when ``sparsity_weight > 0``.""",
    ),
    "sparsity_weight": (
        'float',
        """\
        Weight of the sparsity penalty: the Kullback-Leibler divergence
        between ``sparsity_target`` and each coding unit's mean activation
        over a mini-batch, summed over the units and added to the loss.
        Needs ``code_activation='sigmoid'``.""",
    ),
    "activity_l1": (
        'float',
        """\
        Weight of an L1 penalty on the code (the sum of absolute code values
        of a row, averaged over the mini-batch), added to the loss.""",
    ),
    "scaling": (
        "{'standard', 'center', 'minmax'} or None",
        """\
        How features are scaled before they reach the network:
        zero mean and unit variance, zero mean only (as PCA does), the [0, 1]
        range of the training data, or not at all. Reconstructions are
        returned in the original units, and reconstruction errors are measured in the scaled space, so that every
        feature counts alike.""",
    ),
    "categorical_features": (
        "{'from_dtype'}, array-like of int, str or bool, or None",
        """\
        The categorical columns. ``'from_dtype'`` takes the pandas
        categorical, string and object columns of a DataFrame; an array
        gives their indices, names or a boolean mask. Each becomes a one-hot
        block in the network and a softmax cross-entropy term in the loss, on
        the numeric columns' scale: predicting the training frequencies
        costs it what predicting a constant costs the average numeric column
        (``categorical_error_scale_``). A missing entry (NaN or ``None``) is
        missing, not a category. ``None`` takes numeric columns only.""",
    ),
    "handle_unknown": (
        "{'error', 'ignore', 'max_error'}",
        """\
        A category not seen in training, at transform or scoring time:
        ``'error'`` raises, ``'ignore'`` treats it as a missing entry, and
        ``'max_error'`` scores it as if it were the category the network
        finds least likely: the outlier detector's default, for which an
        unseen category is evidence of an abnormal row.""",
    ),
    "optimizer": (
        "{'adam', 'sgd', 'lbfgs'}",
        """\
        How the weights are trained: Adam on mini-batches; stochastic
        gradient descent with Nesterov momentum 0.9 on mini-batches; or
        full-batch L-BFGS with a strong-Wolfe line search, at most 20
        iterations per epoch. L-BFGS ignores ``learning_rate`` and
        ``batch_size``; it suits small data and smooth, noise-free objectives
        (it is what makes a linear autoencoder recover PCA exactly).""",
    ),
    "learning_rate": (
        'float',
        """\
        Step size of the Adam and SGD optimisers.""",
    ),
    "weight_decay": (
        'float',
        """\
        L2 penalty on the weights: ``weight_decay * w`` is added to each
        gradient (Adam's and SGD's ``weight_decay``; for L-BFGS the matching
        term ``weight_decay / 2 * ||w||^2`` joins the objective).""",
    ),
    "batch_size": (
        'int',
        """\
        Rows per mini-batch; capped at the number of training rows.""",
    ),
    "max_steps": (
        'int',
        """\
        Training budget in optimiser steps (mini-batches; one full-batch step
        for L-BFGS). Training runs in passes over the data and the pass that
        reaches the budget is cut short; a stopping rule may end it earlier.
        The budget does not depend on the number of rows, unlike a number of
        epochs.""",
    ),
    "pretrain_epochs": (
        'int',
        """\
        Greedy layer-wise pre-training when positive: before the whole
        network is trained, each encoder layer and its mirror decoder layer
        are trained for this many epochs as a shallow autoencoder of the
        previous layer's outputs, outermost first. The first pair uses
        ``loss``, the inner pairs the squared error; noise options apply to
        each pair's input, code penalties only to the whole network.""",
    ),
    "early_stopping": (
        "'auto' or bool",
        """\
        Hold out ``validation_fraction`` of the training rows, stop when their
        loss has not improved by ``tol`` for ``n_iter_no_change`` epochs, and
        keep the weights of the epoch with the lowest validation loss (even
        when it improved on the one before by less than ``tol``). A network
        that starts at PCA's solution (``DenseNetwork(linear_path=...)``)
        has that start compared too, so the weights kept reconstruct the
        held-out rows at least as well as the start. When False, training
        stops when the training loss has not improved that way, or at
        ``max_steps``. ``'auto'`` is True when the held-out share is at least
        5 rows (from 41 rows with ``validation_fraction=0.1``), else
        False.""",
    ),
    "validation_fraction": (
        'float',
        """\
        Share of the rows held out when ``early_stopping=True``.""",
    ),
    "n_iter_no_change": (
        'int',
        """\
        Epochs without an improvement of at least ``tol`` before stopping.""",
    ),
    "tol": (
        'float',
        """\
        Smallest decrease of the monitored loss that counts as improvement.""",
    ),
    "device": (
        'str',
        """\
        Where the network trains and runs: ``'auto'`` (CUDA when available,
        otherwise the CPU), ``'cpu'``, ``'cuda'`` or ``'cuda:N'``. Outputs are
        always NumPy arrays on the CPU.""",
    ),
    "n_jobs": (
        "int or None",
        """\
        Number of CPU threads torch uses in ``fit`` and in inference on the
        CPU. ``None`` means 1; ``-1`` means all CPUs. One thread is the
        right choice for the small networks of tabular data: they gain
        nothing from more, and threads that wait on one another make a fit
        many times slower when anything else is using the CPU. Raise it for
        large networks (images, wide layers) on an otherwise idle machine.
        The setting is restored when the call returns. No effect on CUDA
        computations.""",
    ),
    "compile": (
        "bool or {'default', 'reduce-overhead', 'max-autotune'}",
        """\
        Compile the network's training step with ``torch.compile``. ``True``
        uses CUDA graphs (mode ``'reduce-overhead'``) on CUDA, where launching
        every kernel is what a small step costs, and mode ``'default'`` on
        the CPU; a string names the mode. The fitted ``net_.module_`` stays
        the eager module, so the estimator pickles as before, and inference
        runs eagerly. The first steps pay the compilation (seconds to
        minutes). Where compiling fails (no C compiler, an unsupported
        platform), a ``RuntimeWarning`` says why and training goes on
        eagerly. See :doc:`/user_guide/performance`.""",
    ),
    "callbacks": (
        'list of skorch callbacks',
        """\
        Extra skorch callbacks (for instance a learning-rate scheduler). They
        are copied at ``fit``; the trained copies are in ``net_.callbacks_``.""",
    ),
    "random_state": (
        'int, RandomState instance or None',
        """\
        Seeds weight initialisation, shuffling and the validation split. An
        integer makes fits on the CPU repeatable. The global NumPy and torch
        generators are left as they were.""",
    ),
    "verbose": (
        'int',
        """\
        ``1`` prints one progress line: steps done out of ``max_steps``, the
        loss, the time spent and the time left at most (rewritten in place on
        a terminal, a line per tenth of the budget elsewhere). ``2`` or more
        prints skorch's per-epoch table instead.""",
    ),
}

AUTOENCODER_ATTRIBUTES = """\
n_components_ : int
        Width of the code.

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during ``fit``, when ``X`` has string column
        names.

    input_offset_, input_scale_ : ndarray of shape (n_features_in_,)
        The network sees ``(X - input_offset_) / input_scale_``.

    missing_fill_ : ndarray of shape (n_features_in_,)
        The mean of each training column, missing (NaN) entries ignored: the
        network's input in place of a missing entry. Missing entries are
        left out of the loss and of every error and score.

    is_categorical_ : ndarray of bool of shape (n_features_in_,)
        Which columns are categorical, when ``categorical_features`` names
        any. The scaling arrays above then have one entry per numeric column
        and then one per category of each categorical column.

    categories_ : list of ndarray
        The sorted training categories of each categorical column, when
        there are any.

    categorical_error_scale_ : ndarray of shape (n_categorical_columns,)
        The factor on each categorical column's negative log-likelihood, when
        there are any: the numeric columns' mean error when predicted by a
        constant (their mean or median, under ``loss`` and ``scaling``; 1
        without numeric columns) over the column's training entropy, so that
        predicting the training frequencies costs each column that error.

    net_ : skorch.NeuralNet
        The fitted skorch net; ``net_.module_`` is the torch module and
        ``net_.history`` the training history.

    loss_curve_ : list of float
        Training loss at the end of each epoch (pass over the data).

    validation_scores_ : list of float
        Negative validation loss of each epoch, when ``early_stopping=True``.

    best_validation_score_ : float
        The validation score of the returned weights, those of the epoch with
        the best ``validation_scores_`` (after the KL warm-up of a variational
        autoencoder), when ``early_stopping=True``.

    n_iter_ : int
        Number of epochs (passes over the data, the last one possibly cut
        short by ``max_steps``) run.

    n_steps_ : int
        Number of optimiser steps taken.

    device_ : str
        Device the network lives on."""

VAE_ATTRIBUTES = """\
reconstruction_loss_curve_ : list of float
        Per epoch, the mean negative log-likelihood of the training rows given
        their sampled codes (nats per row, in the scaled space).

    kl_loss_curve_ : list of float
        Per epoch, the mean KL divergence of the posterior from the prior
        (nats per row), before the ``beta`` and warm-up weights."""

_VAE_PARAMETERS = {
    "beta": (
        "float",
        """\
        Weight of the KL term; 1 is the standard VAE, larger values give
        smoother, more disentangled codes and blurrier reconstructions.
        Must be positive: without the KL term there is no generative model.""",
    ),
    "kl_warmup_epochs": (
        "int",
        """\
        Number of epochs over which the KL weight ramps up linearly: in
        epoch ``e`` (counted from 1) it is
        ``beta * min(1, e / (kl_warmup_epochs + 1))``, so the KL term acts from
        the first epoch and has its full weight after the warm-up. This helps
        against posterior collapse. Early stopping starts counting after the
        warm-up.""",
    ),
}
PARAMETERS.update(_VAE_PARAMETERS)

_SECTIONS = {
    "{autoencoder_attributes}": AUTOENCODER_ATTRIBUTES,
    "{vae_attributes}": VAE_ATTRIBUTES,
}


def _render(name, default, entry):
    kind, description = entry
    if default is inspect.Parameter.empty:
        return f"{name} : {kind}\n{description}"
    return f"{name} : {kind}, default={default!r}\n{description}"


def fill_doc(own=None):
    """Class decorator: render the class's ``{parameters}`` and shared sections.

    Parameters
    ----------
    own : dict, default=None
        ``{name: (type, description)}`` entries of the class, used instead of
        those of :data:`PARAMETERS`.

    Returns
    -------
    decorate : callable
        Fills ``cls.__doc__`` and returns ``cls``. A class without a docstring
        (``python -OO``) is returned as it is.
    """
    entries = {**PARAMETERS, **(own or {})}

    def decorate(cls):
        if cls.__doc__ is None:
            return cls
        parameters = [p for p in inspect.signature(cls.__init__).parameters.values()
                      if p.name != "self"]
        rendered = "\n\n    ".join(_render(p.name, p.default, entries[p.name])
                                    for p in parameters)
        doc = cls.__doc__.replace("{parameters}", rendered)
        for marker, text in _SECTIONS.items():
            doc = doc.replace(marker, text)
        cls.__doc__ = doc
        return cls

    return decorate
