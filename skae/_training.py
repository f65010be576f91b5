"""Training: build the skorch net of a fit plan and train it, one path for all fits.

:func:`train` serves ``fit`` (a new model, with its stopping rules), the
first call of ``partial_fit`` (a new model, one pass) and later calls (one
more pass of the fitted net). All three share one prologue: the plan (new or
of the fitted model), the training rows, their dataset and split, the net's
arguments; and one epilogue, :func:`_trained`, which runs skorch's loop,
checks the result and reads the fitted attributes. Nothing is assigned to
the estimator here: :mod:`skae._base` assigns the returned attributes.
"""

import math

import numpy as np
import torch
from skorch.callbacks import EarlyStopping
from skorch.helper import predefined_split
from skorch.utils import noop

from . import _inference
from ._data import ArrayDataset, BatchIterator
from ._diagnostics import check_not_diverged, history_attributes
from ._fit_plan import FitPlan
from ._net import (
    LBFGS,
    AutoencoderNet,
    BestEpochEarlyStopping,
    DivergenceGuard,
    ReconstructionLoss,
    checkpoint,
    named_callbacks,
)
from ._pca_start import principal_axes
from ._progress import ProgressLine
from ._random import fit_random_state, torch_seeded
from ._torch_modules import SequentialAutoencoder

OPTIMIZERS = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD, "lbfgs": LBFGS}
# early_stopping='auto' holds out a validation split when it has this many rows.
AUTO_MIN_VALIDATION_ROWS = 5
# Parameters that partial_fit does not use: fit's budget and stopping rules,
# how a model is seeded, and what only reports.
NOT_IN_PARTIAL_FIT = frozenset({"max_steps", "early_stopping", "validation_fraction",
                                "n_iter_no_change", "tol", "pretrain_epochs",
                                "random_state", "callbacks", "verbose", "compile",
                                "n_jobs", "handle_unknown"})


def compile_mode(compile, device):
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


def partial_fit_signature(estimator):
    """The parameters a model continued by ``partial_fit`` must keep, as their reprs."""
    return {name: repr(value) for name, value in estimator.get_params(deep=False).items()
            if name not in NOT_IN_PARTIAL_FIT}


def net_arguments(plan, n_rows, seed):
    """skorch net arguments of ``plan`` shared by the network and its pre-training nets."""
    params = plan.params
    arguments = {
        "criterion": ReconstructionLoss,
        "optimizer": OPTIMIZERS[params["optimizer"]],
        "lr": params["learning_rate"],
        "optimizer__weight_decay": params["weight_decay"],
        "batch_size": min(params["batch_size"], n_rows),
        "iterator_train__seed": seed,
        "iterator_train__merge_single": plan.network.needs_two_rows,
        "device": plan.device,
        # verbose=1 is one progress line (ProgressLine), 2 skorch's epoch table.
        "verbose": params["verbose"] if params["verbose"] > 1 else 0,
        "noise_std": params["noise_std"],
        "mask_probability": params["mask_probability"],
        "compile_mode": compile_mode(params["compile"], plan.device),
    }
    if params["optimizer"] == "sgd":
        arguments.update(optimizer__momentum=0.9, optimizer__nesterov=True)
    elif params["optimizer"] == "lbfgs":
        # Full-batch quasi-Newton steps with a line search: the step size
        # comes from the search, not from learning_rate.
        arguments.update(lr=1.0, batch_size=n_rows, optimizer__max_iter=20,
                         optimizer__line_search_fn="strong_wolfe")
    return arguments


def fit_callbacks(plan, validated=None):
    """The callbacks of a fit; ``validated``: whether it has a validation split.

    By default, whether ``early_stopping`` asks for one.
    """
    params = plan.params
    validated = bool(params["early_stopping"]) if validated is None else validated
    stopper = BestEpochEarlyStopping(
        monitor="valid_loss" if validated else "train_loss",
        patience=params["n_iter_no_change"], threshold=params["tol"],
        threshold_mode="abs", load_best=validated,
        sink=print if params["verbose"] > 1 else noop,
    )
    user = named_callbacks(params["callbacks"])
    progress = ([("progress", ProgressLine(plan.owner, params["max_steps"]))]
                if params["verbose"] == 1 else [])
    return plan.objective.callbacks(
        [("divergence_guard", DivergenceGuard()), ("early_stopping", stopper),
         *progress, *user], params)


def _without_stopping_rules(callbacks):
    """``(name, callback)`` pairs without the early-stopping rules of ``fit``."""
    return [(name, callback) for name, callback in callbacks
            if not isinstance(callback, EarlyStopping)]


