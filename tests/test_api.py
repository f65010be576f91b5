"""The public API: explicit signatures that agree, documented defaults that are
true, network options that live on network objects, and fit as a transaction."""

import inspect
import subprocess
import sys

import numpy as np
import pytest
from numpydoc.docscrape import NumpyDocString
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import make_constraint
from skorch.callbacks import Callback

from skae import (
    VAE,
    AutoencoderOutlierDetector,
    AutoencoderTransformer,
    ConvNetwork,
    DenseNetwork,
    LSTMNetwork,
    TrainingDivergedError,
    VAETransformer,
)
from skae._docstrings import fill_doc
from skae._testing import CPU, dense

ESTIMATORS = [AutoencoderTransformer, VAETransformer, AutoencoderOutlierDetector]
NETWORKS = [DenseNetwork, ConvNetwork, LSTMNetwork]
OBJECTIVES = [VAE]  # Reconstruction has no parameters

# Shared parameters whose default or constraint differs on purpose, and why.
INTENDED_DIFFERENCES = {
    # Tuned for outlier detection (see the detector's docstring).
    # Its budget is deliberate: no validation split unless asked for.
    # An unseen category is evidence of an outlier, not an input error.
    AutoencoderOutlierDetector: {"n_components", "network", "loss", "scaling",
                                 "learning_rate", "max_steps", "early_stopping",
                                 "n_iter_no_change", "handle_unknown"},
    # Dense networks only; no L-BFGS for the stochastic objective.
    VAETransformer: {"network", "optimizer"},
}

FAST = {**CPU, "network": dense(8), "max_steps": 8, "batch_size": 16}

pytestmark = pytest.mark.usefixtures("no_convergence_warnings")


def _signature(cls):
    return {name: p.default for name, p in inspect.signature(cls.__init__).parameters.items()
            if name != "self"}


def _constraints(cls, name):
    return [str(make_constraint(c)) for c in cls._parameter_constraints[name]]


