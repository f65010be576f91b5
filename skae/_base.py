"""The shared base of every skae estimator.

It owns everything that is not specific to one estimator: the shared
parameter constraints, input validation, scaling, seeding, device placement,
building and fitting the skorch net as a transaction, batched inference,
scores and reconstruction errors. The network families live in
:mod:`skae.networks`, the objectives in :mod:`skae._objectives`; the public
estimators only write out their parameters and say what they return.
"""

import math
import warnings
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

from . import _categorical
from ._categorical import check_numeric_columns, explained_string_errors
from ._data import ArrayDataset, BatchIterator
from ._device import cpu_threads, draw_seed, resolve_device
from ._doc_link import DocLinkMixin
from ._missing import (
    check_missing,
    column_extrema,
    column_means,
    column_variances,
    observed_mean,
)
from ._net import (
    LBFGS,
    AutoencoderNet,
    BestEpochEarlyStopping,
    DivergenceGuard,
    ReconstructionLoss,
    TrainingDivergedError,
    checkpoint,
    divergence_advice,
    float64_copy,
    named_callbacks,
    returned_epoch,
)
from ._objectives import RECONSTRUCTION
from ._parameter_objects import ParameterObjectsMixin
from ._pca_start import principal_axes
from ._progress import ProgressLine
from ._random import fit_random_state, torch_seeded
from ._torch_modules import ACTIVATIONS, SequentialAutoencoder
from .networks import BaseNetwork, resolve_network

_INPUT_DTYPES = (np.float64, np.float32)
_OPTIMIZERS = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD, "lbfgs": LBFGS}
_INFERENCE_BATCH_SIZE = 4096
# A fit this many times worse than reconstructing every row by the mean row
# has diverged (see _BaseAutoencoder._check_not_diverged).
_DIVERGENCE_FACTOR = 100.0
_DIVERGENCE_CHECK_ROWS = 4096
# A fit that used all of max_steps while its training loss still fell by more
# than this share over the last fifth of its steps has not settled, and fit
# warns; fewer steps than five times _SETTLED_MIN_WINDOW are too few to judge.
_SETTLED_TOLERANCE = 0.05
_SETTLED_MIN_WINDOW = 4
# early_stopping='auto' holds out a validation split when it has this many rows.
_AUTO_MIN_VALIDATION_ROWS = 5


def _scaling_statistics(X, scaling):
    """Offset and scale such that ``(X - offset) / scale`` is the scaled input.

    Missing (NaN) entries are ignored.
    """
    n_features = X.shape[1]
    if scaling is None:
        return np.zeros(n_features), np.ones(n_features)
    if scaling in ("standard", "center"):
        if sp.issparse(X):  # NaN ignored
            offset, variance = mean_variance_axis(X, axis=0)
        else:
            offset, variance = column_means(X), column_variances(X)
        scale = np.sqrt(variance) if scaling == "standard" else np.ones(n_features)
    else:  # "minmax"
        offset, maximum = (min_max_axis(X, axis=0, ignore_nan=True) if sp.issparse(X)
                           else column_extrema(X))
        scale = maximum - offset
    return _unscaled_constants(offset, scale)


def _unscaled_constants(offset, scale):
    """``offset`` and ``scale`` as float64, with scale 1 for constant features.

    Constant features pass through unscaled, as in StandardScaler.
    """
    offset = np.asarray(offset, dtype=np.float64)
    scale = np.array(scale, dtype=np.float64)
    scale[scale < 10 * np.finfo(np.float64).eps * np.maximum(1.0, np.abs(offset))] = 1.0
    return offset, scale


def _encoded_dataset(encoder, dataset, device):
    """The outputs of ``encoder`` on every row of ``dataset``, as a dataset."""
    encoder.eval()
    with torch.no_grad():
        codes = torch.cat([encoder(Xb).cpu() for Xb, _ in
                           BatchIterator(dataset, _INFERENCE_BATCH_SIZE)]).numpy()
    n_columns = codes.shape[1]
    return ArrayDataset(codes, np.zeros(n_columns), np.ones(n_columns), device)


def _start_loss(net):
    """The validation loss of the weights training started from (kept by early stopping)."""
    return next(callback.best_score_ for _, callback in net.callbacks_
                if isinstance(callback, BestEpochEarlyStopping))


def _release_training_state(net):
    """Drop what the fitted ``net`` holds only for training.

    The validation split (a copy of training rows, on the training device)
    and early stopping's copy of the best weights (already loaded into the
    module) would otherwise be pickled with the estimator: the training data
    would leak into every pickle, and, being CUDA tensors outside the net's
    ``module_``, they could not be unpickled on a machine without CUDA.
    """
    net.train_split = None
    for _, callback in net.callbacks_:
        if isinstance(callback, EarlyStopping):
            callback.best_model_weights_ = None



