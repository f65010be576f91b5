"""Safe persistence: one file that loads without running any code from it.

:func:`save` writes a fitted (or unfitted) estimator to a single
`safetensors <https://huggingface.co/docs/safetensors>`_ file: the network's
weights and every numeric array of the fitted state are its tensors, and its
metadata header holds, as JSON, the estimator's class, its parameters and the
rest of its fitted state, under a version envelope::

    format          "skae.estimator"
    format_version  "1"
    skae_version    the version of skae that wrote the file
    estimator       {"class": ..., "params": {...}, "fitted": {...}}

:func:`load` reads the JSON and the tensors, never unpickles, and rebuilds
only what it recognises: the three estimators, the network objects
(:class:`~skae.DenseNetwork`, :class:`~skae.ConvNetwork`,
:class:`~skae.LSTMNetwork`), the objectives, the skorch net (rebuilt from the
parameters as ``fit`` builds it, then given the saved weights, optimiser
state, callbacks' state and history, so that ``partial_fit`` continues it)
and plain values. Anything else, or a file that does not match what it
describes, raises :class:`PersistenceError`.

The encoding is generic over the fitted attributes (those whose names end in
``_``): numeric arrays become tensors, JSON-able values JSON, and an
attribute of a type not listed here stops :func:`save` with an error rather
than being dropped.
"""

import json
import math
import os
import re
import tempfile
import warnings
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from skorch.history import History

from . import _training
from ._base import assign_fitted, fitted_state
from ._device import resolve_device
from ._fit_plan import FitPlan
from ._fitted_schema import fitted_problems, undeclared_name
from ._net import AutoencoderNet, VAENet
from ._objectives import ELBO_OBJECTIVE, RECONSTRUCTION
from .networks import ConvNetwork, DenseNetwork, LSTMNetwork
from .objectives import VAE, Reconstruction
from .outlier import AutoencoderOutlierDetector
from .transformers import AutoencoderTransformer, VAETransformer

__all__ = ["PersistenceError", "load", "save"]

FORMAT = "skae.estimator"
FORMAT_VERSION = 1

# What a file may name: exact classes only (a subclass could override any
# method, so it is refused too).
_ESTIMATORS = {cls.__name__: cls for cls in (AutoencoderTransformer, VAETransformer,
                                             AutoencoderOutlierDetector)}
# Parameter objects: networks, and the detector's objectives.
_NETWORKS = {cls.__name__: cls for cls in (DenseNetwork, ConvNetwork, LSTMNetwork,
                                           Reconstruction, VAE)}
_NETS = {cls.__name__: cls for cls in (AutoencoderNet, VAENet)}
_OBJECTIVES = {"reconstruction": RECONSTRUCTION, "elbo": ELBO_OBJECTIVE}
# Numeric dtypes stored as tensors (safetensors has no object arrays).
_DTYPES = {"bool", "uint8", "int8", "uint16", "int16", "uint32", "int32", "uint64", "int64",
           "float16", "float32", "float64"}
# How deep values may nest (a path of this many parts, as fitted/net_/optimizer/...):
# far deeper than anything skae writes, far shallower than Python's recursion limit.
_MAX_DEPTH = 32
# The string dtypes a file may declare: objects, or fixed-width unicode.
_STRING_DTYPE = re.compile(r"\|O|[<>]U[0-9]{1,9}")


class PersistenceError(ValueError):
    """Raised when an estimator cannot be saved safely, or a file cannot be loaded.

    Saving raises it for anything only pickle could rebuild (callbacks,
    subclasses, other objects). Loading raises it for anything that is not a
    file :func:`save` wrote:
    another format, a newer format version, a class outside the allow-list,
    tensors whose names, dtypes or shapes do not match what the file
    describes, or a fitted state that is not the estimator's (a missing or
    unknown attribute, a shape that does not match ``n_features_in_`` or the
    members, weights that are not finite). The message names the entry.
    """


def _safetensors():
    try:
        import safetensors.numpy
    except ImportError as exc:
        raise ImportError("skae.save and skae.load need the safetensors package: "
                          "pip install skae[safe]") from exc
    return safetensors