def build_module(estimator, plan):
    """The initialised torch module of ``plan`` (seeded by its seed), and its widest code."""
    with torch_seeded(plan.seed):  # initial weights: the global generator, forked
        return estimator._build_module(plan)


def new_net(estimator, plan, arguments, **net_params):
    """The initialised skorch net of a new model of ``plan``."""
    module, _ = build_module(estimator, plan)
    net = plan.objective.net_class(
        module=module, **{**arguments, **plan.criterion},
        criterion__loss=plan.params["loss"], **net_params,
        **plan.objective.net_params(plan.params))
    return net.initialize()


def rebuild_net(estimator, plan):
    """An initialised net as ``fit`` leaves it (no validation split, fit's callbacks).

    For :mod:`skae.persistence`, which then loads the saved state into it.
    """
    return new_net(estimator, plan, net_arguments(plan, plan.params["batch_size"], plan.seed),
                   train_split=None, callbacks=fit_callbacks(plan))


def _split(plan, dataset):
    """Training and validation datasets (``None`` without early stopping)."""
    early_stopping = plan.params["early_stopping"]
    if not early_stopping:
        return dataset, None
    n_samples = len(dataset)
    n_valid = int(np.ceil(plan.params["validation_fraction"] * n_samples))
    if early_stopping == "auto" and n_valid < AUTO_MIN_VALIDATION_ROWS:
        return dataset, None
    if n_samples - n_valid < 1:
        raise ValueError(
            f"early_stopping=True holds out {n_valid} of {n_samples} rows, "
            "which leaves none to train on; give more rows or set "
            "early_stopping=False."
        )
    order = np.random.RandomState(plan.seed).permutation(n_samples)
    return dataset.subset(np.sort(order[n_valid:])), dataset.subset(np.sort(order[:n_valid]))


def _check_trainable(train, network):
    if network.needs_two_rows and len(train) < 2:
        raise ValueError(
            f"batch_norm=True cannot train on n_samples = {len(train)}: batch "
            "normalisation needs at least 2 rows per batch."
        )


def _encoded_dataset(encoder, dataset, device):
    """The outputs of ``encoder`` on every row of ``dataset``, as a dataset."""
    encoder.eval()
    with torch.no_grad():
        codes = torch.cat([encoder(Xb).cpu() for Xb, _ in
                           BatchIterator(dataset, _inference.INFERENCE_BATCH_SIZE)]).numpy()
    n_columns = codes.shape[1]
    return ArrayDataset(codes, np.zeros(n_columns), np.ones(n_columns), device)


def _pretrain(plan, module, dataset):
    """Greedy layer-wise pre-training of the initialised ``module``.

    Each encoder layer and its mirror decoder layer are trained as a
    shallow autoencoder of the previous layer's codes, in place: the
    pairs share their parameters with the deep module, which training
    then fine-tunes as a whole.
    """
    pairs = module.layer_pairs()
    for depth, (encoder, decoder) in enumerate(pairs):
        AutoencoderNet(
            module=SequentialAutoencoder(encoder, decoder),
            **net_arguments(plan, len(dataset), plan.seed + depth),
            # The inner pairs rebuild hidden activations, not the data.
            criterion__loss=plan.params["loss"] if depth == 0 else "mse",
            max_epochs=plan.pretrain_epochs,
            train_split=None,
            callbacks=[("divergence_guard", DivergenceGuard())],
        ).fit(dataset)
        if depth < len(pairs) - 1:
            dataset = _encoded_dataset(encoder, dataset, plan.device)
    module.train()  # encoding left some blocks in eval mode


def _start_linear_path(estimator, module, dataset, plan):
    """Start a module with a linear path at the PCA of ``dataset``'s scaled rows.

    The estimator's ``_sum_over_processes`` sums the rows' moments over the
    processes of a data-parallel fit.
    """
    if hasattr(module, "start_at"):
        module.start_at(*principal_axes(dataset, plan.n_components, plan.seed,
                                        total=estimator._sum_over_processes))


def _started_net(estimator, plan, arguments, dataset, train, valid, partial):
    """The new net of ``fit`` (``partial=False``) or of a first ``partial_fit``, started."""
    if partial:  # one pass: the stopping rules of fit need a whole data set
        net = new_net(estimator, plan, arguments, max_epochs=1, train_split=None,
                      callbacks=_without_stopping_rules(fit_callbacks(plan)))
        _start_linear_path(estimator, net.module_, train, plan)
        return net
    max_steps = plan.params["max_steps"]
    batches_per_epoch = len(BatchIterator(train, arguments["batch_size"],
                                          merge_single=plan.network.needs_two_rows))
    net = new_net(estimator, plan, arguments,
                  max_epochs=math.ceil(max_steps / batches_per_epoch),
                  iterator_train__max_batches=max_steps,
                  train_split=predefined_split(valid) if valid is not None else None,
                  callbacks=fit_callbacks(plan, validated=valid is not None))
    if plan.pretrain_epochs:
        _pretrain(plan, net.module_, train)
    _start_linear_path(estimator, net.module_, dataset, plan)
    return net