# Parameters that partial_fit does not use: fit's budget and stopping rules,
# how a model is seeded, and what only reports.
_NOT_IN_PARTIAL_FIT = frozenset({"max_steps", "early_stopping", "validation_fraction",
                                 "n_iter_no_change", "tol", "pretrain_epochs",
                                 "random_state", "callbacks", "verbose", "compile",
                                 "n_jobs", "handle_unknown"})


def _compile_mode(compile, device):
    """The ``torch.compile`` mode of the ``compile`` parameter on ``device``, or ``None``.

    ``True`` is CUDA graphs (``'reduce-overhead'``) on CUDA, where the
    launch of every kernel is what a small step costs, and ``'default'``
    elsewhere.
    """
    if compile is False:
        return None
    if compile is True:
        return "reduce-overhead" if torch.device(device).type == "cuda" else "default"
    return compile


def _partial_fit_signature(estimator):
    """The parameters a model continued by ``partial_fit`` must keep, as their reprs."""
    return {name: repr(value) for name, value in estimator.get_params(deep=False).items()
            if name not in _NOT_IN_PARTIAL_FIT}


def _without_stopping_rules(callbacks):
    """``(name, callback)`` pairs without the early-stopping rules of ``fit``."""
    return [(name, callback) for name, callback in callbacks
            if not isinstance(callback, EarlyStopping)]


# Parameters of every estimator, with the same constraint everywhere.
SHARED_PARAMETER_CONSTRAINTS = {
    "n_components": [Interval(Integral, 1, None, closed="left")],
    "network": [StrOptions({"dense"}), BaseNetwork],
    "output_activation": [StrOptions(set(ACTIVATIONS) | {"auto"})],
    "loss": [StrOptions({"mse", "mae", "huber", "bce"})],
    "noise_std": [Interval(Real, 0, None, closed="left")],
    "mask_probability": [Interval(Real, 0, 1, closed="left")],
    "scaling": [StrOptions({"standard", "center", "minmax"}), None],
    "optimizer": [StrOptions(set(_OPTIMIZERS))],
    "learning_rate": [Interval(Real, 0, None, closed="neither")],
    "weight_decay": [Interval(Real, 0, None, closed="left")],
    "batch_size": [Interval(Integral, 1, None, closed="left")],
    "max_steps": [Interval(Integral, 1, None, closed="left")],
    "early_stopping": ["boolean", StrOptions({"auto"})],
    "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
    "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
    "tol": [Interval(Real, 0, None, closed="left")],
    "device": [str, torch.device],
    "n_jobs": [Integral, None],
    "compile": ["boolean", StrOptions({"default", "reduce-overhead", "max-autotune"})],
    "callbacks": [list, tuple, None],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
}

# Parameters of the estimators that train a deterministic autoencoder.
RECONSTRUCTION_PARAMETER_CONSTRAINTS = {
    "code_activation": [StrOptions(set(ACTIVATIONS))],
    "sparsity_target": [Interval(Real, 0, 1, closed="neither")],
    "sparsity_weight": [Interval(Real, 0, None, closed="left")],
    "activity_l1": [Interval(Real, 0, None, closed="left")],
    "pretrain_epochs": [Interval(Integral, 0, None, closed="left")],
}