# -------------------------------------------------------------------- save
class _Encoder:
    """Turns the values of ``estimator`` into JSON, collecting numeric arrays as tensors."""

    def __init__(self, estimator):
        self.estimator = estimator
        self.tensors = {}

    def _tensor(self, array, where):
        if where in self.tensors:
            raise PersistenceError(f"Cannot save {where}: two values share that name.")
        # safetensors stores little-endian C-ordered data (ascontiguousarray
        # would make a 0-d array 1-d).
        self.tensors[where] = np.array(array, dtype=array.dtype.newbyteorder("<"), order="C")
        return where

    def encode(self, value, where):
        """The JSON form of ``value``, found at ``where`` (for messages and tensor names)."""
        if where.count("/") > _MAX_DEPTH:
            raise PersistenceError(f"Cannot save {where}: values nest more than "
                                   f"{_MAX_DEPTH} deep.")
        if where == "params/callbacks" and value is not None and len(value):
            raise PersistenceError(_unsafe_message(value, where))
        if value is None or type(value) in (bool, int, float, str):
            return value
        if type(value) is list:
            return [self.encode(item, f"{where}/{i}") for i, item in enumerate(value)]
        if type(value) is tuple:
            return {"type": "tuple",
                    "items": [self.encode(item, f"{where}/{i}") for i, item in enumerate(value)]}
        if type(value) is set and all(type(item) in (str, int) for item in value):
            return {"type": "set", "items": sorted(value, key=repr)}
        if type(value) is dict and all(type(key) in (str, int) for key in value):
            # Pairs, since JSON keys are strings only (an optimiser's state has ints).
            return {"type": "dict", "items": [[key, self.encode(item, f"{where}/{key}")]
                                              for key, item in value.items()]}
        if type(value) is np.ndarray:
            return self._encode_array(value, where)
        if type(value) is torch.Tensor and str(value.dtype).removeprefix("torch.") in _DTYPES:
            array = value.detach().cpu().numpy()
            return {"type": "tensor", "key": self._tensor(array, where),
                    "dtype": array.dtype.name, "shape": list(array.shape)}
        if isinstance(value, np.generic) and value.dtype.name in _DTYPES:
            return {"type": "scalar", "dtype": value.dtype.name, "value": value.item()}
        if isinstance(value, np.dtype) and value.name in _DTYPES:
            return {"type": "dtype", "name": value.name}
        if isinstance(value, torch.device):
            return {"type": "torch.device", "name": str(value)}
        if type(value) is np.random.RandomState:
            return {"type": "RandomState", "state": self.encode(value.get_state(), where)}
        if type(value) in _NETWORKS.values():
            return {"type": "network", "class": type(value).__name__,
                    "params": self.encode(value.get_params(deep=False), f"{where}/params")}
        for name, objective in _OBJECTIVES.items():
            # Objectives are stateless; an unpickled estimator holds a copy.
            if type(value) is type(objective):
                return {"type": "objective", "name": name}
        if type(value) in _NETS.values() and where == "fitted/net_":
            return self._encode_net(value, where)
        raise PersistenceError(_unsafe_message(value, where))

    def _encode_array(self, array, where):
        if array.dtype.name in _DTYPES:
            return {"type": "ndarray", "key": self._tensor(array, where),
                    "dtype": array.dtype.name, "shape": list(array.shape)}
        if (array.dtype.kind == "U" or array.dtype == object) and all(
                type(item) is str for item in array.flat):
            return {"type": "strings", "dtype": array.dtype.str, "shape": list(array.shape),
                    "items": array.ravel().tolist()}
        raise PersistenceError(_unsafe_message(array, where))

    def _encode_net(self, net, where):
        # The callbacks fit adds; those of the user (removed from the
        # parameters before saving) are not saved.
        own = {(name, type(callback)) for name, callback
               in [*net.get_default_callbacks(),
                   *_training.fit_callbacks(FitPlan.of_fitted(self.estimator))]}
        for key, tensor in net.module_.state_dict().items():
            self._tensor(tensor.detach().cpu().numpy(), f"{where}/{key}")
        return {"type": "net", "class": type(net).__name__,
                "history": self.encode(net.history.to_list(), f"{where}/history"),
                # What partial_fit continues from: Adam's moments and step
                # counts, and the callbacks' fitted state (best scores so far).
                "optimizer": self.encode(net.optimizer_.state_dict(), f"{where}/optimizer"),
                "callbacks": [[name, type(callback).__name__,
                               self.encode(_fitted_vars(callback), f"{where}/callbacks/{name}")]
                              for name, callback in net.callbacks_
                              if (name, type(callback)) in own]}


