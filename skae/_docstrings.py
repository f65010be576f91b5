"""Parameter documentation shared by the estimators, filled in by :func:`fill_doc`."""

AUTOENCODER_PARAMETERS = """\
n_components : int, default=2
        Width of the code: the number of features ``transform`` returns.

    network : {'dense', 'conv', 'lstm'}, default='dense'
        The network between input and code. ``'dense'``: fully connected
        layers. ``'conv'``: convolution + max-pooling blocks for images, then
        dense layers to the code; transposed convolutions decode. ``'lstm'``:
        a sequence-to-sequence LSTM autoencoder for windows of a time series
        (the last hidden state is mapped to the code, the code is repeated
        at every time step and an LSTM decoder with a per-step linear layer
        rebuilds the window). Input stays 2-D for every network: one
        flattened image or window per row, read with ``input_shape``.

    input_shape : tuple of int, default=None
        The shape each row is read as, in C order:
        ``(channels, height, width)`` for ``network='conv'`` (a
        ``(n, 28, 28)`` image array flattened with ``X.reshape(n, -1)`` has
        ``input_shape=(1, 28, 28)``), ``(time_steps, n_features)`` for
        ``network='lstm'`` (the layout of
        :class:`~skae.preprocessing.SlidingWindows`). Required for those
        two; optional for ``'dense'``, where it is only checked. Its product
        must equal the number of features of ``X``.

    conv_channels : tuple of int, default=(16, 32)
        Only used when ``network='conv'``. Output channels of the encoder's
        convolution blocks, from the input towards the code; each block
        halves the image (rounding up) with 2x2 max pooling, and the decoder
        mirrors them with stride-2 transposed convolutions.

    kernel_size : int, default=3
        Only used when ``network='conv'``. Odd side of every convolution
        kernel ('same' padding).

    reverse_decoding : bool, default=False
        Only used when ``network='lstm'``. Decode the window last step
        first, as in sequence-to-sequence autoencoders that reconstruct the
        reversed input; reconstructions are flipped back, so they are always
        returned in the original order.

    hidden_layer_sizes : int or tuple of int, default=(64,)
        An int is one hidden layer. ``'dense'``: widths of the encoder's hidden layers, from the input
        towards the code; the decoder mirrors them. ``()`` gives a
        single-layer encoder and decoder; with ``activation='identity'``
        that is a linear autoencoder, which spans the same subspace as PCA.
        ``'conv'``: widths of the dense layers between the flattened last
        feature map and the code (mirrored in the decoder). ``'lstm'``:
        hidden sizes of the encoder's stacked LSTMs (at least one); the
        decoder stacks them in reverse order.

    activation : {'relu', 'leaky_relu', 'elu', 'selu', 'gelu', 'tanh', \
'sigmoid', 'identity'}, default='elu'
        Activation of the hidden layers (dense and convolution layers).
        Rectifier-type activations get He initialisation, the others Glorot
        initialisation. Not used by ``network='lstm'``, whose cells have
        their fixed sigmoid and tanh gates.

    output_activation : {'auto', 'identity', 'sigmoid', ...}, default='auto'
        Activation of the reconstruction layer (for ``'lstm'``, of the
        per-step output layer). ``'auto'`` is ``'sigmoid'`` with
        ``loss='bce'`` and ``'identity'`` otherwise.

    code_activation : {'identity', 'sigmoid', 'tanh', 'relu', ...}, \
default='identity'
        Activation of the coding layer, so of the codes ``transform``
        returns. ``'sigmoid'`` gives codes in (0, 1), as the sparsity penalty
        needs.

    tied_weights : bool, default=False
        Tie each decoder layer to its mirror encoder layer: it applies the
        transpose of that layer's weight matrix, with a bias of its own. This
        roughly halves the number of trainable parameters.

    dropout : float in [0, 1), default=0.0
        Dropout probability after each hidden activation of the encoder and
        decoder (not on the code or the reconstruction). Active in training
        only. No effect without hidden layers.

    batch_norm : bool, default=False
        Batch normalisation before each hidden activation of the encoder and
        decoder. No effect without hidden layers.

    loss : {'mse', 'mae', 'huber', 'bce'}, default='mse'
        Reconstruction error minimised in training and reported by
        ``score_samples``: squared, absolute, Huber, or binary cross-entropy
        (for data in [0, 1]; use it with ``scaling='minmax'`` or ``None``).

    noise_std : float, default=0.0
        Denoising: standard deviation of Gaussian noise added to the
        (scaled) training inputs; the reconstruction target stays the clean
        input. Noise is drawn afresh for every optimiser step and never at
        inference.

    mask_probability : float in [0, 1), default=0.0
        Denoising by masking: each entry of a training input is set to zero
        (the feature mean with ``scaling='standard'``) with this probability;
        the target stays clean. Combines with ``noise_std``.

    sparsity_target : float in (0, 1), default=0.1
        Mean activation that the sparsity penalty pulls each coding unit
        towards. Used when ``sparsity_weight > 0``.

    sparsity_weight : float, default=0.0
        Weight of the sparsity penalty: the Kullback-Leibler divergence
        between ``sparsity_target`` and each coding unit's mean activation
        over a mini-batch, summed over the units and added to the loss.
        Needs ``code_activation='sigmoid'``.

    activity_l1 : float, default=0.0
        Weight of an L1 penalty on the code (the sum of absolute code values
        of a row, averaged over the mini-batch), added to the loss.

    scaling : {'standard', 'center', 'minmax'} or None, default='standard'
        How features are scaled before they reach the network:
        zero mean and unit variance, zero mean only (as PCA does), the [0, 1]
        range of the training data, or not at all. Reconstructions are returned in the original units, and
        reconstruction errors are measured in the scaled space, so that every
        feature counts alike.

    optimizer : {'adam', 'sgd', 'lbfgs'}, default='adam'
        How the weights are trained: Adam on mini-batches; stochastic
        gradient descent with Nesterov momentum 0.9 on mini-batches; or
        full-batch L-BFGS with a strong-Wolfe line search, at most 20
        iterations per epoch. L-BFGS ignores ``learning_rate`` and
        ``batch_size``; it suits small data and smooth, noise-free objectives
        (it is what makes a linear autoencoder recover PCA exactly).

    learning_rate : float, default=1e-3
        Step size of the Adam and SGD optimisers.

    weight_decay : float, default=0.0
        L2 penalty on the weights: ``weight_decay * w`` is added to each
        gradient (Adam's and SGD's ``weight_decay``; for L-BFGS the matching
        term ``weight_decay / 2 * ||w||^2`` joins the objective).

    batch_size : int, default=128
        Rows per mini-batch; capped at the number of training rows.

    max_epochs : int, default=200
        Most passes over the training data.

    pretrain_epochs : int, default=0
        Greedy layer-wise pre-training when positive: before the whole
        network is trained, each encoder layer and its mirror decoder layer
        are trained for this many epochs as a shallow autoencoder of the
        previous layer's outputs, outermost first. The first pair uses
        ``loss``, the inner pairs the squared error; noise options apply to
        each pair's input, code penalties only to the whole network.

    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training rows, stop when their
        loss has not improved by ``tol`` for ``n_iter_no_change`` epochs, and
        keep the weights of the best epoch. When False, training stops when
        the training loss has not improved that way.

    validation_fraction : float, default=0.1
        Share of the rows held out when ``early_stopping=True``.

    n_iter_no_change : int, default=10
        Epochs without an improvement of at least ``tol`` before stopping.

    tol : float, default=1e-4
        Smallest decrease of the monitored loss that counts as improvement.

    device : str, default='auto'
        Where the network trains and runs: ``'auto'`` (CUDA when available,
        otherwise the CPU), ``'cpu'``, ``'cuda'`` or ``'cuda:N'``. Outputs are
        always NumPy arrays on the CPU.

    callbacks : list of skorch callbacks, default=None
        Extra skorch callbacks (for instance a learning-rate scheduler). They
        are copied at ``fit``; the trained copies are in ``net_.callbacks_``.

    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling and the validation split. An
        integer makes fits on the CPU repeatable. The global NumPy and torch
        generators are left as they were.

    verbose : int, default=0
        Print skorch's per-epoch table when positive."""

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

    net_ : skorch.NeuralNet
        The fitted skorch net; ``net_.module_`` is the torch module and
        ``net_.history`` the training history.

    loss_curve_ : list of float
        Training loss at the end of each epoch.

    validation_scores_ : list of float
        Negative validation loss of each epoch, when ``early_stopping=True``.

    best_validation_score_ : float
        The best of ``validation_scores_``, when ``early_stopping=True``.

    n_iter_ : int
        Number of epochs run.

    device_ : str
        Device the network lives on."""


_VAE_PARAMETERS = """\
beta : float, default=1.0
        {only}Weight of the KL term; 1 is the standard VAE, larger values give
        smoother, more disentangled codes and blurrier reconstructions.
        Must be positive: without the KL term there is no generative model.

    kl_warmup_epochs : int, default=0
        {only}Number of epochs over which the KL weight ramps up linearly: in
        epoch ``e`` (counted from 1) it is
        ``beta * min(1, e / (kl_warmup_epochs + 1))``, so the KL term acts from
        the first epoch and has its full weight after the warm-up. This helps
        against posterior collapse. Early stopping starts counting after the
        warm-up."""

VAE_PARAMETERS = _VAE_PARAMETERS.replace("{only}", "")
# The same, for an estimator where they apply to one backbone only.
VAE_BACKBONE_PARAMETERS = _VAE_PARAMETERS.replace(
    "{only}", "Used with ``backbone='vae'`` only, ignored otherwise.\n        ")

VAE_ATTRIBUTES = """\
reconstruction_loss_curve_ : list of float
        Per epoch, the mean negative log-likelihood of the training rows given
        their sampled codes (nats per row, in the scaled space).

    kl_loss_curve_ : list of float
        Per epoch, the mean KL divergence of the posterior from the prior
        (nats per row), before the ``beta`` and warm-up weights."""

# All but the first entry (n_components), for an estimator that documents
# n_components itself.
AUTOENCODER_PARAMETERS_AFTER_N_COMPONENTS = AUTOENCODER_PARAMETERS.split("\n\n    ", 1)[1]

_SECTIONS = {
    "{autoencoder_parameters}": AUTOENCODER_PARAMETERS,
    "{autoencoder_parameters_after_n_components}": AUTOENCODER_PARAMETERS_AFTER_N_COMPONENTS,
    "{autoencoder_attributes}": AUTOENCODER_ATTRIBUTES,
    "{vae_parameters}": VAE_PARAMETERS,
    "{vae_backbone_parameters}": VAE_BACKBONE_PARAMETERS,
    "{vae_attributes}": VAE_ATTRIBUTES,
}


def fill_doc(obj):
    """Substitute the shared sections into ``obj.__doc__`` and return ``obj``."""
    for marker, text in _SECTIONS.items():
        obj.__doc__ = obj.__doc__.replace(marker, text)
    return obj
