"""The fitted encoder as a torch module: AutoencoderTransformer.encoder_module."""

import copy
import pickle
from functools import partial

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from skorch import NeuralNetClassifier
from torch import nn

from skae import AutoencoderTransformer, ConvNetwork, LSTMNetwork, VAETransformer
from skae._testing import CPU, dense

NETWORKS = {
    "dense": (AutoencoderTransformer, dense(8)),
    "conv": (AutoencoderTransformer, ConvNetwork(input_shape=(1, 8, 8), channels=(2,),
                                                 hidden_layer_sizes=(4,))),
    "lstm": (AutoencoderTransformer, LSTMNetwork(input_shape=(8, 8), hidden_layer_sizes=(4,))),
    "vae": (VAETransformer, dense(8)),
}


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:300], y[:300]


def _fitted(digits, kind="dense", **params):
    estimator, network = NETWORKS[kind]
    params = {"n_components": 3, "network": network, "max_steps": 20, "batch_size": 64,
              **CPU, **params}
    return estimator(**params).fit(digits[0])


def _codes(module, X):
    with torch.no_grad():
        return module.eval()(torch.as_tensor(X, dtype=torch.float32)).numpy()


@pytest.mark.parametrize("kind", NETWORKS)
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_encoder_module_reproduces_transform_on_raw_rows(digits, kind):
    ae = _fitted(digits, kind)
    encoder = ae.encoder_module()
    assert encoder.training
    assert next(encoder.parameters()).dtype == torch.float32
    np.testing.assert_allclose(_codes(encoder, digits[0]), ae.transform(digits[0]),
                               rtol=1e-4, atol=1e-4)
    # float64 batches (skorch's tensors of a float64 array) are cast, not rejected.
    with torch.no_grad():
        codes64 = encoder(torch.as_tensor(digits[0][:5]))
    np.testing.assert_allclose(codes64.numpy(), ae.transform(digits[0][:5]), atol=1e-4)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_encoder_module_leaves_out_the_decoder(digits):
    ae = _fitted(digits)
    n_weights = sum(p.numel() for p in ae.encoder_module().parameters())
    # 64 -> 8 -> 3 and the linear path 64 -> 3: the decoder's 3 -> 8 -> 64
    # and 3 -> 64 weights are not in the module.
    assert n_weights == 64 * 8 + 8 + 8 * 3 + 3 + 64 * 3 + 3
    assert n_weights < sum(p.numel() for p in ae.net_.module_.parameters())


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_include_scaling_false_takes_scaled_rows(digits):
    X = digits[0]
    ae = _fitted(digits)
    bare = ae.encoder_module(include_scaling=False)
    scaled = (X - ae.input_offset_) / ae.input_scale_
    np.testing.assert_allclose(_codes(bare, scaled), ae.transform(X), rtol=1e-4, atol=1e-4)
    assert not np.allclose(_codes(bare, X), ae.transform(X), atol=1e-2)
    with pytest.raises(TypeError, match="include_scaling must be True or False"):
        ae.encoder_module(include_scaling="yes")


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_encoder_module_is_a_copy(digits):
    X = digits[0]
    ae = _fitted(digits)
    before = ae.transform(X)
    encoder = ae.encoder_module()
    optimizer = torch.optim.SGD(encoder.parameters(), lr=1.0)
    encoder(torch.as_tensor(X, dtype=torch.float32)).square().sum().backward()
    optimizer.step()
    assert not np.allclose(_codes(encoder, X), before, atol=1e-3)  # it did train
    np.testing.assert_array_equal(ae.transform(X), before)
    assert ae.encoder_module() is not ae.encoder_module()


@pytest.mark.parametrize("estimator", [AutoencoderTransformer, VAETransformer])
def test_unfitted_encoder_module_raises(estimator):
    with pytest.raises(NotFittedError):
        estimator().encoder_module()


def _classifier(encoder, max_epochs=3, **params):
    return NeuralNetClassifier(nn.Sequential(encoder, nn.Linear(3, 10)),
                               criterion=nn.CrossEntropyLoss, max_epochs=max_epochs, lr=0.05,
                               batch_size=64, train_split=None, verbose=0, **params)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_fine_tuned_classifier_in_pipeline_and_grid_search(digits):
    X, y = digits
    ae = _fitted(digits)
    encoder = ae.encoder_module()
    weights = [p.detach().clone() for p in encoder.parameters()]
    pipe = make_pipeline(FunctionTransformer(np.float32), _classifier(encoder, max_epochs=20))
    torch.manual_seed(0)
    search = GridSearchCV(pipe, {"neuralnetclassifier__lr": [0.01, 0.1]}, cv=2).fit(X, y)
    assert search.best_score_ > 0.3  # ten classes: chance is 0.1
    # Every fit trained a clone (a deep copy): the module passed in is untouched,
    # and the refitted one moved away from the pre-trained weights.
    assert all(torch.equal(a, b) for a, b in zip(weights, encoder.parameters()))
    tuned = search.best_estimator_[-1].module_[0]
    assert not all(torch.equal(a, b) for a, b in zip(weights, tuned.parameters()))
    restored = pickle.loads(pickle.dumps(search.best_estimator_))
    np.testing.assert_array_equal(restored.predict(X), search.predict(X))
    assert clone(pipe)[-1].module is not encoder


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_pre_training_is_what_the_classifier_starts_from(digits):
    X, y = digits
    X32 = X.astype(np.float32)
    pretrained = _fitted(digits, max_steps=300)
    # Frozen encoder (lr 0 for its layers): the classifier's features are the codes.
    clf = _classifier(pretrained.encoder_module(), optimizer__param_groups=[("0.*", {"lr": 0})])
    torch.manual_seed(0)
    clf.fit(X32, y)
    np.testing.assert_allclose(_codes(clf.module_[0], X), pretrained.transform(X), atol=1e-4)
    # A barely trained autoencoder gives a different starting point, so other predictions.
    other = _classifier(_fitted(digits, max_steps=1).encoder_module(),
                        optimizer__param_groups=[("0.*", {"lr": 0})])
    torch.manual_seed(0)
    other.fit(X32, y)
    assert not np.array_equal(other.predict_proba(X32), clf.predict_proba(X32))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_documented_recipe_refits_from_the_pre_trained_weights(digits):
    """The user guide's ``partial(copy.deepcopy, network)``: a second fit and
    a clone of a fitted net start again from the pre-trained encoder."""
    X, y = digits
    X32 = X.astype(np.float32)
    network = nn.Sequential(_fitted(digits).encoder_module(), nn.Linear(3, 10))
    clf = NeuralNetClassifier(partial(copy.deepcopy, network), criterion=nn.CrossEntropyLoss,
                              max_epochs=3, lr=0.05, train_split=None, verbose=0)
    first = clf.fit(X32, y).predict_proba(X32)
    np.testing.assert_allclose(clf.fit(X32, y).predict_proba(X32), first, atol=1e-6)
    np.testing.assert_allclose(clone(clf).fit(X32, y).predict_proba(X32), first, atol=1e-6)
    # The net given as an instance trains it in place: its refit starts elsewhere.
    in_place = NeuralNetClassifier(copy.deepcopy(network), criterion=nn.CrossEntropyLoss,
                                   max_epochs=3, lr=0.05, train_split=None, verbose=0)
    np.testing.assert_allclose(in_place.fit(X32, y).predict_proba(X32), first, atol=1e-6)
    assert not np.allclose(in_place.fit(X32, y).predict_proba(X32), first, atol=1e-3)