def _fitted_vars(instance):
    """The attributes of ``instance`` whose names end in ``_``."""
    return {name: value for name, value in vars(instance).items()
            if name.endswith("_") and not name.startswith("__")}


def _unsafe_message(value, where):
    kind = (f"an array of dtype {value.dtype}" if isinstance(value, np.ndarray)
            else f"a {type(value).__module__}.{type(value).__qualname__}")
    message = (f"Cannot save {where}: {kind} cannot be stored safely. skae.save stores "
               "numbers, strings, lists, tuples, dicts, numeric arrays and skae's own "
               "network objects, and refuses anything that would need pickle to load.")
    if where.startswith("params/callbacks"):
        message += (" Callbacks act only in training: remove them before saving with "
                    "estimator.set_params(callbacks=None).")
    return message


def save(estimator, path):
    """Save an estimator to one safetensors file that loads without pickle.

    The file holds the estimator's class and parameters, and, if it is
    fitted, its network's weights and every fitted attribute, so that
    :func:`load` gives an estimator whose outputs are identical. Nothing in
    it is executable; see :func:`load` for what loading checks.

    Parameters
    ----------
    estimator : AutoencoderTransformer, VAETransformer or AutoencoderOutlierDetector
        The estimator to save, fitted or not, with any network.
    path : str, bytes or path-like
        The file to write (``.safetensors`` is the customary suffix). It is
        replaced whole or not at all: the file is written beside it under a
        temporary name, flushed to disk, then renamed onto it, so a failed
        or concurrent save never leaves a partial file.

    Returns
    -------
    path : pathlib.Path
        The file written.

    Raises
    ------
    PersistenceError
        If the estimator, one of its parameters or fitted attributes cannot
        be stored safely: an attribute that is not one of the estimator's
        fitted attributes, a subclass of a skae estimator or network,
        ``callbacks`` (remove them with ``set_params(callbacks=None)``), or
        any other object that only pickle could rebuild.

    See Also
    --------
    load : Load the estimator back.

    Examples
    --------
    >>> import tempfile, os
    >>> from sklearn.datasets import load_iris
    >>> import skae
    >>> X, _ = load_iris(return_X_y=True)
    >>> ae = skae.AutoencoderTransformer(n_components=2, max_steps=30, random_state=0)
    >>> ae = ae.fit(X)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = skae.save(ae, os.path.join(folder, "ae.safetensors"))
    ...     loaded = skae.load(path)
    >>> bool((loaded.transform(X) == ae.transform(X)).all())
    True
    """
    name = type(estimator).__name__
    if _ESTIMATORS.get(name) is not type(estimator):
        raise PersistenceError(
            f"Cannot save a {type(estimator).__module__}.{type(estimator).__qualname__}: "
            f"skae.save stores {', '.join(_ESTIMATORS)} only.")
    fitted = fitted_state(estimator)
    problem = fitted and fitted_problems(estimator, fitted)
    if problem:
        raise PersistenceError(f"Cannot save fitted/{problem[0]}: {problem[1]}.")
    encoder = _Encoder(estimator)
    document = {
        "class": name,
        "params": {key: encoder.encode(value, f"params/{key}")
                   for key, value in estimator.get_params(deep=False).items()},
        "fitted": {key: encoder.encode(value, f"fitted/{key}") for key, value in fitted.items()},
    }
    from . import __version__

    metadata = {"format": FORMAT, "format_version": str(FORMAT_VERSION),
                "skae_version": __version__, "estimator": json.dumps(document)}
    data = _safetensors().numpy.save(encoder.tensors, metadata=metadata)
    path = _as_path(path)
    _write_atomically(data, path)
    return path


def _as_path(path):
    """``path`` (a str, bytes or any os.PathLike) as a :class:`~pathlib.Path`."""
    return Path(os.fsdecode(os.fspath(path)))