class _BaseAutoencoder(ParameterObjectsMixin, DocLinkMixin, BaseEstimator):
    """Validation, scaling, seeding, device and the skorch fit of every estimator.

    The public subclasses write out their ``__init__`` and say what they
    return. What a deterministic and a variational autoencoder differ in is
    the objective, ``_objective`` (see :mod:`skae._objectives`); what a
    network family differs in is the network object of the ``network``
    parameter (see :mod:`skae.networks`). ``fit`` is a transaction:
    :meth:`_fit` resolves and checks the whole configuration, trains into
    local variables and assigns every fitted attribute at the end in
    :meth:`_set_fitted`, so a failed fit leaves the estimator as it was.
    """

    _parameter_constraints: ClassVar[dict] = SHARED_PARAMETER_CONSTRAINTS

    _objective = RECONSTRUCTION

    # Names of default networks the ``network`` parameter takes besides
    # 'dense' (see skae.networks.resolve_network).
    _network_shorthands: ClassVar[dict] = {}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.input_tags.allow_nan = True  # missing entries: see skae._missing
        return tags

    def _shorthand_objects(self):
        return {"network": lambda name: resolve_network(name, self._network_shorthands)}

    def _training_parameters(self):
        """The parameters as the objective's hooks read them (a subclass may add some)."""
        return self.get_params(deep=False)

    def __sklearn_is_fitted__(self):
        # Every fitted attribute is assigned at once with net_ (see _set_fitted).
        return "net_" in vars(self)

    def __setstate__(self, state):
        super().__setstate__(state)
        if "net_" in state:
            # skorch maps a CUDA net to the CPU when unpickled without CUDA.
            self.device_ = str(self.net_.device)

    # ----------------------------------------------------------- validation
    def _validate_input(self, X, *, reset):
        """Check ``X`` as scikit-learn does; keep float32, else make float64.

        NaN is a missing entry (see :mod:`skae._missing`); inf is an error.
        """
        if not reset:
            check_is_fitted(self)
        if getattr(X, "ndim", 2) > 2:
            raise ValueError(
                f"X has {X.ndim} dimensions, but skae estimators take 2-D input: "
                "flatten each image or window into one row with "
                "X.reshape(len(X), -1) and give its shape as the input_shape of "
                "the network (ConvNetwork, LSTMNetwork)."
            )
        encoded = _categorical.validate_mixed(self, X, reset=reset)  # categorical columns
        if encoded is not None:
            X = encoded
        else:
            check_numeric_columns(X, self)
            # scikit-learn's finiteness check sums X: huge finite values overflow there.
            with explained_string_errors(self), np.errstate(over="ignore",
                                                            invalid="ignore"):
                X = validate_data(self, X, accept_sparse="csr", dtype=_INPUT_DTYPES,
                                  ensure_all_finite="allow-nan", reset=reset)
        check_missing(X, fitting=reset)
        return X

    def _resolved_output_activation(self):
        if self.output_activation != "auto":
            return self.output_activation
        return "sigmoid" if self.loss == "bce" else "identity"

    def _resolved_n_components(self, n_features):
        """The code width for ``n_features`` inputs (a subclass may derive it)."""
        if isinstance(self.n_components, bool):  # bool is an Integral
            # A ValueError, as scikit-learn's InvalidParameterError is.
            raise ValueError(f"n_components must be a positive integer, "  # noqa: TRY004
                             f"got {self.n_components!r}.")
        return self.n_components

    def _check_bce_range(self, X, offset, scale):
        """``loss='bce'`` needs a sigmoid output and scaled training data in [0, 1]."""
        if self.loss != "bce":
            return
        if self._resolved_output_activation() != "sigmoid":
            raise ValueError(
                "loss='bce' needs reconstructions in [0, 1]: use "
                f"output_activation='sigmoid' or 'auto', not {self.output_activation!r}."
            )
        low, high = (min_max_axis(X, axis=0, ignore_nan=True) if sp.issparse(X)
                     else column_extrema(X))
        if ((low - offset) / scale).min() < -1e-6 or ((high - offset) / scale).max() > 1 + 1e-6:
            raise ValueError(
                "loss='bce' needs training data in [0, 1] after scaling; use "
                f"scaling='minmax' (now scaling={self.scaling!r})."
            )

    def _split(self, dataset, seed):
        """Training and validation datasets (``None`` without early stopping)."""
        if not self.early_stopping:
            return dataset, None
        n_samples = len(dataset)
        n_valid = int(np.ceil(self.validation_fraction * n_samples))
        if self.early_stopping == "auto" and n_valid < _AUTO_MIN_VALIDATION_ROWS:
            return dataset, None
        if n_samples - n_valid < 1:
            raise ValueError(
                f"early_stopping=True holds out {n_valid} of {n_samples} rows, "
                "which leaves none to train on; give more rows or set "
                "early_stopping=False."
            )
        order = np.random.RandomState(seed).permutation(n_samples)
        return dataset.subset(np.sort(order[n_valid:])), dataset.subset(np.sort(order[:n_valid]))

    def _callbacks(self, params, validated=None):
        """The callbacks of a fit; ``validated``: whether it has a validation split.

        By default, whether ``early_stopping`` asks for one.
        """
        validated = bool(self.early_stopping) if validated is None else validated
        stopper = BestEpochEarlyStopping(
            monitor="valid_loss" if validated else "train_loss",
            patience=self.n_iter_no_change, threshold=self.tol,
            threshold_mode="abs", load_best=validated,
            sink=print if self.verbose > 1 else noop,
        )
        user = named_callbacks(self.callbacks)
        progress = ([("progress", ProgressLine(type(self).__name__, self.max_steps))]
                    if self.verbose == 1 else [])
        return self._objective.callbacks(
            [("divergence_guard", DivergenceGuard()), ("early_stopping", stopper),
             *progress, *user], params)

    def _training_params(self, n_rows, seed, device, network):
        """skorch net arguments shared by the network and its pre-training nets."""
        params = {
            "criterion": ReconstructionLoss,
            "optimizer": _OPTIMIZERS[self.optimizer],
            "lr": self.learning_rate,
            "optimizer__weight_decay": self.weight_decay,
            "batch_size": min(self.batch_size, n_rows),
            "iterator_train__seed": seed,
            "iterator_train__merge_single": network.needs_two_rows,
            "device": device,
            # verbose=1 is one progress line (ProgressLine), 2 skorch's epoch table.
            "verbose": self.verbose if self.verbose > 1 else 0,
            "noise_std": self.noise_std,
            "mask_probability": self.mask_probability,
            "compile_mode": _compile_mode(self.compile, device),
        }
        if self.optimizer == "sgd":
            params.update(optimizer__momentum=0.9, optimizer__nesterov=True)
        elif self.optimizer == "lbfgs":
            # Full-batch quasi-Newton steps with a line search: the step size
            # comes from the search, not from learning_rate.
            params.update(lr=1.0, batch_size=n_rows, optimizer__max_iter=20,
                          optimizer__line_search_fn="strong_wolfe")
        return params

    # -------------------------------------------------------------- fitting
    def _fit(self, X):
        """Validate ``X``, train, and assign every fitted attribute; return ``self``.

        A transaction: if anything raises (a check, a diverged fit, a
        ``KeyboardInterrupt``), the fitted attributes are restored to what
        they were, so a failed first fit leaves the estimator unfitted and a
        failed refit leaves the previous model whole.
        """
        return self._transaction(X, reset=True, partial=False)

    def _partial_fit(self, X):
        """One more pass of training on the chunk ``X``, as a transaction; return ``self``.

        The first call (on an unfitted estimator) resolves the configuration
        and fixes the input scaling from its chunk, as ``fit`` does; later
        calls continue the same network and optimiser.
        """
        return self._transaction(X, reset=not self.__sklearn_is_fitted__(), partial=True)

    def _transaction(self, X, *, reset, partial):
        """Validate ``X``, train (:meth:`_train`), assign every fitted attribute in one place.

        If anything raises, the fitted attributes are restored to what they
        were (:meth:`_train` restores what it changed in place).
        """
        previous = self._fitted_state()
        try:
            X = self._validate_input(X, reset=reset)
            with cpu_threads(self.n_jobs):
                fitted, budget_spent = self._train(X, partial)
                fitted.update(self._fitted_extras(X, fitted))
        except BaseException:
            self._set_fitted(previous)
            raise
        # validate_data set n_features_in_ and feature_names_in_ already.
        self._set_fitted({**{name: value for name, value in vars(self).items()
                             if name in ("n_features_in_", "feature_names_in_",
                                         *_categorical.FITTED_ATTRIBUTES)},
                          **fitted})
        message = self._budget_warning(fitted) if budget_spent else None
        if message:
            warnings.warn(message, ConvergenceWarning)
        return self

    def _fitted_state(self):
        """The fitted attributes (names ending in ``_``) and their values."""
        return {name: value for name, value in vars(self).items()
                if name.endswith("_") and not name.startswith("__")}

    def _set_fitted(self, fitted):
        """Replace every fitted attribute by those of ``fitted``, in one place.

        Attributes that the new fit does not set (such as
        ``validation_scores_`` without early stopping) are removed.
        """
        for name in self._fitted_state():
            delattr(self, name)
        for name, value in fitted.items():
            setattr(self, name, value)

    def _fitted_extras(self, X, fitted):
        """Attributes that a subclass derives from the trained model ``fitted``."""
        return {}

    def _train(self, X, partial=False):
        """Train on validated ``X``: a new model, or with ``partial`` one more pass.

        Returns the fitted attributes as a dict, and whether training ended
        by exhausting ``max_steps``. Nothing is assigned to ``self`` (a
        subclass may train on some rows of ``X`` only, by overriding this).
        """
        if not partial:
            return self._train_new(X)
        if self.__sklearn_is_fitted__():
            return self._train_chunk(X)
        return self._train_first_chunk(X)

    def _train_new(self, X):
        """Resolve the configuration, check it, and train a new model on ``X``."""
        setup = self._setup(X)
        dataset = ArrayDataset(self._training_rows(X, setup["seed"]), setup["offset"],
                               setup["scale"], setup["device"], fill=setup["fill"])
        train, valid = self._split(dataset, setup["seed"])
        self._check_trainable(train, setup["network"])
        training_params = self._training_params(len(train), setup["seed"], setup["device"],
                                                setup["network"])
        batches_per_epoch = len(BatchIterator(train, training_params["batch_size"],
                                              merge_single=setup["network"].needs_two_rows))
        with fit_random_state(setup["seed"]):  # every draw: generators private to this fit
            net = self._new_net(setup, training_params,
                                max_epochs=math.ceil(self.max_steps / batches_per_epoch),
                                iterator_train__max_batches=self.max_steps,
                                train_split=predefined_split(valid) if valid is not None
                                else None,
                                callbacks=self._callbacks(setup["params"],
                                                          validated=valid is not None))
            if setup["pretrain_epochs"]:
                self._pretrain(net.module_, train, setup["seed"], setup["device"],
                               setup["network"])
            self._start_linear_path(net.module_, dataset, setup)
            fitted = self._trained(net, train, X, setup)
        return fitted, fitted["n_steps_"] >= self.max_steps

    def _train_first_chunk(self, X):
        """The first call of ``partial_fit``: :meth:`_train_new` for one pass over ``X``.

        No pre-training, no early stopping and no validation split: the
        stopping rules of ``fit`` need a whole data set.
        """
        setup = self._setup(X)
        train = ArrayDataset(self._training_rows(X, setup["seed"]), setup["offset"],
                             setup["scale"], setup["device"], fill=setup["fill"])
        self._check_trainable(train, setup["network"])
        training_params = self._training_params(len(train), setup["seed"], setup["device"],
                                                setup["network"])
        with fit_random_state(setup["seed"]):
            net = self._new_net(setup, training_params, max_epochs=1, train_split=None,
                                callbacks=_without_stopping_rules(
                                    self._callbacks(setup["params"])))
            self._start_linear_path(net.module_, train, setup)
            return self._trained(net, train, X, setup), False

    def _train_chunk(self, X):
        """A later call of ``partial_fit``: one more pass over ``X``, same net and optimiser.

        The network, its optimiser state (Adam's moments and step count),
        the input scaling and the seed are those of the fitted model. Each
        call draws its own shuffling and subsample from the seed and the
        number of epochs trained so far. If training fails, the net's
        weights, optimiser and history are put back.
        """
        self._check_partial_fit_params()
        net = self.net_
        setup = {"params": self._training_parameters(), "objective": self._objective_,
                 "network": resolve_network(self.network, self._network_shorthands),
                 "device": self.device_, "offset": self.input_offset_,
                 "scale": self.input_scale_, "n_components": self.n_components_,
                 "seed": self._fit_seed_, "fill": _missing_fill(vars(self))}
        seed = (self._fit_seed_ + len(net.history)) % 2**32  # this call's draws
        train = ArrayDataset(self._training_rows(X, seed), self.input_offset_,
                             self.input_scale_, self.device_, fill=setup["fill"])
        self._check_trainable(train, setup["network"])
        training_params = self._training_params(len(train), seed, self.device_,
                                                setup["network"])
        restore = checkpoint(net)
        try:
            # One pass over this chunk, shuffled by this call's seed. Plain
            # attributes: skorch's set_params would re-initialise the net.
            if net.compile_mode != training_params["compile_mode"]:
                net.__dict__.pop("_compiled_forward", None)  # compiled in another mode
            for name, value in {"max_epochs": 1, "iterator_train__max_batches": None,
                                "batch_size": training_params["batch_size"],
                                "iterator_train__seed": seed,
                                "compile_mode": training_params["compile_mode"]}.items():
                setattr(net, name, value)
            net.callbacks_ = _without_stopping_rules(net.callbacks_)
            with fit_random_state(seed):
                return self._trained(net, train, X, setup), False
        except BaseException:
            restore()
            raise

    def _check_partial_fit_params(self):
        """Raise when a parameter that shapes the model changed since it was fitted."""
        fitted_with = getattr(self, "_fit_signature_", None)
        if fitted_with is None:  # fitted by skae 0.2.0, which did not record it
            return
        changed = sorted(name for name, value in _partial_fit_signature(self).items()
                         if fitted_with.get(name) != value)
        if changed:
            raise ValueError(
                f"partial_fit continues the fitted model, but {', '.join(changed)} "
                f"changed since it was fitted ({type(self).__name__} was fitted with "
                + ", ".join(f"{name}={fitted_with.get(name)}" for name in changed)
                + "). Call fit to start a new model with the new parameters, or set "
                "them back."
            )

    def _setup(self, X):
        """The whole configuration of a new model for validated ``X``, checked.

        Raises before any training on a parameter that cannot train on
        ``X``; the input scaling comes from ``X``.
        """
        params = self._training_parameters()
        objective = self._objective
        objective.check(params, type(self).__name__)
        network = resolve_network(self.network, self._network_shorthands)
        pretrain_epochs = params.get("pretrain_epochs", 0)
        if pretrain_epochs and not network.supports_pretraining:
            raise ValueError(
                f"pretrain_epochs > 0 needs a layered network; {type(network).__name__} "
                "has none, so set pretrain_epochs=0."
            )
        device = resolve_device(self.device)
        seed = draw_seed(self.random_state)
        offset, scale = self._input_statistics(X)
        self._check_bce_range(X, offset, scale)
        return {"params": params, "objective": objective, "network": network,
                "pretrain_epochs": pretrain_epochs, "device": device, "seed": seed,
                "n_components": self._resolved_n_components(X.shape[1]),
                "offset": offset, "scale": scale, "fill": self._missing_input(X)}

    def _missing_input(self, X):
        """The input of a missing entry of validated ``X``: the column means (0 in a one-hot block)."""
        encoding = _categorical.fitted_encoding(vars(self))
        return column_means(X) if encoding is None else encoding.fill(column_means(X))

    def _check_trainable(self, train, network):
        if network.needs_two_rows and len(train) < 2:
            raise ValueError(
                f"batch_norm=True cannot train on n_samples = {len(train)}: batch "
                "normalisation needs at least 2 rows per batch."
            )

    def _new_net(self, setup, training_params, **net_params):
        """The initialised skorch net of a new model (its module seeded by the fit's seed)."""
        with torch_seeded(setup["seed"]):  # initial weights: the global generator, forked
            module, _ = self._build_module(setup["objective"], setup["network"],
                                           setup["offset"].shape[0], setup["n_components"],
                                           setup["params"], setup["seed"])
        net = setup["objective"].net_class(
            module=module,
            **{**training_params, **_categorical.criterion_params(
                setup.get("fitted", vars(self)))},
            criterion__loss=self.loss,
            **net_params,
            **setup["objective"].net_params(setup["params"]),
        )
        return net.initialize()

    def _trained(self, net, train, X, setup):
        """Train ``net`` on ``train`` (one ``partial_fit``); the fitted attributes.

        The one training step of ``fit`` and ``partial_fit``: it runs skorch's
        loop, checks the result on the rows of ``X`` and reads the fitted
        attributes from the net.
        """
        net.partial_fit(train)
        _release_training_state(net)
        seed = setup["seed"]
        fitted = {"net_": net, "device_": setup["device"],
                  "n_components_": setup["n_components"],
                  "input_offset_": setup["offset"], "input_scale_": setup["scale"],
                  "missing_fill_": setup["fill"],
                  "_objective_": setup["objective"], "_fit_dtype_": X.dtype,
                  # With the parameters, the seed rebuilds the module's
                  # structure (skae.persistence).
                  "_fit_seed_": seed,
                  "_fit_signature_": _partial_fit_signature(self)}
        self._check_not_diverged(X, seed, fitted)
        history, _ = self._history_attributes(net)
        code_width = max(getattr(net.module_, "code_widths", [setup["n_components"]]))
        return {**fitted, **history,
                **setup["objective"].fitted_attributes(net, seed, code_width)}

    def _input_statistics(self, X):
        """Offset and scale of the input scaling, from validated training ``X``.

        The one place a fit computes them; :mod:`skae.distributed` reduces
        them over the rows of every process instead.
        """
        offset, scale = _scaling_statistics(X, self.scaling)
        encoding = _categorical.fitted_encoding(vars(self))
        return (offset, scale) if encoding is None else encoding.unscaled(offset, scale)

    def _start_linear_path(self, module, dataset, setup):
        """Start a module with a linear path at the PCA of ``dataset``'s scaled rows.

        :mod:`skae.distributed` sums the rows' moments over its processes.
        """
        if hasattr(module, "start_at"):
            module.start_at(*principal_axes(dataset, setup["n_components"], setup["seed"],
                                            total=self._sum_over_processes))

    #: Sums an array over the processes of a data-parallel fit (None: one process).
    _sum_over_processes = None

    def _training_rows(self, X, seed):
        """The rows of validated ``X`` the network trains on (a subclass may subsample)."""
        return X

    def _build_module(self, objective, network, n_features, n_components, params, seed):
        """The torch module to train, and the widest code it has."""
        return (objective.build_module(network, n_features, n_components, params,
                                       self._resolved_output_activation()), n_components)

    def _pretrain(self, module, dataset, seed, device, network):
        """Greedy layer-wise pre-training of the initialised ``module``.

        Each encoder layer and its mirror decoder layer are trained as a
        shallow autoencoder of the previous layer's codes, in place: the
        pairs share their parameters with the deep module, which
        :meth:`_train` then fine-tunes as a whole.
        """
        pairs = module.layer_pairs()
        for depth, (encoder, decoder) in enumerate(pairs):
            AutoencoderNet(
                module=SequentialAutoencoder(encoder, decoder),
                **self._training_params(len(dataset), seed + depth, device, network),
                # The inner pairs rebuild hidden activations, not the data.
                criterion__loss=self.loss if depth == 0 else "mse",
                max_epochs=self.pretrain_epochs,
                train_split=None,
                callbacks=[("divergence_guard", DivergenceGuard())],
            ).fit(dataset)
            if depth < len(pairs) - 1:
                dataset = _encoded_dataset(encoder, dataset, device)
        module.train()  # encoding left some blocks in eval mode

    def _check_not_diverged(self, X, seed, fitted):
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
        offset, scale = fitted["input_offset_"], fitted["input_scale_"]
        mean_row = (column_means(X) - offset) / scale
        criterion = fitted["net_"].criterion_

        def mean_row_errors(module, Xb, target):
            return observed_mean(criterion.elementwise(
                torch.as_tensor(mean_row, dtype=Xb.dtype, device=Xb.device).expand_as(Xb),
                target))

        try:
            error = float(self._reconstruction_errors(X, fitted=fitted).mean())
        except OutputOverflowError:  # the weights are huge: reported below
            error = math.inf
        baseline = float(self._map_batches(X, mean_row_errors, fitted=fitted,
                                           with_targets=True).mean())
        if not error <= max(_DIVERGENCE_FACTOR * baseline, 1.0):
            raise TrainingDivergedError(
                f"Training diverged: after {len(fitted['net_'].history)} epochs the "
                f"network's {self.loss} on the training data is {error:.3g}, "
                f"{error / max(baseline, 1e-300):.3g} times that of reconstructing "
                f"every row by the mean row ({baseline:.3g}). "
                + divergence_advice(self.learning_rate)
            )

    def _history_attributes(self, net):
        """Fitted attributes read from the training history, and whether
        training ended by exhausting ``max_steps``."""
        history = net.history
        fitted = {
            "n_iter_": len(history),
            "n_steps_": int(sum(history[:, "train_batch_count"])),
            "loss_curve_": list(history[:, "train_loss"]),
        }
        validated = any("valid_loss" in epoch for epoch in history)
        if self.early_stopping is True or (self.early_stopping and validated):
            # Epochs of partial_fit have no validation split, hence no score.
            fitted["validation_scores_"] = [-epoch["valid_loss"] for epoch in history
                                            if "valid_loss" in epoch]
            # The score of the weights returned (the KL warm-up of a VAE
            # excluded), while those are weights that early stopping chose.
            epoch = returned_epoch(net)
            returned = history[epoch - 1] if epoch else {"valid_loss": _start_loss(net)}
            if "valid_loss" in returned:
                fitted["best_validation_score_"] = -returned["valid_loss"]
        return fitted, fitted["n_steps_"] >= self.max_steps

    def _budget_warning(self, fitted):
        """The ``ConvergenceWarning`` message of a fit that used all of ``max_steps``, or ``None``.

        Reaching the budget is no failure in itself (the detector's budget is
        deliberate, and early stopping keeps the best epoch whatever the
        budget): the fit has not settled when its training loss still fell
        by more than ``_SETTLED_TOLERANCE`` over the last fifth of its steps,
        compared with the fifth before.
        """
        losses = [batch["train_loss"] for epoch in fitted["net_"].history[:, "batches"]
                  for batch in epoch if "train_loss" in batch]
        window = len(losses) // 5
        if window < _SETTLED_MIN_WINDOW:
            return (f"{type(self).__name__} trained for only max_steps={self.max_steps} "
                    "steps, too few to tell whether its loss settled; raise max_steps.")
        before, last = np.mean(losses[-2 * window:-window]), np.mean(losses[-window:])
        if self._falling_loss_is_unsettled() and before - last > _SETTLED_TOLERANCE * abs(last):
            return (f"{type(self).__name__}'s training loss still fell by "
                    f"{(before - last) / abs(last):.0%} over the last fifth of "
                    f"max_steps={self.max_steps}; raise max_steps for a settled fit.")
        return None

    def _falling_loss_is_unsettled(self):
        """Whether a training loss still falling at ``max_steps`` means the fit stopped short."""
        return True

    # ------------------------------------------------------------ inference
    def _map_batches(self, X, fn, scaled=True, fitted=None, with_targets=False):
        """``fn(module, batch)`` over batches of ``X``, written into one NumPy array.

        Batches are scaled like the training data unless ``scaled=False``, and
        computed in the precision of :func:`_inference_module`. ``fitted`` is
        the fitted state to use (by default the estimator's). A batch is the
        network's input, its missing entries filled; ``with_targets`` calls
        ``fn(module, batch, target)``, the target keeping their NaN.
        """
        fitted = vars(self) if fitted is None else fitted
        net = fitted["net_"]
        module, dtype = _inference_module(net, X.dtype)
        n_columns = X.shape[1]
        offset, scale = ((fitted["input_offset_"], fitted["input_scale_"]) if scaled
                         else (np.zeros(n_columns), np.ones(n_columns)))
        dataset = ArrayDataset(X, offset, scale, net.device, dtype,
                               fill=_missing_fill(fitted) if scaled else None)
        result, start = None, 0
        with torch.inference_mode(), cpu_threads(getattr(self, "n_jobs", None)):
            for Xb, target in BatchIterator(dataset, _inference_batch_size(module)):
                output = fn(module, Xb, target) if with_targets else fn(module, Xb)
                _check_finite_output(output, Xb, target)
                output = output.cpu().numpy()
                if result is None:  # one output array, no list of batches to join
                    result = np.empty((X.shape[0], *output.shape[1:]), output.dtype)
                result[start:start + len(output)] = output
                start += len(output)
        return result

    def _encode(self, X):
        """Codes of validated ``X``, in the dtype of ``X``."""
        codes = self._map_batches(X, lambda module, Xb: module.encode(Xb))
        return codes.astype(X.dtype, copy=False)

    def _decode(self, Z, dtype=None):
        """Check codes ``Z`` and decode them to the original units.

        The result has the dtype of ``Z``, or ``dtype`` when given.
        """
        check_is_fitted(self)
        Z = check_array(Z, dtype=_INPUT_DTYPES)
        if Z.shape[1] != self.n_components_:
            raise ValueError(
                f"Z has {Z.shape[1]} features, but {type(self).__name__} is "
                f"expecting {self.n_components_} features (n_components_) as input."
            )
        out_dtype = torch.from_numpy(np.empty(0, dtype or Z.dtype)).dtype
        offset, scale = (torch.as_tensor(v, dtype=out_dtype, device=self.net_.device)
                         for v in (self.input_offset_, self.input_scale_))

        def decode(module, Zb):  # back to the original units, batch by batch
            return torch.addcmul(offset, module.decode(Zb).to(out_dtype), scale)

        decoded = self._map_batches(Z, decode, scaled=False)
        encoding = _categorical.fitted_encoding(vars(self))  # back to categories
        return decoded if encoding is None else encoding.decode(decoded)

    def _reconstruction_errors(self, X, per_feature=False, fitted=None):
        """Reconstruction error of validated ``X`` in the scaled space, float64.

        Per sample (the mean over observed features), or per entry with
        ``per_feature`` (NaN where missing).
        """
        criterion = (vars(self) if fitted is None else fitted)["net_"].criterion_

        def errors(module, Xb, target):
            entry_errors = criterion.elementwise(module(Xb)[0], target)
            if entry_errors.ndim == 3:  # an ensemble's members: their mean
                entry_errors = entry_errors.mean(dim=0)
            return entry_errors if per_feature else observed_mean(entry_errors, dim=1)

        return self._map_batches(X, errors, fitted=fitted,
                                 with_targets=True).astype(np.float64)

    def _objective_scores(self, X, fitted):
        """The fitted objective's float64 score of every row of validated ``X``.

        The one scoring path of every estimator: the objective's per-batch
        scores (negative error, or ELBO) plus its constant shift, of shape
        ``(n_samples,)``, or ``(n_samples, n_members)`` for an ensemble.
        """
        objective = fitted["_objective_"]
        criterion = fitted["net_"].criterion_
        draws = fitted.get("_elbo_draws_")
        scores = self._map_batches(
            X, lambda module, Xb, target: objective.batch_scores(
                module, criterion, Xb, draws, target).transpose(0, -1),
            fitted=fitted, with_targets=True)
        return (scores.astype(np.float64)
                + objective.score_shift(criterion.loss, fitted["input_scale_"]))

    def _score_samples(self, X, fitted=None):
        """Float64 score of every row of validated ``X``; higher is more typical."""
        return self._objective_scores(X, vars(self) if fitted is None else fitted)


