"""Safe persistence: identical outputs and fitted state after a round trip, and
clear errors, never an unpickle, for every file skae.save did not write."""

import json
import os
import pickle
import subprocess
import sys
import threading
import warnings

import numpy as np
import pytest
import safetensors.numpy as safetensors
import torch
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from skorch.callbacks import Callback
from skorch.net import NeuralNet

import skae
from skae import (
    AutoencoderOutlierDetector,
    AutoencoderTransformer,
    ConvNetwork,
    DenseNetwork,
    LSTMNetwork,
    PersistenceError,
    VAETransformer,
)
from skae._base import fitted_state
from skae._testing import CPU, dense

FAST = {**CPU, "max_steps": 6, "batch_size": 16}

# One of each estimator, network family and network option.
CONFIGS = {
    "dense": (AutoencoderTransformer, {"n_components": 2, "network": dense(6)}),
    "dense-options": (AutoencoderTransformer, {
        "n_components": 2, "early_stopping": True, "pretrain_epochs": 1,
        "network": dense(6, 4, batch_norm=True, tied_weights=True, dropout=0.1)}),
    "conv": (AutoencoderTransformer, {
        "n_components": 2, "network": ConvNetwork((2, 2, 2), channels=(2,)),
        "optimizer": "lbfgs"}),
    "lstm": (AutoencoderTransformer, {
        "n_components": 2, "network": LSTMNetwork((4, 2), hidden_layer_sizes=(3,),
                                                  reverse_decoding=True),
        "optimizer": "sgd"}),
    "vae": (VAETransformer, {"n_components": 2, "network": dense(6, tied_weights=True),
                             "early_stopping": True}),
    "detector": (AutoencoderOutlierDetector, {
        "n_estimators": 3, "contamination": 0.1, "network": dense(6, batch_norm=True)}),
    "detector-vae": (AutoencoderOutlierDetector, {"n_estimators": 2, "objective": "vae",
                                                  "network": dense(4)}),
    "detector-calibrated": (AutoencoderOutlierDetector, {
        "n_estimators": 2, "false_alarm_rate": 0.2, "network": dense(4)}),
    "detector-conv": (AutoencoderOutlierDetector, {
        "n_estimators": 2, "network": ConvNetwork((2, 2, 2), channels=(2,))}),
}


@pytest.fixture
def X():
    rng = np.random.RandomState(0)
    return rng.normal(size=(48, 3)) @ rng.normal(size=(3, 8))