def _write_atomically(data, path):
    """Write ``data`` to ``path`` whole, or leave ``path`` as it was.

    The bytes go to a temporary file in the same folder, flushed to disk,
    which then replaces ``path`` in one step (``os.replace``): a write that
    fails partway (a full disk) or a concurrent save never leaves a partial
    file at ``path``.
    """
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                         suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# -------------------------------------------------------------------- load
def _expect(condition, where, what):
    if not condition:
        raise PersistenceError(f"Cannot load {where}: {what}.")


def _keys(node, where, keys):
    _expect(type(node) is dict and set(node) == set(keys), where,
            f"expected an object with the keys {sorted(keys)}, got {_brief(node)}")


def _named(value, table):
    """Whether ``value`` is a string naming an entry of ``table``."""
    return type(value) is str and value in table


def _brief(node):
    text = f"keys {sorted(map(str, node))}" if isinstance(node, dict) else repr(node)
    return text if len(text) < 80 else text[:77] + "..."


class _Decoder:
    """The inverse of :class:`_Encoder`, refusing anything it did not write."""

    # The tagged values :class:`_Encoder` writes, and the method reading each.
    _TYPES: ClassVar[dict] = {
        "tuple": "_decode_tuple", "dict": "_decode_dict", "ndarray": "_decode_ndarray",
        "tensor": "_decode_tensor", "set": "_decode_set",
        "strings": "_decode_strings", "scalar": "_decode_scalar", "dtype": "_decode_dtype",
        "torch.device": "_decode_device", "RandomState": "_decode_random_state",
        "network": "_decode_network", "objective": "_decode_objective", "net": "_decode_net",
    }

    def __init__(self, tensors):
        self.tensors = tensors
        self.used = set()

    def tensor(self, key, where, dtype, shape):
        _expect(type(key) is str and key in self.tensors and key not in self.used, where,
                f"the file has no unused tensor named {key!r}")
        self.used.add(key)
        array = self.tensors[key]
        _expect(array.dtype == dtype and list(array.shape) == list(shape), where,
                f"tensor {key!r} is {array.dtype}{list(array.shape)}, the file says "
                f"{dtype}{list(shape)}")
        return array

    def decode(self, node, where):
        _expect(where.count("/") <= _MAX_DEPTH, where, f"values nest more than {_MAX_DEPTH} deep")
        if node is None or type(node) in (bool, int, float, str):
            return node
        if type(node) is list:
            return [self.decode(item, f"{where}/{i}") for i, item in enumerate(node)]
        _expect(type(node) is dict and _named(node.get("type"), self._TYPES), where,
                f"unrecognised value {_brief(node)}")
        return getattr(self, self._TYPES[node["type"]])(node, where)

    def _decode_tuple(self, node, where):
        _keys(node, where, ("type", "items"))
        _expect(type(node["items"]) is list, where, "a tuple needs a list of items")
        return tuple(self.decode(node["items"], where))

    def _decode_set(self, node, where):
        _keys(node, where, ("type", "items"))
        _expect(type(node["items"]) is list
                and all(type(item) in (str, int) for item in node["items"]), where,
                "a set needs a list of strings and integers")
        return set(node["items"])

    def _decode_dict(self, node, where):
        _keys(node, where, ("type", "items"))
        items = node["items"]
        _expect(type(items) is list and all(
            type(item) is list and len(item) == 2 and type(item[0]) in (str, int)
            for item in items), where, "a dict needs a list of [key, value] pairs")
        _expect(len({key for key, _ in items}) == len(items), where, "repeated keys")
        return {key: self.decode(item, f"{where}/{key}") for key, item in items}

    def _shape(self, node, where):
        shape = node["shape"]
        _expect(type(shape) is list and all(type(n) is int and n >= 0 for n in shape), where,
                f"invalid shape {shape!r}")
        return shape

    def _decode_ndarray(self, node, where):
        _keys(node, where, ("type", "key", "dtype", "shape"))
        _expect(_named(node["dtype"], _DTYPES), where, f"unsupported dtype {node['dtype']!r}")
        return self.tensor(node["key"], where, np.dtype(node["dtype"]), self._shape(node, where))

    def _decode_tensor(self, node, where):
        return torch.from_numpy(self._decode_ndarray(node, where))

    def _decode_strings(self, node, where):
        _keys(node, where, ("type", "dtype", "shape", "items"))
        dtype = node["dtype"]
        _expect(type(dtype) is str and _STRING_DTYPE.fullmatch(dtype), where,
                f"unsupported string dtype {_brief(dtype)}")
        items, shape = node["items"], self._shape(node, where)
        _expect(type(items) is list and all(type(item) is str for item in items)
                and len(items) == math.prod(shape), where,
                f"expected {math.prod(shape)} strings")
        # A fixed width no wider than the longest string: nothing larger
        # than the file's own text is allocated.
        _expect(dtype == "|O" or int(dtype[2:]) <= max([1, *map(len, items)]), where,
                f"string dtype {dtype} is wider than its longest string")
        array = np.empty(len(items), dtype=object) if dtype == "|O" else None
        if array is None:
            return np.array(items, dtype=dtype).reshape(shape)
        array[:] = items
        return array.reshape(shape)

    def _decode_scalar(self, node, where):
        _keys(node, where, ("type", "dtype", "value"))
        _expect(_named(node["dtype"], _DTYPES) and type(node["value"]) in (bool, int, float),
                where, f"invalid scalar {_brief(node)}")
        try:
            return np.dtype(node["dtype"]).type(node["value"])
        except OverflowError as exc:
            raise PersistenceError(f"Cannot load {where}: {exc}") from None

    def _decode_dtype(self, node, where):
        _keys(node, where, ("type", "name"))
        _expect(_named(node["name"], _DTYPES), where, f"unsupported dtype {node['name']!r}")
        return np.dtype(node["name"])

    def _decode_device(self, node, where):
        _keys(node, where, ("type", "name"))
        try:
            return torch.device(node["name"])
        except (RuntimeError, TypeError, ValueError) as exc:
            raise PersistenceError(f"Cannot load {where}: {exc}") from None

    def _decode_random_state(self, node, where):
        _keys(node, where, ("type", "state"))
        random_state = np.random.RandomState()
        try:
            random_state.set_state(self.decode(node["state"], where))
        except (TypeError, ValueError) as exc:
            raise PersistenceError(f"Cannot load {where}: {exc}") from None
        return random_state

    def _decode_network(self, node, where):
        _keys(node, where, ("type", "class", "params"))
        _expect(_named(node["class"], _NETWORKS), where,
                f"{node['class']!r} is not a skae network ({', '.join(_NETWORKS)})")
        params = self.decode(node["params"], f"{where}/params")
        _expect(type(params) is dict, where, "a network's parameters must be a dict")
        return _construct(_NETWORKS[node["class"]], params, where)

    def _decode_objective(self, node, where):
        _keys(node, where, ("type", "name"))
        _expect(_named(node["name"], _OBJECTIVES), where, f"unknown objective {node['name']!r}")
        return _OBJECTIVES[node["name"]]

    def _decode_net(self, node, where):
        _expect(where == "fitted/net_", where, "a network belongs in the fitted net_ only")
        _keys(node, where, ("type", "class", "history", "optimizer", "callbacks"))
        _expect(_named(node["class"], _NETS), where, f"{node['class']!r} is not a skae net")
        history = self.decode(node["history"], f"{where}/history")
        _expect(type(history) is list and all(type(epoch) is dict for epoch in history),
                where, "the history must be a list of dicts")
        optimizer = self.decode(node["optimizer"], f"{where}/optimizer")
        _keys(optimizer, f"{where}/optimizer", ("state", "param_groups"))
        callbacks = node["callbacks"]
        _expect(type(callbacks) is list and all(
            type(item) is list and len(item) == 3 and type(item[0]) is str
            and type(item[1]) is str for item in callbacks), where,
            "the callbacks must be [name, class, attributes] triples")
        callbacks = [(name, cls, self.decode(attributes, f"{where}/callbacks/{name}"))
                     for name, cls, attributes in callbacks]
        return _SavedNet(_NETS[node["class"]], History(history), optimizer, callbacks)