def _continued_net(net, arguments, seed):
    """The fitted ``net`` set for one more pass, shuffled by ``seed``.

    Plain attributes: skorch's set_params would re-initialise the net.
    """
    if net.compile_mode != arguments["compile_mode"]:
        net.__dict__.pop("_compiled_forward", None)  # compiled in another mode
    for name, value in {"max_epochs": 1, "iterator_train__max_batches": None,
                        "batch_size": arguments["batch_size"],
                        "iterator_train__seed": seed,
                        "compile_mode": arguments["compile_mode"]}.items():
        setattr(net, name, value)
    net.callbacks_ = _without_stopping_rules(net.callbacks_)
    return net


def check_partial_fit_params(estimator):
    """Raise when a parameter that shapes the model changed since it was fitted."""
    fitted_with = getattr(estimator, "_fit_signature_", None)
    if fitted_with is None:  # fitted by skae 0.2.0, which did not record it
        return
    changed = sorted(name for name, value in partial_fit_signature(estimator).items()
                     if fitted_with.get(name) != value)
    if changed:
        raise ValueError(
            f"partial_fit continues the fitted model, but {', '.join(changed)} "
            f"changed since it was fitted ({type(estimator).__name__} was fitted with "
            + ", ".join(f"{name}={fitted_with.get(name)}" for name in changed)
            + "). Call fit to start a new model with the new parameters, or set "
            "them back."
        )


def train(estimator, X, partial=False):
    """Train ``estimator`` on validated ``X``: a new model, or with ``partial`` one pass.

    A later ``partial_fit`` continues the fitted net and optimiser, with the
    scaling and seed of the fitted model; each call draws its shuffling and
    subsample from that seed and the epochs trained so far, and if it fails
    the net's weights, optimiser and history are put back. Returns the
    fitted attributes as a dict, and whether training ended by exhausting
    ``max_steps``.
    """
    continuing = partial and estimator.__sklearn_is_fitted__()
    if continuing:
        check_partial_fit_params(estimator)
        plan = FitPlan.of_fitted(estimator)
        seed = (plan.seed + len(estimator.net_.history)) % 2**32  # this call's draws
    else:
        plan = FitPlan.resolve(estimator, X)
        seed = plan.seed
    dataset = ArrayDataset(estimator._training_rows(X, seed), plan.offset, plan.scale,
                           plan.device, fill=plan.fill)
    train_rows, valid = (dataset, None) if partial else _split(plan, dataset)
    _check_trainable(train_rows, plan.network)
    arguments = net_arguments(plan, len(train_rows), seed)
    restore = checkpoint(estimator.net_) if continuing else noop
    try:
        with fit_random_state(seed):  # every draw: generators private to this fit
            net = (_continued_net(estimator.net_, arguments, seed) if continuing else
                   _started_net(estimator, plan, arguments, dataset, train_rows, valid,
                                partial))
            fitted = _trained(estimator, net, train_rows, X, plan)
    except BaseException:
        restore()
        raise
    return fitted, not partial and fitted["n_steps_"] >= plan.params["max_steps"]


def _trained(estimator, net, train_rows, X, plan):
    """Train ``net`` on ``train_rows`` (one skorch ``partial_fit``); the fitted attributes.

    It runs skorch's loop, checks the result on the rows of ``X`` and reads
    the fitted attributes from the net.
    """
    net.partial_fit(train_rows)
    _release_training_state(net)
    fitted = {"net_": net, "device_": plan.device, "n_components_": plan.n_components,
              "input_offset_": plan.offset, "input_scale_": plan.scale,
              "missing_fill_": plan.fill, "_objective_": plan.objective,
              "_fit_dtype_": X.dtype,
              # With the parameters, the seed rebuilds the module's structure
              # (skae.persistence).
              "_fit_seed_": plan.seed, "_fit_signature_": partial_fit_signature(estimator)}
    check_not_diverged(X, plan.seed, fitted, plan, plan.params["n_jobs"])
    code_width = max(getattr(net.module_, "code_widths", [plan.n_components]))
    return {**fitted, **history_attributes(net, plan.params["early_stopping"]),
            **plan.objective.fitted_attributes(net, plan.seed, code_width)}


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