def _missing_fill(fitted):
    """The input of a missing entry of the fitted state ``fitted``, in the units of ``X``.

    The training means; a model fitted before missing values were supported
    has none recorded, and gets its offset (0 once scaled).
    """
    return fitted.get("missing_fill_", fitted["input_offset_"])


def _inference_batch_size(module):
    """Rows per inference batch: ``_INFERENCE_BATCH_SIZE`` shared by an ensemble's members.

    An ensemble computes every member's activations and reconstruction of
    each row at once, so its batches are that many times smaller, and its
    peak memory is that of one network's batch.
    """
    return max(1, _INFERENCE_BATCH_SIZE // getattr(module, "n_members", 1))


class OutputOverflowError(ValueError):
    """Raised when a network's outputs on finite input are not finite."""


def _check_finite_output(output, Xb, target):
    """Raise :class:`OutputOverflowError` unless the batch ``output`` is finite.

    The input was checked finite, so a value that is not is an overflow in
    the network's layers; per-entry outputs may be NaN only where the entry
    is missing (NaN in ``target``). A finite sum proves every value finite,
    at a fraction of the cost of ``isfinite``; only a sum that is not is
    checked value by value.
    """
    if not output.is_floating_point() or torch.isfinite(output.sum()):
        return
    if output.shape == target.shape:  # per entry: a missing entry's NaN is no overflow
        output = torch.where(torch.isnan(target), 0.0, output)
    if torch.isfinite(output).all():
        return
    largest = float(Xb.abs().max())
    raise OutputOverflowError(
        f"The network's outputs overflow on this finite input: its rows reach "
        f"{largest:.3g} in the scaled space the network computes in "
        f"({str(Xb.dtype).removeprefix('torch.')}, up to "
        f"{torch.finfo(Xb.dtype).max:.3g}), and its layers give values beyond that "
        "range (inf or NaN). Check the input for wrongly huge values, or scale it "
        "like the training data."
    )


def _inference_module(net, input_dtype):
    """The fitted module of ``net`` in eval mode, and the dtype it computes in.

    Inference computes in the precision of the input: float32 input runs the
    trained float32 module as it is, at the speed of the network; float64
    input on the CPU runs a float64 copy, so a float64 row's output does not
    depend on which rows share its batch (float32 matrix products vary with
    the batch shape in the 7th digit), which scikit-learn's invariance checks
    test. On CUDA everything runs as trained, in float32. The copy is made
    once per version of the fitted weights and kept beside the module, not in
    the estimator, so pickles stay small (see :func:`~skae._net.float64_copy`).
    """
    module = net.module_.eval()
    if torch.device(net.device).type == "cpu" and input_dtype == np.float64:
        module = float64_copy(module)
    return module, next(module.parameters()).dtype