class _SavedNet:
    """A net's class, history, optimiser and callbacks' state, until it is rebuilt."""

    def __init__(self, cls, history, optimizer, callbacks):
        self.cls = cls
        self.history = history
        self.optimizer = optimizer
        self.callbacks = callbacks


def _restore_callbacks(net, saved):
    """Give ``net`` the saved callbacks (a subset of those ``fit`` adds), in their state."""
    where = "fitted/net_/callbacks"
    available = dict(net.callbacks_)
    restored = []
    for name, cls, attributes in saved:
        callback = available.get(name)
        _expect(callback is not None and type(callback).__name__ == cls, where,
                f"{name!r} ({cls}) is not one of the callbacks fit adds")
        _expect(type(attributes) is dict and all(
            type(attribute) is str and attribute.endswith("_") and attribute.isidentifier()
            and not attribute.startswith("__") for attribute in attributes), where,
            f"invalid attributes of {name!r}")
        vars(callback).update(attributes)
        restored.append((name, callback))
    net.callbacks_ = restored


def _check_weights_declared(estimator, plan, decoder):
    """Check the file's weight tensors against the network its parameters describe.

    The network is built on the ``meta`` device, which allocates no
    memory, so that a file declaring a huge network with small tensors is
    refused before the network is built.
    """
    with torch.device("meta"):
        module, _ = _training.build_module(estimator, plan)
    for key, expected in module.state_dict().items():
        where = f"fitted/net_/{key}"
        array = decoder.tensors.get(where)
        dtype = str(expected.dtype).removeprefix("torch.")
        _expect(array is not None and array.dtype == dtype
                and array.shape == tuple(expected.shape), where,
                f"the parameters describe a {dtype} tensor of shape {list(expected.shape)}, "
                f"the file holds {_brief_tensor(array)}")


