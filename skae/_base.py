"""The shared base of every skae estimator.

It owns everything that is not specific to one estimator: parameter
declarations, input validation, scaling, seeding, device placement, building
and fitting the skorch net, batched inference and reconstruction errors. The
public estimators only say what they return.
"""

import copy
import functools
import inspect
import math
import warnings
import weakref
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_array
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.sparsefuncs import mean_variance_axis, min_max_axis
from sklearn.utils.validation import check_is_fitted, validate_data
from skorch.callbacks import EarlyStopping
from skorch.helper import predefined_split
from skorch.utils import noop

from ._backbones import DENSE, check_options_off
from ._data import ArrayDataset, BatchIterator
from ._device import draw_seed, resolve_device, torch_seeded
from ._net import (
    LBFGS,
    AutoencoderNet,
    DivergenceGuard,
    ReconstructionLoss,
    TrainingDivergedError,
)
from ._networks import ACTIVATIONS, NETWORKS, SequentialAutoencoder

_INPUT_DTYPES = (np.float64, np.float32)
_OPTIMIZERS = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD, "lbfgs": LBFGS}
_INFERENCE_BATCH_SIZE = 4096
# Float64 inference copies of fitted CPU modules, dropped with their module.
_FLOAT64_COPIES = weakref.WeakKeyDictionary()
# A fit this many times worse than reconstructing every row by the mean row
# has diverged (see _BaseAutoencoder._check_not_diverged).
_DIVERGENCE_FACTOR = 100.0
_DIVERGENCE_CHECK_ROWS = 4096


def _scaling_statistics(X, scaling):
    """Offset and scale such that ``(X - offset) / scale`` is the scaled input."""
    n_features = X.shape[1]
    if scaling is None:
        return np.zeros(n_features), np.ones(n_features)
    if scaling in ("standard", "center"):
        if sp.issparse(X):
            offset, variance = mean_variance_axis(X, axis=0)
        else:
            offset, variance = X.mean(axis=0), X.var(axis=0)
        scale = np.sqrt(variance) if scaling == "standard" else np.ones(n_features)
    else:  # "minmax"
        offset, maximum = (min_max_axis(X, axis=0) if sp.issparse(X)
                           else (X.min(axis=0), X.max(axis=0)))
        scale = maximum - offset
    offset = np.asarray(offset, dtype=np.float64)
    scale = np.asarray(scale, dtype=np.float64)
    # Constant features pass through unscaled, as in StandardScaler.
    scale[scale < 10 * np.finfo(np.float64).eps * np.maximum(1.0, np.abs(offset))] = 1.0
    return offset, scale


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


# Options of the fully connected network only, with the values that leave
# them off.
_DENSE_ONLY_OPTIONS = {
    "tied_weights": (False, "only dense layers are tied"),
    "dropout": (0.0, "it acts on dense hidden layers"),
    "batch_norm": (False, "it acts on dense hidden layers"),
}


# The axes of the shape each network reads a flat row as.
_INPUT_AXES = {"conv": ("channels", "height", "width"), "lstm": ("time_steps", "n_features")}


def extends_parameters(base, **defaults):
    """Give a subclass ``__init__`` the parameters of ``base.__init__`` and its own.

    scikit-learn reads an estimator's parameters from the signature of its
    ``__init__``. A subclass that adds parameters writes only those, takes the
    shared ones as ``**base_params`` and passes them to ``super().__init__``;
    this decorator publishes the combined signature, so ``get_params``,
    ``clone`` and the documentation list every parameter, and the shared ones
    are declared once.

    Parameters
    ----------
    base : type
        The class whose ``__init__`` parameters are inherited.
    **defaults
        New default values for inherited parameters. The decorated
        ``__init__`` applies them to the parameters it is not given.
    """
    def decorate(init):
        own = inspect.signature(init).parameters
        inherited = inspect.signature(base.__init__).parameters
        unknown = set(defaults) - set(inherited)
        if unknown:
            raise TypeError(f"{base.__name__} has no parameters {sorted(unknown)}")
        parameters = [own["self"]]
        parameters += [p.replace(default=defaults.get(name, p.default))
                       for name, p in inherited.items() if name != "self"]
        parameters += [p for p in own.values() if p.kind == p.KEYWORD_ONLY]

        @functools.wraps(init)
        def wrapper(self, **params):
            init(self, **{**defaults, **params})

        wrapper.__signature__ = inspect.Signature(parameters)
        return wrapper

    return decorate