def _fit(cls, params, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return cls(**{**FAST, **params}).fit(X)


def _outputs(estimator, X):
    """Every output of ``estimator`` on ``X``."""
    if isinstance(estimator, AutoencoderOutlierDetector):
        methods = ["score_samples", "decision_function", "predict", "feature_errors"]
        if estimator.false_alarm_rate is not None:
            methods.append("p_values")
        outputs = {method: getattr(estimator, method)(X) for method in methods}
    else:
        codes = estimator.transform(X)
        outputs = {"transform": codes, "inverse_transform": estimator.inverse_transform(codes),
                   "score_samples": estimator.score_samples(X)}
    if isinstance(estimator, VAETransformer):
        outputs["sample"] = estimator.sample(5, random_state=3)
    return outputs


def assert_same(before, after, where="estimator"):
    """``after`` equals ``before`` in type and value, arrays in dtype and shape too."""
    if isinstance(before, NeuralNet):
        assert type(after) is type(before), where
        assert after.history.to_list() == before.history.to_list(), where
        assert after.criterion_.loss == before.criterion_.loss, where
        assert str(after.device) == str(before.device), where
        assert_same(before.module_.state_dict(), after.module_.state_dict(), where)
        assert_same(before.optimizer_.state_dict(), after.optimizer_.state_dict(), where)
        assert [name for name, _ in after.callbacks_] == [name for name, _ in before.callbacks_]
        for (name, callback), (_, restored) in zip(before.callbacks_, after.callbacks_):
            assert_same({key: value for key, value in vars(callback).items() if key[-1] == "_"},
                        {key: value for key, value in vars(restored).items() if key[-1] == "_"},
                        f"{where}.callbacks_[{name!r}]")
        return
    assert type(after) is type(before), where
    if isinstance(before, (np.ndarray, torch.Tensor)):
        assert (after.dtype, after.shape) == (before.dtype, before.shape), where
        np.testing.assert_array_equal(after, before, err_msg=where)
    elif isinstance(before, BaseEstimator):
        assert_same(before.get_params(deep=False), after.get_params(deep=False), where)
    elif isinstance(before, (list, tuple)):
        assert len(after) == len(before), where
        for i, (item_before, item_after) in enumerate(zip(before, after)):
            assert_same(item_before, item_after, f"{where}[{i}]")
    elif isinstance(before, dict):
        assert list(after) == list(before), where
        for key in before:
            assert_same(before[key], after[key], f"{where}[{key!r}]")
    elif isinstance(before, float) and np.isnan(before):
        assert np.isnan(after), where
    else:
        assert after == before, where


@pytest.mark.parametrize("name", CONFIGS)
def test_round_trip_gives_identical_outputs_and_fitted_state(name, X, tmp_path):
    cls, params = CONFIGS[name]
    estimator = _fit(cls, params, X)
    loaded = skae.load(skae.save(estimator, tmp_path / "model.safetensors"))
    assert type(loaded) is cls
    assert_same(estimator.get_params(deep=False), loaded.get_params(deep=False))
    # Every fitted attribute, by name, the network's weights and history included.
    state = fitted_state(estimator)
    assert sorted(fitted_state(loaded)) == sorted(state)
    for attribute, value in state.items():
        assert_same(value, getattr(loaded, attribute), attribute)
    before, after = _outputs(estimator, X), _outputs(loaded, X)
    for method in before:
        assert_same(before[method], after[method], method)


@pytest.mark.parametrize("name", ["lstm", "detector", "detector-vae"])
def test_partial_fit_continues_a_loaded_model_as_it_would_the_saved_one(name, X, tmp_path):
    """The optimiser's state and the history are saved with the weights."""
    cls, params = CONFIGS[name]
    estimator = _fit(cls, params, X)
    loaded = skae.load(skae.save(estimator, tmp_path / "model.safetensors"))
    chunk = X[::-1] + 0.5
    for model in (estimator, loaded):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.partial_fit(chunk)
    assert len(loaded.net_.history) == len(estimator.net_.history) > 1
    # The same epochs, apart from how long each took.
    assert_same(*[[{key: value for key, value in epoch.items() if key != "dur"}
                   for epoch in model.net_.history] for model in (estimator, loaded)])
    for part in ("module_", "optimizer_"):
        assert_same(getattr(estimator.net_, part).state_dict(),
                    getattr(loaded.net_, part).state_dict(), part)
    before, after = _outputs(estimator, X), _outputs(loaded, X)
    for method in before:
        assert_same(before[method], after[method], method)


def test_an_unpickled_estimator_saves_and_a_loaded_one_pickles(X, tmp_path):
    """Unpickling copies the objective; loading gives a model pickle can keep."""
    estimator = _fit(*CONFIGS["detector-vae"], X)
    unpickled = pickle.loads(pickle.dumps(estimator))
    loaded = skae.load(skae.save(unpickled, tmp_path / "model.safetensors"))
    assert_same(estimator.score_samples(X), loaded.score_samples(X))
    assert_same(estimator.predict(X), pickle.loads(pickle.dumps(loaded)).predict(X))


def test_float32_data_and_feature_names_survive(X, tmp_path):
    import pandas as pd
    frame = pd.DataFrame(X.astype(np.float32), columns=[f"c{i}" for i in range(X.shape[1])])
    estimator = _fit(AutoencoderTransformer, {"n_components": 2, "network": dense(4)}, frame)
    loaded = skae.load(skae.save(estimator, tmp_path / "model.safetensors"))
    assert_same(estimator.feature_names_in_, loaded.feature_names_in_)
    assert loaded._fit_dtype_ == np.float32
    assert_same(estimator.transform(frame), loaded.transform(frame))
    assert list(loaded.get_feature_names_out()) == list(estimator.get_feature_names_out())


def test_unfitted_estimator_round_trips_its_parameters(tmp_path):
    estimator = VAETransformer(network=dense(5, 3, activation="tanh"), beta=0.5,
                               device=torch.device("cpu"),
                               random_state=np.random.RandomState(4))
    loaded = skae.load(skae.save(estimator, tmp_path / "model.safetensors"))
    assert isinstance(loaded.device, torch.device)
    assert_same(estimator.random_state.get_state(), loaded.random_state.get_state())
    assert loaded.network.get_params() == estimator.network.get_params()
    assert not fitted_state(loaded)
    with pytest.raises(NotFittedError):
        loaded.transform(np.zeros((1, 3)))


def test_values_of_every_kind_round_trip_through_the_encoding():
    """The encoding is generic over values: tuples, sets, NaN, numpy scalars, int keys."""
    from skae.persistence import _Decoder, _Encoder

    value = {"alpha": np.float64(0.05), "sizes": (3, 4), "rows": [1, 2],
             "quantile": float("nan"), "flag": np.bool_(True), "names": {"a", "b"},
             3: torch.arange(4), "scores": np.linspace(0, 1, 7, dtype=np.float32)}
    encoder = _Encoder(None)
    document = json.loads(json.dumps(encoder.encode(value, "fitted/x_")))
    assert_same(value, _Decoder(encoder.tensors).decode(document, "fitted/x_"))


def test_attributes_outside_the_schema_are_refused_at_save_and_at_load(X, tmp_path):
    """A name a fit does not set could replace a method of the loaded object."""
    estimator = _fit(AutoencoderOutlierDetector, {"n_estimators": 2, "network": dense(4)}, X)
    path = skae.save(estimator, tmp_path / "model.safetensors")
    estimator._repr_mimebundle_ = [1]
    with pytest.raises(PersistenceError, match="_repr_mimebundle_: not a fitted attribute"):
        skae.save(estimator, tmp_path / "other.safetensors")
    _rewrite(path, edit_document=_set(["fitted", "_repr_mimebundle_"], [1]))
    with pytest.raises(PersistenceError, match="_repr_mimebundle_: not a fitted attribute"):
        skae.load(path)


def test_what_cannot_be_represented_is_refused_at_save(X, tmp_path):
    estimator = _fit(AutoencoderTransformer, {"n_components": 2, "network": dense(4)}, X)
    path = tmp_path / "model.safetensors"
    estimator.network = {"cache": object()}
    with pytest.raises(PersistenceError, match=r"params/network/cache: a builtins.object"):
        skae.save(estimator, path)
    estimator.network = dense(4)
    estimator = _fit(AutoencoderTransformer, {"n_components": 2, "network": dense(4),
                                              "callbacks": [("mine", Callback())]}, X)
    with pytest.raises(PersistenceError, match=r"set_params\(callbacks=None\)"):
        skae.save(estimator, path)
    assert not path.exists()
    loaded = skae.load(skae.save(estimator.set_params(callbacks=None), path))  # as advised
    assert "mine" in dict(estimator.net_.callbacks_)
    assert "mine" not in dict(loaded.net_.callbacks_)
    assert_same(estimator.transform(X), loaded.transform(X))

    class MyNetwork(DenseNetwork):
        pass

    with pytest.raises(PersistenceError, match="params/network"):
        skae.save(AutoencoderTransformer(network=MyNetwork()), path)

    class MyTransformer(AutoencoderTransformer):
        pass

    with pytest.raises(PersistenceError, match="skae.save stores"):
        skae.save(MyTransformer(), path)


# ------------------------------------------------------------ devices
def test_a_file_written_on_cuda_loads_on_a_machine_without_it(X, tmp_path, monkeypatch):
    """The weights are stored on the CPU; only ``device_`` says where they were."""
    estimator = _fit(AutoencoderTransformer, {"n_components": 2, "network": dense(4)}, X)
    path = skae.save(estimator, tmp_path / "model.safetensors")
    _rewrite(path, lambda document: document["fitted"].update(device_="cuda:0"))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(UserWarning, match="'cuda:0'.*loaded on the CPU"):
        loaded = skae.load(path)
    assert loaded.device_ == "cpu" and str(loaded.net_.device) == "cpu"
    assert_same(estimator.transform(X), loaded.transform(X))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the device asked for: no warning
        assert skae.load(path, device="cpu").device_ == "cpu"
    with pytest.raises(ValueError, match="not available"):
        skae.load(path, device="cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_a_cuda_model_round_trips_and_loads_on_the_cpu(X, tmp_path):
    estimator = _fit(AutoencoderOutlierDetector, {"n_estimators": 2, "network": dense(4),
                                                  "device": "cuda"}, X)
    path = skae.save(estimator, tmp_path / "model.safetensors")
    on_cuda, on_cpu = skae.load(path), skae.load(path, device="cpu")
    assert on_cuda.device_.startswith("cuda") and on_cpu.device_ == "cpu"
    assert_same(estimator.score_samples(X), on_cuda.score_samples(X))
    # The CPU runs a float64 copy of the float32 weights; CUDA runs float32.
    np.testing.assert_allclose(on_cpu.score_samples(X), estimator.score_samples(X),
                               rtol=1e-4, atol=1e-5)


# ------------------------------------------------------------ envelope
def _read(path):
    with safetensors.safe_open(str(path), framework="np") as file:
        return file.metadata(), {key: file.get_tensor(key) for key in file.keys()}  # noqa: SIM118


def _rewrite(path, edit_document=None, edit_tensors=None, edit_metadata=None):
    """Rewrite the skae file at ``path`` with its parts edited in place."""
    metadata, tensors = _read(path)
    document = json.loads(metadata["estimator"])
    for edit, part in ((edit_document, document), (edit_tensors, tensors)):
        if edit is not None:
            edit(part)
    metadata["estimator"] = json.dumps(document)
    if edit_metadata is not None:
        edit_metadata(metadata)
    path.write_bytes(safetensors.save(tensors, metadata=metadata))
    return path


@pytest.fixture
def saved(X, tmp_path):
    """A saved detector (an ensemble with batch norm) and its data."""
    estimator = _fit(AutoencoderOutlierDetector,
                     {"n_estimators": 2, "network": dense(4, batch_norm=True)}, X)
    return skae.save(estimator, tmp_path / "model.safetensors"), estimator


def test_another_skae_version_warns_and_a_future_format_is_refused(saved, X):
    path, estimator = saved
    _rewrite(path, edit_metadata=lambda metadata: metadata.update(skae_version="0.1.0"))
    with pytest.warns(UserWarning, match="written by skae 0.1.0"):
        assert_same(estimator.predict(X), skae.load(path).predict(X))
    _rewrite(path, edit_metadata=lambda metadata: metadata.update(format_version="2"))
    with pytest.raises(PersistenceError, match="format version 2.*upgrade skae"):
        skae.load(path)


def _set(path_in_document, value):
    def edit(document):
        node = document
        for key in path_in_document[:-1]:
            node = node[key]
        node[path_in_document[-1]] = value
    return edit


def _drop(path_in_document):
    def edit(document):
        node = document
        for key in path_in_document[:-1]:
            node = node[key]
        del node[path_in_document[-1]]
    return edit


WEIGHT = "fitted/net_/weights.0"


def _optimizer_group(document):
    """The [name, value] pairs of the saved optimiser's first parameter group."""
    pairs = dict(document["fitted"]["net_"]["optimizer"]["items"])
    group = pairs["param_groups"][0]["items"]
    assert group[0][0] == "lr"
    return group


def _nested(depth):
    node = 1.0
    for _ in range(depth):
        node = {"type": "tuple", "items": [node]}
    return [node]

# Corrupt and malicious edits of a valid file, and what the error must say.
TAMPERING = {
    "another format": ({"edit_metadata": _set(["format"], "pytorch")}, "not a skae"),
    "no format version": ({"edit_metadata": _drop(["format_version"])}, "format_version"),
    "an extra metadata key": ({"edit_metadata": _set(["code"], "x")}, "metadata keys"),
    "invalid JSON": ({"edit_metadata": _set(["estimator"], "{")}, "invalid JSON"),
    "a class outside the allow-list": (
        {"edit_document": _set(["class"], "Pipeline")}, "not a skae estimator"),
    "an unhashable class": ({"edit_document": _set(["class"], [1])}, "not a skae estimator"),
    "a network outside the allow-list": (
        {"edit_document": _set(["params", "network", "class"], "os.system")},
        "not a skae network"),
    "an unknown type tag": (
        {"edit_document": _set(["params", "network", "type"], "pickle")}, "unrecognised"),
    "an extra key in a value": (
        {"edit_document": _set(["params", "network", "module"], "os")}, "expected an object"),
    "an extra parameter": (
        {"edit_document": _set(["params", "eval"], 1)}, "expected the parameters"),
    "a missing parameter": (
        {"edit_document": _drop(["params", "loss"])}, "expected the parameters"),
    "an invalid parameter": (
        {"edit_document": _set(["params", "loss"], "rm -rf")}, "'loss' parameter"),
    "a missing fitted attribute": (
        {"edit_document": _drop(["fitted", "_fit_seed_"])}, "missing"),
    "a fitted name that is no attribute": (
        {"edit_document": _set(["fitted", "__class__"], 1)}, "not a fitted attribute"),
    "a net outside net_": (
        {"edit_document": lambda d: d["fitted"].update(n_iter_=d["fitted"]["net_"])},
        "net_ only"),
    "a missing input scale": (
        {"edit_document": _drop(["fitted", "input_scale_"]),
         "edit_tensors": _drop(["fitted/input_scale_"])}, "input_scale_: missing"),
    "a missing member scale": (
        {"edit_document": _drop(["fitted", "member_scale_"]),
         "edit_tensors": _drop(["fitted/member_scale_"])}, "member_scale_: missing"),
    "a missing threshold": ({"edit_document": _drop(["fitted", "offset_"])}, "offset_: missing"),
    "an input scale too short": (
        {"edit_document": _set(["fitted", "input_scale_", "shape"], [3]),
         "edit_tensors": lambda t: t.update({"fitted/input_scale_": np.ones(3)})},
        r"input_scale_: .*8 \(n_features_in_\)"),
    "a member scale too long": (
        {"edit_document": _set(["fitted", "member_scale_", "shape"], [3]),
         "edit_tensors": lambda t: t.update({"fitted/member_scale_": np.ones(3)})},
        r"member_scale_: .*2 \(n_estimators\)"),
    "a threshold that is not -offset_": (
        {"edit_document": _set(["fitted", "threshold_"], 1.0)}, "threshold_: it is not"),
    "NaN weights": (
        {"edit_tensors": lambda t: t[WEIGHT].__setitem__((0, 0), np.nan)},
        "weights.0: it holds values that are not finite"),
    "a learning rate that is a string": (
        {"edit_document": lambda d: _optimizer_group(d).__setitem__(0, ["lr", "abc"])},
        "param_groups/lr: 'abc' is not of the kind of 0.003"),
    "callbacks in the parameters": (
        {"edit_document": _set(["params", "callbacks"], [1, "x"])}, "params/callbacks"),
    "deeply nested tuples": (
        {"edit_document": _set(["fitted", "loss_curve_"], _nested(300))}, "nest more than"),
    "a string dtype that is no dtype": (
        {"edit_document": _set(["fitted", "feature_names_in_"], {
            "type": "strings", "dtype": "<Uabc", "shape": [8], "items": list("abcdefgh")})},
        "unsupported string dtype"),
    "a string dtype far wider than its strings": (
        {"edit_document": _set(["fitted", "feature_names_in_"], {
            "type": "strings", "dtype": "<U10000000", "shape": [8], "items": list("abcdefgh")})},
        "wider than its longest string"),
    "a format version of another script": (
        {"edit_metadata": _set(["format_version"], "\u00b2")}, "invalid format_version"),
    "an objective that does not match": (
        {"edit_document": _set(["fitted", "_objective_", "name"], "elbo")}, "objective"),
    "a wider code than the weights": (
        {"edit_document": _set(["fitted", "n_components_"], 3)}, "the file holds float32"),
    "widths that disagree": (
        {"edit_document": _set(["fitted", "n_features_in_"], 9)}, "n_features_in_"),
    "a missing weight": ({"edit_tensors": _drop([WEIGHT])}, "the file holds none"),
    "an extra tensor": ({"edit_tensors": _set(["payload"], np.zeros(3))}, "does not describe"),
    "a weight of the wrong dtype": (
        {"edit_tensors": lambda t: t.update({WEIGHT: t[WEIGHT].astype(np.float64)})},
        "describe a float32 tensor.*the file holds float64"),
    "a weight of the wrong shape": (
        {"edit_tensors": lambda t: t.update({WEIGHT: t[WEIGHT][:, :-1].copy()})},
        "the file holds float32"),
    "an array of the wrong dtype": (
        {"edit_tensors": lambda t: t.update({"fitted/member_scale_": np.zeros(2, np.int64)})},
        "int64.*the file says float64"),
    "an optimiser state that fits no parameter": (
        {"edit_tensors": _set(["fitted/net_/optimizer/state/0/exp_avg"], np.zeros(5, "f4")),
         "edit_document": _set(["fitted", "net_", "optimizer", "items", 0, 1, "items", 0, 1,
                                "items", 1, 1, "shape"], [5])},
        "fits no parameter"),
    "a callback fit does not add": (
        {"edit_document": _set(["fitted", "net_", "callbacks", 0, 1], "Checkpoint")},
        "not one of the callbacks fit adds"),
    "an unsupported dtype": (
        {"edit_document": _set(["fitted", "member_scale_", "dtype"], "object")},
        "unsupported dtype"),
    "a scalar out of range": (
        {"edit_document": _set(["fitted", "n_iter_"], {"type": "scalar", "dtype": "int8",
                                                       "value": 1000})}, "n_iter_"),
}


@pytest.mark.parametrize("case", TAMPERING)
def test_tampered_files_give_clear_errors(case, saved):
    path, _ = saved
    edits, message = TAMPERING[case]
    _rewrite(path, **edits)
    with pytest.raises(PersistenceError, match=message):
        skae.load(path)


# Values a random edit puts in place of one node of a file's JSON.
_FUZZ_VALUES = [
    None, True, 0, -1, 2**40, 1.5, float("nan"), "", "float64", [], [1], {},
    {"type": "dict", "items": []}, {"type": "tuple", "items": [1]},
    {"type": "ndarray", "key": "fitted/input_scale_", "dtype": "float64", "shape": [8]},
    {"type": "scalar", "dtype": "int8", "value": 1000},
    {"type": "strings", "dtype": "|O", "shape": [2], "items": ["a", "b"]},
    {"type": "network", "class": "DenseNetwork", "params": {"type": "dict", "items": []}},
    {"type": "torch.device", "name": "cuda:7"}, {"type": "RandomState", "state": [1]},
    {"type": "set", "items": [1, "a"]}, {"type": "dtype", "name": "float16"},
]


def _json_paths(node, path=()):
    """The path of every node below ``node`` (the history's epochs left out)."""
    children = (node.items() if isinstance(node, dict)
                else enumerate(node) if isinstance(node, list) else ())
    for key, child in children:
        if key != "history":
            yield (*path, key)
            yield from _json_paths(child, (*path, key))


def test_fuzzed_files_load_or_give_clear_errors(saved, X):
    """Random edits of the JSON and random bytes in the header: a model that
    works, or a PersistenceError; never another error, at load or in use."""
    path, _ = saved
    original = path.read_bytes()
    metadata, tensors = _read(path)
    document = json.loads(metadata["estimator"])
    paths = list(_json_paths(document))
    rng = np.random.RandomState(0)
    header_end = 8 + int.from_bytes(original[:8], "little")
    for trial in range(300):
        if trial % 2:
            edited = json.loads(metadata["estimator"])
            *parents, last = paths[rng.randint(len(paths))]
            node = edited
            for key in parents:
                node = node[key]
            node[last] = _FUZZ_VALUES[rng.randint(len(_FUZZ_VALUES))]
            data = safetensors.save(tensors, metadata={**metadata,
                                                       "estimator": json.dumps(edited)})
        else:
            data = bytearray(original)
            for position in rng.randint(0, header_end, size=rng.randint(1, 4)):
                data[position] = rng.randint(256)
        path.write_bytes(bytes(data))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                loaded = skae.load(path)
        except PersistenceError:
            continue
        loaded.score_samples(X)


def _structural_edits(document, tensors):
    """Every entry of the fitted state and parameters deleted, retyped or
    reshaped, and nested deeply: ``(what, document, tensors)`` triples."""
    for part in ("fitted", "params"):
        for name, node in document[part].items():
            for what, value in (("deleted", None), ("a string", "x"), ("an int", 7),
                                ("a list", [node]), ("nested", _nested(64)[0])):
                edited = json.loads(json.dumps(document))
                if value is None:
                    del edited[part][name]
                else:
                    edited[part][name] = value
                yield f"{part}/{name} {what}", edited, tensors
    # The arrays of the fitted state, the weights and one optimiser state.
    keys = [key for key in tensors if "/optimizer/" not in key or "/state/0/" in key]
    for key in keys:
        array = tensors[key]
        for what, changed in (("flattened", array.reshape(-1)),
                              ("shortened", array.reshape(-1)[:-1]),
                              ("made float16", array.astype(np.float16))):
            edited_tensors = {**tensors, key: np.ascontiguousarray(changed)}
            edited = json.dumps(document).replace(
                f'"key": "{key}", "dtype": "{array.dtype}", "shape": {list(array.shape)}',
                f'"key": "{key}", "dtype": "{changed.dtype}", "shape": {list(changed.shape)}')
            yield f"{key} {what}", json.loads(edited), edited_tensors


# Edited numbers land in deprecated parameters too (a detector's beta), which warn.
@pytest.mark.filterwarnings("ignore:.*is deprecated since skae:FutureWarning")
@pytest.mark.parametrize("name", ["detector-calibrated", "vae"])
def test_structural_edits_load_a_working_model_or_give_clear_errors(name, X, tmp_path):
    """Delete, retype or reshape every entry (declaring the new shape, so only
    the schema can catch it), and nest deeply: a PersistenceError, or a model
    that gives finite outputs."""
    cls, params = CONFIGS[name]
    path = skae.save(_fit(cls, params, X), tmp_path / "model.safetensors")
    metadata, tensors = _read(path)
    document = json.loads(metadata["estimator"])
    for what, edited, edited_tensors in _structural_edits(document, tensors):
        path.write_bytes(safetensors.save(edited_tensors, metadata={
            **metadata, "estimator": json.dumps(edited)}))
        try:
            loaded = skae.load(path)
        except PersistenceError:
            continue
        for method, output in _outputs(loaded, X).items():
            assert np.isfinite(output).all(), f"{what}: {method}"


def test_a_file_declaring_a_huge_network_is_refused_before_it_is_built(
        saved, monkeypatch):
    """Its own tensors contradict the declared (6000, 6000) hidden layers."""
    path, _ = saved
    _rewrite(path, edit_document=_set(
        ["params", "network", "params", "items", 3, 1], {"type": "tuple",
                                                         "items": [6000, 6000]}))

    def built(*args, **kwargs):
        raise AssertionError("the network was built before its weights were checked")

    monkeypatch.setattr(skae._training, "new_net", built)
    with pytest.raises(PersistenceError, match=r"describe a float32 tensor of shape \[2, 1, 6000\]"):
        skae.load(path)


def test_a_vae_without_its_draws_is_refused(X, tmp_path):
    path = skae.save(_fit(*CONFIGS["vae"], X), tmp_path / "vae.safetensors")
    _rewrite(path, edit_document=_drop(["fitted", "_elbo_draws_"]),
             edit_tensors=_drop(["fitted/_elbo_draws_"]))
    with pytest.raises(PersistenceError, match="_elbo_draws_: missing"):
        skae.load(path)


class _FsPath:
    """An os.PathLike that is not a pathlib.Path."""

    def __init__(self, path):
        self.path = str(path)

    def __fspath__(self):
        return self.path


@pytest.mark.parametrize("kind", [_FsPath, lambda path: str(path).encode(), str])
def test_every_kind_of_path_saves_and_loads(kind, saved, X, tmp_path):
    _, estimator = saved
    path = kind(tmp_path / "model.safetensors")
    assert skae.save(estimator, path) == tmp_path / "model.safetensors"
    assert_same(estimator.predict(X), skae.load(path).predict(X))


def test_a_save_that_fails_partway_leaves_the_old_file_whole(saved, X, monkeypatch):
    path, estimator = saved
    before = path.read_bytes()
    real_fsync = os.fsync

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        skae.save(estimator.set_params(verbose=1), path)
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temporary left
    assert skae.load(path).verbose == 0


def test_concurrent_saves_to_one_path_always_leave_a_whole_file(saved, X):
    path, estimator = saved
    variants = [clone_fitted(estimator, verbose=i) for i in range(4)]
    errors = []

    def save_many(variant):
        try:
            for _ in range(10):
                skae.save(variant, path)
                skae.load(path)  # whichever save was last, the file is whole
        except Exception as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=save_many, args=(variant,)) for variant in variants]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert skae.load(path).verbose in range(4)
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def clone_fitted(estimator, **params):
    """A copy of fitted ``estimator`` with ``params`` set."""
    return pickle.loads(pickle.dumps(estimator)).set_params(**params)