def _brief_tensor(array):
    return "none" if array is None else f"{array.dtype}{list(array.shape)}"


def _check_hyperparameters(optimizer, groups):
    """Check that every saved optimiser hyperparameter has the type of the fresh one."""
    where = "fitted/net_/optimizer/param_groups"
    _expect(len(groups) == len(optimizer.param_groups), where, "the groups do not match")
    for group, fresh in zip(groups, optimizer.param_groups):
        _expect(set(group) == set(fresh), where,
                f"expected the hyperparameters {sorted(fresh)}, got {sorted(map(str, group))}")
        for name, value in group.items():
            _expect(name == "params" or _same_kind(value, fresh[name]), f"{where}/{name}",
                    f"{_brief(value)} is not of the kind of {_brief(fresh[name])}")


def _same_kind(value, reference):
    """Whether ``value`` is of the kind of ``reference``: a finite number for a number."""
    if type(reference) in (int, float):
        return type(value) in (int, float) and math.isfinite(value)
    if type(reference) in (tuple, list):
        return (type(value) is type(reference) and len(value) == len(reference)
                and all(map(_same_kind, value, reference)))
    return type(value) is type(reference)


def _load_optimizer_state(optimizer, state):
    """Load ``state`` into ``optimizer`` after checking it fits its parameters.

    torch checks the parameter groups; the shapes of the per-parameter
    tensors are checked here: a scalar (step counts), the parameter's shape
    (Adam's moments, momentum), or one flat vector of every parameter
    (L-BFGS), so that a tampered file fails now, not in a later step.
    """
    where = "fitted/net_/optimizer"
    params = [param for group in optimizer.param_groups for param in group["params"]]
    n_total = sum(param.numel() for param in params)
    groups = state["param_groups"]
    _expect(type(groups) is list and all(
        type(group) is dict and type(group.get("params")) is list
        and all(type(index) is int for index in group["params"]) for group in groups),
        where, "invalid param_groups")
    _check_hyperparameters(optimizer, groups)
    ids = [index for group in groups for index in group["params"]]
    _expect(type(state["state"]) is dict and set(state["state"]) <= set(ids)
            and len(ids) == len(params), where, "the state does not match the parameters")
    by_id = dict(zip(ids, params))
    for index, entry in state["state"].items():
        _expect(type(entry) is dict, where, "invalid per-parameter state")
        tensors = [value for value in entry.values() if isinstance(value, torch.Tensor)]
        tensors += [item for value in entry.values() if type(value) is list
                    for item in value if isinstance(item, torch.Tensor)]
        for tensor in tensors:
            _expect(tensor.dtype.is_floating_point and (
                tensor.ndim == 0 or tensor.shape == by_id[index].shape
                or (tensor.ndim == 1 and tensor.numel() == n_total)), where,
                f"a state tensor of shape {list(tensor.shape)} fits no parameter")
            _expect(torch.isfinite(tensor).all(), where, "a state tensor is not finite")
    try:
        optimizer.load_state_dict(state)
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise PersistenceError(f"Cannot load {where}: {exc}") from None