class _BaseAutoencoder(BaseEstimator):
    """Validation, scaling, seeding, device and the skorch fit of every estimator.

    The network family -- the torch module, the skorch net that trains it
    and the family's own steps of fitting and scoring -- is ``_backbone``
    (see :mod:`skae._backbones`); the base consults it wherever the families
    differ.
    """

    _parameter_constraints: ClassVar[dict] = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "network": [StrOptions(set(NETWORKS))],
        "input_shape": ["array-like", None],
        "conv_channels": ["array-like"],
        "kernel_size": [Interval(Integral, 1, None, closed="left")],
        "reverse_decoding": ["boolean"],
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "output_activation": [StrOptions(set(ACTIVATIONS) | {"auto"})],
        "code_activation": [StrOptions(set(ACTIVATIONS))],
        "tied_weights": ["boolean"],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "batch_norm": ["boolean"],
        "loss": [StrOptions({"mse", "mae", "huber", "bce"})],
        "noise_std": [Interval(Real, 0, None, closed="left")],
        "mask_probability": [Interval(Real, 0, 1, closed="left")],
        "sparsity_target": [Interval(Real, 0, 1, closed="neither")],
        "sparsity_weight": [Interval(Real, 0, None, closed="left")],
        "activity_l1": [Interval(Real, 0, None, closed="left")],
        "scaling": [StrOptions({"standard", "center", "minmax"}), None],
        "optimizer": [StrOptions(set(_OPTIMIZERS))],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "pretrain_epochs": [Interval(Integral, 0, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "device": [str, torch.device],
        "callbacks": [list, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    _backbone = DENSE

    def __init__(
        self,
        *,
        n_components=2,
        network="dense",
        input_shape=None,
        conv_channels=(16, 32),
        kernel_size=3,
        reverse_decoding=False,
        hidden_layer_sizes=(64,),
        activation="elu",
        output_activation="auto",
        code_activation="identity",
        tied_weights=False,
        dropout=0.0,
        batch_norm=False,
        loss="mse",
        noise_std=0.0,
        mask_probability=0.0,
        sparsity_target=0.1,
        sparsity_weight=0.0,
        activity_l1=0.0,
        scaling="standard",
        optimizer="adam",
        learning_rate=1e-3,
        weight_decay=0.0,
        batch_size=128,
        max_epochs=200,
        pretrain_epochs=0,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        device="auto",
        callbacks=None,
        random_state=None,
        verbose=0,
    ):
        self.n_components = n_components
        self.network = network
        self.input_shape = input_shape
        self.conv_channels = conv_channels
        self.kernel_size = kernel_size
        self.reverse_decoding = reverse_decoding
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.output_activation = output_activation
        self.code_activation = code_activation
        self.tied_weights = tied_weights
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.loss = loss
        self.noise_std = noise_std
        self.mask_probability = mask_probability
        self.sparsity_target = sparsity_target
        self.sparsity_weight = sparsity_weight
        self.activity_l1 = activity_l1
        self.scaling = scaling
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.pretrain_epochs = pretrain_epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.device = device
        self.callbacks = callbacks
        self.random_state = random_state
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def __setstate__(self, state):
        super().__setstate__(state)
        if "net_" in state:
            # skorch maps a CUDA net to the CPU when unpickled without CUDA.
            self.device_ = str(self.net_.device)

    # ----------------------------------------------------------- validation
    def _validate_input(self, X, *, reset):
        """Check ``X`` as scikit-learn does; keep float32, else make float64."""
        if not reset:
            check_is_fitted(self)
        if getattr(X, "ndim", 2) > 2:
            raise ValueError(
                f"X has {X.ndim} dimensions, but skae estimators take 2-D input: "
                "flatten each image or window into one row with "
                "X.reshape(len(X), -1) and give its shape as input_shape "
                f"(network={self.network!r})."
            )
        return validate_data(self, X, accept_sparse="csr", dtype=_INPUT_DTYPES,
                             reset=reset)

    def _validated_layer_sizes(self):
        return _positive_ints(self.hidden_layer_sizes, "hidden_layer_sizes")

    def _validated_input_shape(self, n_features):
        """``input_shape`` as a tuple, checked against ``network`` and ``n_features``."""
        axes = _INPUT_AXES.get(self.network)
        expected = f"input_shape=({', '.join(axes)})" if axes else ""
        if self.input_shape is None:
            if axes is None:
                return None
            raise ValueError(f"network={self.network!r} needs {expected}, the shape "
                             "each row of X is read as.")
        shape = _positive_ints(self.input_shape, "input_shape")
        if axes is not None and len(shape) != len(axes):
            raise ValueError(f"network={self.network!r} needs {expected}, "
                             f"got input_shape={self.input_shape!r}.")
        if math.prod(shape) != n_features:
            raise ValueError(
                f"input_shape={shape} describes rows of {math.prod(shape)} features, "
                f"but X has {n_features} features."
            )
        return shape

    def _resolved_output_activation(self):
        if self.output_activation != "auto":
            return self.output_activation
        return "sigmoid" if self.loss == "bce" else "identity"

    def _check_bce_range(self, X):
        """``loss='bce'`` needs a sigmoid output and scaled training data in [0, 1]."""
        if self.loss != "bce":
            return
        if self._resolved_output_activation() != "sigmoid":
            raise ValueError(
                "loss='bce' needs reconstructions in [0, 1]: use "
                f"output_activation='sigmoid' or 'auto', not {self.output_activation!r}."
            )
        low, high = min_max_axis(X, axis=0) if sp.issparse(X) else (X.min(0), X.max(0))
        low = (low - self.input_offset_) / self.input_scale_
        high = (high - self.input_offset_) / self.input_scale_
        if low.min() < -1e-6 or high.max() > 1 + 1e-6:
            raise ValueError(
                "loss='bce' needs training data in [0, 1] after scaling; use "
                f"scaling='minmax' (now scaling={self.scaling!r})."
            )

    # -------------------------------------------------------------- fitting
    def _resolved_n_components(self, n_features):
        """The code width for ``n_features`` inputs (a subclass may derive it)."""
        return self.n_components

    def _module_params(self, n_features):
        """Constructor arguments of the torch module of ``network``.

        The backbone checks them against its network family and may adapt them.
        """
        input_shape = self._validated_input_shape(n_features)
        common = {
            "n_components": self._resolved_n_components(n_features),
            "hidden_layer_sizes": self._validated_layer_sizes(),
            "code_activation": self.code_activation,
            "output_activation": self._resolved_output_activation(),
        }
        if self.network != "dense":
            check_options_off(self, _DENSE_ONLY_OPTIONS, f"network={self.network!r}")
        if self.network == "conv":
            params = {**common, **self._conv_module_params(input_shape)}
        elif self.network == "lstm":
            params = {**common, **self._lstm_module_params(input_shape)}
        else:
            params = {**common, **self._dense_module_params(n_features)}
        return self._backbone.module_params(self, params)

    def _dense_module_params(self, n_features):
        return {"n_features": n_features, "activation": self.activation,
                "tied_weights": self.tied_weights,
                "dropout": self.dropout, "batch_norm": self.batch_norm}

    def _conv_module_params(self, input_shape):
        channels = _positive_ints(self.conv_channels, "conv_channels")
        if not channels:
            raise ValueError("network='conv' needs at least one entry in conv_channels.")
        if self.kernel_size % 2 == 0:
            raise ValueError(
                f"kernel_size must be odd, so that 'same' padding keeps the image "
                f"size; got {self.kernel_size}."
            )
        return {"input_shape": input_shape, "conv_channels": channels,
                "kernel_size": self.kernel_size, "activation": self.activation}

    def _lstm_module_params(self, input_shape):
        if not self._validated_layer_sizes():
            raise ValueError(
                "network='lstm' needs at least one entry in hidden_layer_sizes "
                "(the hidden sizes of the stacked LSTMs)."
            )
        return {"input_shape": input_shape, "reverse_decoding": self.reverse_decoding}

    def _split(self, dataset, seed):
        """Training and validation datasets (``None`` without early stopping)."""
        if not self.early_stopping:
            return dataset, None
        n_samples = len(dataset)
        n_valid = int(np.ceil(self.validation_fraction * n_samples))
        if n_samples - n_valid < 1:
            raise ValueError(
                f"early_stopping=True holds out {n_valid} of {n_samples} rows, "
                "which leaves none to train on; give more rows or set "
                "early_stopping=False."
            )
        order = np.random.RandomState(seed).permutation(n_samples)
        return dataset.subset(np.sort(order[n_valid:])), dataset.subset(np.sort(order[:n_valid]))

    def _callbacks(self):
        monitor = "valid_loss" if self.early_stopping else "train_loss"
        stopper = EarlyStopping(
            monitor=monitor, patience=self.n_iter_no_change, threshold=self.tol,
            threshold_mode="abs", load_best=self.early_stopping,
            sink=print if self.verbose else noop,
        )
        user = copy.deepcopy(self.callbacks) if self.callbacks else []
        return self._backbone.callbacks(
            self, [("divergence_guard", DivergenceGuard()), ("early_stopping", stopper), *user])

    def _check_batch_norm(self, n_rows):
        if self.batch_norm and n_rows < 2:
            raise ValueError(
                f"batch_norm=True cannot train on n_samples = {n_rows}: batch "
                "normalisation needs at least 2 rows per batch."
            )

    def _check_code_penalties(self):
        if self.sparsity_weight and self.code_activation != "sigmoid":
            raise ValueError(
                "sparsity_weight > 0 pulls the mean activation of each coding "
                "unit towards sparsity_target, which needs codes in (0, 1): use "
                f"code_activation='sigmoid', not {self.code_activation!r}."
            )

    def _training_params(self, n_rows, seed):
        """skorch net arguments shared by the network and its pre-training nets."""
        params = {
            "criterion": ReconstructionLoss,
            "optimizer": _OPTIMIZERS[self.optimizer],
            "lr": self.learning_rate,
            "optimizer__weight_decay": self.weight_decay,
            "batch_size": min(self.batch_size, n_rows),
            "iterator_train__seed": seed,
            "iterator_train__merge_single": self.batch_norm,
            "device": self.device_,
            "verbose": self.verbose,
            "noise_std": self.noise_std,
            "mask_probability": self.mask_probability,
        }
        if self.optimizer == "sgd":
            params.update(optimizer__momentum=0.9, optimizer__nesterov=True)
        elif self.optimizer == "lbfgs":
            # Full-batch quasi-Newton steps with a line search: the step size
            # comes from the search, not from learning_rate.
            params.update(lr=1.0, batch_size=n_rows, optimizer__max_iter=20,
                          optimizer__line_search_fn="strong_wolfe")
        return params

    def _fit(self, X):
        """Fit the network to validated ``X``; set every fitted attribute."""
        self.device_ = resolve_device(self.device)
        seed = draw_seed(self.random_state)
        self.input_offset_, self.input_scale_ = _scaling_statistics(X, self.scaling)
        self._check_bce_range(X)
        self._check_code_penalties()
        dataset = ArrayDataset(X, self.input_offset_, self.input_scale_, self.device_)
        train, valid = self._split(dataset, seed)
        self._check_batch_norm(len(train))
        module_params = self._module_params(X.shape[1])
        self.n_components_ = module_params["n_components"]
        with torch_seeded(seed):
            self.net_ = self._backbone.net_class(
                module=self._backbone.module_class(self),
                **{f"module__{key}": value for key, value in module_params.items()},
                **self._training_params(len(train), seed),
                criterion__loss=self.loss,
                sparsity_target=self.sparsity_target,
                sparsity_weight=self.sparsity_weight,
                activity_l1=self.activity_l1,
                max_epochs=self.max_epochs,
                train_split=predefined_split(valid) if valid is not None else None,
                callbacks=self._callbacks(),
                **self._backbone.net_params(self),
            )
            self.net_.initialize()
            if self.pretrain_epochs:
                self._pretrain(train, seed)
            self.net_.partial_fit(train)
            self._release_training_state()
            self._check_not_diverged(X, seed)
        self._record_history()
        self._backbone.fitted(self)
        return self

    def _pretrain(self, dataset, seed):
        """Greedy layer-wise pre-training of the initialised ``net_.module_``.

        Each encoder layer and its mirror decoder layer are trained as a
        shallow autoencoder of the previous layer's codes, in place: the
        pairs share their parameters with the deep module, which
        :meth:`_fit` then fine-tunes as a whole.
        """
        module = self.net_.module_
        if not hasattr(module, "layer_pairs"):
            raise ValueError(
                f"pretrain_epochs > 0 needs a layered network; {type(self).__name__} "
                f"with {type(module).__name__} has none, so set pretrain_epochs=0."
            )
        pairs = module.layer_pairs()
        for depth, (encoder, decoder) in enumerate(pairs):
            AutoencoderNet(
                module=SequentialAutoencoder(encoder, decoder),
                **self._training_params(len(dataset), seed + depth),
                # The inner pairs rebuild hidden activations, not the data.
                criterion__loss=self.loss if depth == 0 else "mse",
                max_epochs=self.pretrain_epochs,
                train_split=None,
                callbacks=[("divergence_guard", DivergenceGuard())],
            ).fit(dataset)
            if depth < len(pairs) - 1:
                dataset = self._encoded_dataset(encoder, dataset)
        module.train()  # encoding left some blocks in eval mode

    def _encoded_dataset(self, encoder, dataset):
        """The outputs of ``encoder`` on every row of ``dataset``, as a dataset."""
        encoder.eval()
        with torch.no_grad():
            codes = torch.cat([encoder(Xb).cpu() for Xb, _ in
                               BatchIterator(dataset, _INFERENCE_BATCH_SIZE)]).numpy()
        n_columns = codes.shape[1]
        return ArrayDataset(codes, np.zeros(n_columns), np.ones(n_columns), self.device_)

    def _check_not_diverged(self, X, seed):
        """Raise when the fitted network reconstructs far worse than the mean row.

        The divergence guard stops training on a loss that is not finite, but a
        too large learning rate can also leave the weights huge and the loss
        finite at 1e30. Any network can reconstruct every row by the mean
        training row (zero weights, biases at the mean), so a fit more than
        ``_DIVERGENCE_FACTOR`` times worse than that is diverged, not a poor
        optimum. Both errors are the criterion in the scaled space, measured
        on at most ``_DIVERGENCE_CHECK_ROWS`` training rows.
        """
        if X.shape[0] > _DIVERGENCE_CHECK_ROWS:
            rows = np.random.RandomState(seed).choice(X.shape[0], _DIVERGENCE_CHECK_ROWS,
                                                      replace=False)
            X = X[np.sort(rows)]
        mean_row = (np.asarray(X.mean(axis=0)).ravel() - self.input_offset_) / self.input_scale_
        criterion = self.net_.criterion_

        def mean_row_errors(module, Xb):
            return criterion.elementwise(
                torch.as_tensor(mean_row, dtype=Xb.dtype, device=Xb.device).expand_as(Xb),
                Xb).mean(dim=1)

        error = float(self._reconstruction_errors(X).mean())
        baseline = float(self._map_batches(X, mean_row_errors).mean())
        if not error <= max(_DIVERGENCE_FACTOR * baseline, 1.0):
            raise TrainingDivergedError(
                f"Training diverged: after {len(self.net_.history)} epochs the "
                f"network's {self.loss} on the training data is {error:.3g}, "
                f"{error / max(baseline, 1e-300):.3g} times that of reconstructing "
                f"every row by the mean row ({baseline:.3g}). Lower learning_rate "
                f"(now {self.learning_rate}), keep the input scaling on, or use a "
                "smaller network."
            )

    def _release_training_state(self):
        """Drop what the fitted net holds only for training.

        The validation split (a copy of training rows, on the training device)
        and early stopping's copy of the best weights (already loaded into the
        module) would otherwise be pickled with the estimator: the training
        data would leak into every pickle, and, being CUDA tensors outside the
        net's ``module_``, they could not be unpickled on a machine without
        CUDA.
        """
        self.net_.train_split = None
        for _, callback in self.net_.callbacks_:
            if isinstance(callback, EarlyStopping):
                callback.best_model_weights_ = None

    def _record_history(self):
        history = self.net_.history
        self.n_iter_ = len(history)
        self.loss_curve_ = list(history[:, "train_loss"])
        if self.early_stopping:
            self.validation_scores_ = [-loss for loss in history[:, "valid_loss"]]
            self.best_validation_score_ = max(self.validation_scores_)
        if self.n_iter_ == self.max_epochs and self._stopping_rule_expected():
            warnings.warn(
                f"{type(self).__name__} stopped at max_epochs={self.max_epochs} "
                "before the loss stopped improving; raise max_epochs for a "
                "better fit.",
                ConvergenceWarning,
            )

    def _stopping_rule_expected(self):
        """Whether a stopping rule, not ``max_epochs``, is meant to end training.

        When it is, reaching ``max_epochs`` means training stopped short and
        ``fit`` warns; an estimator whose ``max_epochs`` is a deliberate
        training budget says otherwise.
        """
        return True

    # ------------------------------------------------------------ inference
    def _inference_module(self):
        """The fitted module in eval mode, with the dtype its inputs should have.

        On the CPU inference runs on a float64 copy, so a row's output does
        not depend on which rows share its batch (float32 matrix products
        vary with the batch shape in the 7th digit); on CUDA it runs as
        trained, in float32. The copy is made once per fitted module and
        kept beside it, not in the estimator, so pickles stay small.
        """
        module = self.net_.module_.eval()
        if torch.device(self.net_.device).type == "cpu":
            if module not in _FLOAT64_COPIES:
                _FLOAT64_COPIES[module] = copy.deepcopy(module).double()
            module = _FLOAT64_COPIES[module]
        return module, next(module.parameters()).dtype

    def _map_batches(self, X, fn, scaled=True):
        """``fn(module, batch)`` over batches of ``X``, joined in one NumPy array.

        Batches are scaled like the training data unless ``scaled=False``.
        """
        module, dtype = self._inference_module()
        n_columns = X.shape[1]
        offset, scale = ((self.input_offset_, self.input_scale_) if scaled
                         else (np.zeros(n_columns), np.ones(n_columns)))
        dataset = ArrayDataset(X, offset, scale, self.net_.device, dtype)
        with torch.inference_mode():
            outputs = [fn(module, Xb).cpu()
                       for Xb, _ in BatchIterator(dataset, _INFERENCE_BATCH_SIZE)]
        return torch.cat(outputs).numpy()

    def _encode(self, X):
        """Codes of validated ``X``, in the dtype of ``X``."""
        return self._map_batches(X, lambda module, Xb: module.encode(Xb)).astype(X.dtype)

    def _decode(self, Z):
        """Check codes ``Z`` and decode them to the original units."""
        check_is_fitted(self)
        Z = check_array(Z, dtype=_INPUT_DTYPES)
        if Z.shape[1] != self.n_components_:
            raise ValueError(
                f"Z has {Z.shape[1]} features, but {type(self).__name__} is "
                f"expecting {self.n_components_} features (n_components_) as input."
            )
        decoded = self._map_batches(Z, lambda module, Zb: module.decode(Zb), scaled=False)
        return (decoded * self.input_scale_ + self.input_offset_).astype(Z.dtype)

    def _reconstruction_errors(self, X, per_feature=False):
        """Reconstruction error of validated ``X`` in the scaled space, float64.

        Per sample (the mean over features), or per entry with ``per_feature``.
        """
        criterion = self.net_.criterion_

        def errors(module, Xb):
            entry_errors = criterion.elementwise(module(Xb)[0], Xb)
            return entry_errors if per_feature else entry_errors.mean(dim=1)

        return self._map_batches(X, errors).astype(np.float64)