class _Touch:
    """Unpickling it creates the file ``path``: proof that code ran."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (type(self.path).touch, (self.path,))


@pytest.mark.parametrize("writer", ["pickle", "torch", "truncated", "empty"])
def test_files_that_are_not_skae_files_are_refused_without_running_code(
        writer, saved, tmp_path):
    path, estimator = saved
    marker = tmp_path / "code-ran"
    payload = {"estimator": estimator, "trap": _Touch(marker)}
    if writer == "pickle":
        path.write_bytes(pickle.dumps(payload))
    elif writer == "torch":
        torch.save(payload, path)
    elif writer == "truncated":
        path.write_bytes(path.read_bytes()[:-10])
    else:
        path.write_bytes(b"")
    with pytest.raises(PersistenceError, match="not a safetensors file written by skae"):
        skae.load(path)
    assert not marker.exists()


def test_skorch_loads_of_skae_nets_never_unpickle_objects(saved, tmp_path):
    """skae's nets load torch files with ``weights_only=True``."""
    _, estimator = saved
    marker, path = tmp_path / "code-ran", tmp_path / "params.pt"
    torch.save({"trap": _Touch(marker)}, path)
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
        estimator.net_.load_params(f_params=path)
    assert not marker.exists()


def test_without_safetensors_skae_imports_and_save_and_load_name_the_extra(
        monkeypatch, tmp_path):
    code = "import sys; sys.modules['safetensors'] = None; import skae; skae.save, skae.load"
    subprocess.run([sys.executable, "-c", code], check=True)
    monkeypatch.setitem(sys.modules, "safetensors", None)
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    for call in (lambda: skae.save(AutoencoderTransformer(), tmp_path / "model"),
                 lambda: skae.load(tmp_path / "model")):
        with pytest.raises(ImportError, match=r"pip install skae\[safe\]"):
            call()