def _construct(cls, params, where):
    """``cls(**params)`` with its parameters checked, or a PersistenceError."""
    names = set(cls._get_param_names())  # scikit-learn's: the signature's names
    _expect(set(params) == names, where,
            f"expected the parameters {sorted(names)} of {cls.__name__}, "
            f"got {sorted(map(str, params))}")
    try:
        instance = cls(**params)
        instance._validate_params()
    except (TypeError, ValueError) as exc:
        raise PersistenceError(f"Cannot load {where}: {exc}") from None
    return instance


def _load_device(saved, device):
    """The device to load onto: ``device``, else the saved one, else the CPU."""
    if device is not None:
        return resolve_device(device)
    try:
        return resolve_device(saved)
    except ValueError:
        warnings.warn(f"The estimator was saved from device {saved!r}, which this machine "
                      "does not have; it is loaded on the CPU.", UserWarning, stacklevel=3)
        return "cpu"


def _rebuild_net(estimator, fitted, saved, decoder, device):
    """The fitted skorch net: built as ``fit`` builds it, then given the saved state.

    The weights, the optimiser's and callbacks' state and the history are
    the saved ones, so ``partial_fit`` continues as it would have on the
    saved estimator.
    """
    try:
        plan = FitPlan.of_fitted(estimator, fitted, device)
        _expect(plan.objective is FitPlan.objective_of(estimator)
                and saved.cls is plan.objective.net_class,
                "fitted/net_", "the objective does not match the estimator's")
        # Sized without memory first: the file's tensors must be the
        # network's, so building it allocates no more than the file holds.
        _check_weights_declared(estimator, plan, decoder)
        net = _training.rebuild_net(estimator, plan)
    except (TypeError, ValueError, RuntimeError) as exc:
        if isinstance(exc, PersistenceError):
            raise
        raise PersistenceError(f"Cannot rebuild the network: {exc}") from None
    state = {}
    for key, expected in net.module_.state_dict().items():
        where = f"fitted/net_/{key}"
        state[key] = torch.from_numpy(decoder.tensor(
            where, where, np.dtype(str(expected.dtype).removeprefix("torch.")), expected.shape))
        _expect(not state[key].is_floating_point() or torch.isfinite(state[key]).all(), where,
                "it holds values that are not finite")
    net.module_.load_state_dict(state)
    _load_optimizer_state(net.optimizer_, saved.optimizer)
    _restore_callbacks(net, saved.callbacks)
    net.history = saved.history
    return net