# ------------------------------------------------------------- signatures
@pytest.mark.parametrize("cls", ESTIMATORS + NETWORKS + OBJECTIVES)
def test_signature_is_explicit_and_matches_the_constraints(cls):
    parameters = inspect.signature(cls.__init__).parameters.values()
    assert not [p for p in parameters if p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
    assert set(_signature(cls)) == set(cls._parameter_constraints)


@pytest.mark.parametrize("cls", ESTIMATORS[1:])
def test_shared_parameters_agree_across_estimators(cls):
    reference = _signature(AutoencoderTransformer)
    own = _signature(cls)
    for name in set(reference) & set(own) - INTENDED_DIFFERENCES.get(cls, set()):
        assert own[name] == reference[name], name
        assert _constraints(cls, name) == _constraints(AutoencoderTransformer, name), name


def test_vae_parameters_agree_between_the_vae_and_the_detectors_objective():
    for name in ("beta", "kl_warmup_epochs"):
        assert _signature(VAETransformer)[name] == _signature(VAE)[name]
        assert _constraints(VAETransformer, name) == _constraints(VAE, name)


def test_estimators_hold_no_parameter_of_one_network_family():
    family = set().union(*(_signature(network) for network in NETWORKS))
    for cls in ESTIMATORS:
        assert not family & set(cls().get_params(deep=False)), cls


@pytest.mark.parametrize("cls", ESTIMATORS + NETWORKS + OBJECTIVES)
def test_documented_defaults_match_the_signature(cls):
    documented = NumpyDocString(cls.__doc__)["Parameters"]
    signature = _signature(cls)
    assert [p.name for p in documented] == list(signature)
    for parameter in documented:
        default = signature[parameter.name]
        if default is inspect.Parameter.empty:
            assert "default=" not in parameter.type, parameter.name
        else:
            assert parameter.type.split("default=")[-1] == repr(default), parameter.name
        assert parameter.desc, parameter.name


def test_docstring_filling_survives_python_OO():
    # skorch itself cannot be imported under -OO, so check the helper alone:
    # a class without a docstring (as under -OO) is left as it is.
    code = ("import inspect, sys; sys.modules['torch'] = None; "
            "from importlib.util import spec_from_file_location, module_from_spec; "
            f"spec = spec_from_file_location('d', {inspect.getfile(fill_doc)!r}); "
            "d = module_from_spec(spec); spec.loader.exec_module(d)\n"
            "class A:\n    def __init__(self, n_components=2): pass\n"
            "assert A.__doc__ is None and d.fill_doc()(A) is A and A.__doc__ is None")
    subprocess.run([sys.executable, "-OO", "-c", code], check=True)


# ----------------------------------------------------- fit as a transaction
@pytest.fixture
def X():
    rng = np.random.RandomState(0)
    return rng.normal(size=(40, 3)) @ rng.normal(size=(3, 5)) + 10


def _fitted_attributes(estimator):
    return {name for name in vars(estimator) if name.endswith("_")}


class _Interrupt(Callback):
    """Raise ``error`` at the end of training (skorch lets it through there)."""

    def __init__(self, error=KeyboardInterrupt):
        self.error = error

    def on_train_end(self, net, **kwargs):
        raise self.error


FAILURES = [
    ({"loss": "bce", "scaling": "standard"}, ValueError),  # data outside [0, 1]
    ({"learning_rate": 1e6}, TrainingDivergedError),
    ({"callbacks": [_Interrupt()]}, KeyboardInterrupt),
    ({"callbacks": [_Interrupt(RuntimeError)]}, RuntimeError),
]


@pytest.mark.parametrize("cls", ESTIMATORS)
@pytest.mark.parametrize("params, error", FAILURES)
def test_a_failed_first_fit_leaves_the_estimator_unfitted(X, cls, params, error):
    if cls is VAETransformer and "learning_rate" in params:
        params = {**params, "learning_rate": 1e12}
    estimator = cls(**{**FAST, **params})
    with pytest.raises(error):
        estimator.fit(X)
    assert not _fitted_attributes(estimator)
    methods = ["score_samples", "predict", "decision_function"] if cls is \
        AutoencoderOutlierDetector else ["transform", "score_samples"]
    for method in methods:
        with pytest.raises(NotFittedError):
            getattr(estimator, method)(X)


@pytest.mark.parametrize("cls", ESTIMATORS)
@pytest.mark.parametrize("params, error", FAILURES)
def test_a_failed_refit_leaves_the_previous_model_whole(X, cls, params, error):
    estimator = cls(**FAST).fit(X)
    before = {name: getattr(estimator, name) for name in _fitted_attributes(estimator)}
    scores = estimator.score_samples(X)
    if cls is VAETransformer and "learning_rate" in params:
        params = {**params, "learning_rate": 1e12}
    # A refit on three features that fails keeps the five-feature model.
    with pytest.raises(error):
        estimator.set_params(**params).fit(X[:, :3] if error is ValueError else X)
    assert {name: getattr(estimator, name) for name in _fitted_attributes(estimator)} == before
    np.testing.assert_array_equal(estimator.score_samples(X), scores)


def test_a_refit_removes_attributes_that_no_longer_apply(X):
    model = AutoencoderTransformer(**FAST, early_stopping=True).fit(X)
    assert hasattr(model, "validation_scores_")
    model.set_params(early_stopping=False).fit(X)
    assert not hasattr(model, "validation_scores_")
    assert not hasattr(model, "best_validation_score_")
    detector = AutoencoderOutlierDetector(**FAST, objective="vae").fit(X)
    assert hasattr(detector, "kl_loss_curve_")
    detector.set_params(objective="reconstruction").fit(X)
    vae_only = {"kl_loss_curve_", "reconstruction_loss_curve_", "_elbo_draws_"}
    assert not vae_only & _fitted_attributes(detector)
    np.testing.assert_allclose(detector.score_samples(X), -detector.feature_errors(X).mean(1))


def test_set_params_after_fit_does_not_change_the_fitted_objective(X):
    detector = AutoencoderOutlierDetector(**FAST).fit(X)
    scores = detector.score_samples(X)
    detector.set_params(objective="vae")
    np.testing.assert_array_equal(detector.score_samples(X), scores)


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_boolean_n_components_is_rejected(X, cls):
    with pytest.raises(ValueError, match="n_components"):
        cls(**FAST, n_components=True).fit(X)


def test_vae_samples_have_the_training_dtype(X):
    vae = VAETransformer(**FAST).fit(X.astype(np.float32))
    assert vae.sample(3, random_state=0).dtype == np.float32
    vae.fit(X)
    assert vae.sample(3, random_state=0).dtype == np.float64


def test_step_budget_cuts_the_last_pass(X):
    # 40 rows in batches of 16: three steps a pass.
    model = AutoencoderTransformer(**{**FAST, "max_steps": 7, "tol": 0.0}).fit(X)
    assert (model.n_steps_, model.n_iter_, len(model.loss_curve_)) == (7, 3, 3)
    assert list(model.net_.history[:, "train_batch_count"]) == [3, 3, 1]
    lbfgs = AutoencoderTransformer(**{**FAST, "max_steps": 4, "optimizer": "lbfgs",
                                      "tol": 0.0}).fit(X)
    assert lbfgs.n_steps_ == lbfgs.n_iter_ == 4  # one full-batch step a pass