def load(path, *, device=None):
    """Load an estimator saved by :func:`save`, without unpickling anything.

    Loading reads JSON and tensors only, rebuilds only allow-listed classes
    (skae's estimators and networks), and checks, before the estimator is
    returned: every tensor's name, dtype and shape against the network the
    parameters describe (sized without allocating it, so a file cannot make
    ``load`` allocate more than the tensors it holds), the fitted state
    against the estimator's (every attribute a fit sets and no other, shapes
    consistent with ``n_features_in_`` and the members, finite weights and
    optimiser state, optimiser settings of the right types), and how deep
    values nest. A model trained on CUDA loads
    on a machine without CUDA: its weights are loaded onto the CPU, as
    unpickling does.

    Parameters
    ----------
    path : str, bytes or path-like
        A file written by :func:`save`.
    device : str or torch.device, default=None
        Where to load the network: by default the device it was saved from
        (``device_``), or the CPU with a warning when this machine does not
        have it. The loaded estimator's ``device_`` says where it is.

    Returns
    -------
    estimator : AutoencoderTransformer, VAETransformer or AutoencoderOutlierDetector
        The saved estimator, with the same parameters and, if it was fitted,
        the same fitted attributes and outputs.

    Raises
    ------
    PersistenceError
        If the file is not a skae file, was written in a newer format
        version, names a class outside the allow-list, or its tensors do not
        match what it describes. A file written by another skae version
        loads with a ``UserWarning``.

    See Also
    --------
    save : Write the file.

    Examples
    --------
    >>> import tempfile, os
    >>> import numpy as np
    >>> import skae
    >>> X = np.random.RandomState(0).normal(size=(100, 5))
    >>> detector = skae.AutoencoderOutlierDetector(n_estimators=2, max_steps=20,
    ...                                            random_state=0).fit(X)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = skae.save(detector, os.path.join(folder, "detector.safetensors"))
    ...     loaded = skae.load(path)
    >>> bool((loaded.score_samples(X) == detector.score_samples(X)).all())
    True
    """
    safetensors = _safetensors()
    path = _as_path(path)
    where = str(path)
    with open(path, "rb"):  # a missing file raises as usual
        pass
    try:
        with safetensors.safe_open(where, framework="np") as file:
            metadata = file.metadata() or {}
            tensors = {key: file.get_tensor(key) for key in file.keys()}  # noqa: SIM118
    except Exception as exc:  # noqa: BLE001 (safetensors raises several types)
        raise PersistenceError(f"{where} is not a safetensors file written by skae.save: "
                               f"{exc}") from None
    document = _read_envelope(metadata, where)
    _keys(document, "the estimator", ("class", "params", "fitted"))
    _expect(_named(document["class"], _ESTIMATORS), "the estimator",
            f"{document['class']!r} is not a skae estimator ({', '.join(_ESTIMATORS)})")
    decoder = _Decoder(tensors)
    _expect(type(document["params"]) is dict and type(document["fitted"]) is dict,
            "the estimator", "params and fitted must be objects")
    params = {key: decoder.decode(value, f"params/{key}")
              for key, value in document["params"].items()}
    # save refuses callbacks: they would run in training.
    _expect(params.get("callbacks") in (None, [], ()), "params/callbacks",
            f"a file holds no callbacks, got {_brief(params.get('callbacks'))}")
    estimator = _construct(_ESTIMATORS[document["class"]], params, "the parameters")
    fitted = _decode_fitted(estimator, document["fitted"], decoder)
    if fitted:
        _expect(isinstance(fitted["net_"], _SavedNet), "fitted/net_", "not a network")
        fitted["net_"] = _rebuild_net(estimator, fitted, fitted["net_"], decoder,
                                      _load_device(fitted["device_"], device))
        fitted["device_"] = str(fitted["net_"].device)
    unused = sorted(set(tensors) - decoder.used)
    _expect(not unused, where, f"tensors the file does not describe: {unused[:5]}")
    assign_fitted(estimator, fitted)
    return estimator


def _decode_fitted(estimator, document, decoder):
    """The fitted state in ``document``, checked against the estimator's schema.

    Names outside the schema are refused before their values are read.
    """
    if not document:
        return {}
    unknown = undeclared_name(estimator, document)
    _expect(unknown is None, f"fitted/{unknown}",
            f"not a fitted attribute of {type(estimator).__name__}")
    fitted = {name: decoder.decode(value, f"fitted/{name}") for name, value in document.items()}
    problem = fitted_problems(estimator, fitted)
    if problem:
        raise PersistenceError(f"Cannot load fitted/{problem[0]}: {problem[1]}.")
    return fitted


def _read_envelope(metadata, where):
    """The estimator's JSON document, after checking the version envelope."""
    _expect(metadata.get("format") == FORMAT, where,
            f"not a skae estimator file (format {metadata.get('format')!r}, "
            f"expected {FORMAT!r})")
    version = metadata.get("format_version", "")
    _expect(re.fullmatch("[0-9]{1,6}", version) and int(version) >= 1, where,
            f"invalid format_version {version!r}")
    _expect(int(version) <= FORMAT_VERSION, where,
            f"it was written in format version {version} by skae "
            f"{metadata.get('skae_version')}; this skae reads format version "
            f"{FORMAT_VERSION}: upgrade skae")
    _expect(set(metadata) == {"format", "format_version", "skae_version", "estimator"},
            where, f"unexpected metadata keys {sorted(metadata)}")
    from . import __version__

    if metadata["skae_version"] != __version__:
        warnings.warn(f"{where} was written by skae {metadata['skae_version']}; this is skae "
                      f"{__version__}. Check its outputs, or refit with this version.",
                      UserWarning, stacklevel=3)
    try:
        return json.loads(metadata["estimator"])
    except (ValueError, RecursionError) as exc:
        raise PersistenceError(f"Cannot load {where}: invalid JSON ({exc}).") from None
