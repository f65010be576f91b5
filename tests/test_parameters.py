"""Parameter objects, shorthands and the deprecated spellings of renamed parameters."""

import re
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skae import (
    VAE,
    AutoencoderImputer,
    AutoencoderOutlierDetector,
    AutoencoderTransformer,
    DenseNetwork,
    LSTMNetwork,
    Reconstruction,
    SequenceOutlierDetector,
    VAETransformer,
)
from skae._testing import CPU, dense

FAST = {**CPU, "max_steps": 4, "batch_size": 32}
ESTIMATORS = [AutoencoderTransformer, VAETransformer, AutoencoderOutlierDetector,
              AutoencoderImputer]

pytestmark = pytest.mark.usefixtures("no_convergence_warnings")


@pytest.fixture(scope="module")
def X():
    return np.random.RandomState(0).normal(size=(60, 6))


# --------------------------------------------------- network__* from 'dense'
@pytest.mark.parametrize("cls", ESTIMATORS)
def test_nested_network_parameters_work_from_the_default(cls):
    estimator = cls()
    assert estimator.network == "dense"
    estimator.set_params(network__dropout=0.1, network__hidden_layer_sizes=(8,))
    assert isinstance(estimator.network, DenseNetwork)
    assert estimator.network.get_params() == {**DenseNetwork().get_params(),
                                              "dropout": 0.1, "hidden_layer_sizes": (8,)}
    # A new object each time: no default is shared or changed.
    other = cls().set_params(network__dropout=0.2)
    assert other.network is not estimator.network and estimator.network.dropout == 0.1
    assert cls().network == "dense" and DenseNetwork().dropout == 0.0
    assert clone(estimator).network.get_params() == estimator.network.get_params()


def test_network_and_its_options_in_one_call():
    estimator = AutoencoderTransformer().set_params(network="dense", network__dropout=0.3)
    assert estimator.network.dropout == 0.3
    mine = DenseNetwork(dropout=0.1)
    estimator.set_params(network=mine, network__batch_norm=True)
    assert estimator.network is mine and mine.batch_norm  # an object is set in place


def test_grid_search_over_network_options_from_the_default(X):
    search = GridSearchCV(AutoencoderTransformer(**FAST, n_components=2),
                          {"network__dropout": [0.0, 0.2]}, cv=2).fit(X)
    assert search.best_estimator_.network.dropout in (0.0, 0.2)
    assert [params["network__dropout"] for params in search.cv_results_["params"]] == [
        0.0, 0.2]
    assert search.estimator.network == "dense"


def test_nested_parameters_reach_through_a_pipeline_and_a_sequence_detector():
    pipe = make_pipeline(StandardScaler(), AutoencoderTransformer())
    pipe.set_params(autoencodertransformer__network__dropout=0.1)
    assert pipe[-1].network.dropout == 0.1
    detector = SequenceOutlierDetector(AutoencoderOutlierDetector())
    detector.set_params(detector__network__dropout=0.1, detector__objective__beta=2.0,
                        detector__objective="vae")
    assert detector.detector.network.dropout == 0.1
    assert detector.detector.objective.get_params() == {"beta": 2.0, "kl_warmup_epochs": 0}


def test_a_bad_nested_parameter_names_the_object():
    with pytest.raises(ValueError, match="Invalid parameter 'drop'"):
        AutoencoderTransformer().set_params(network__drop=0.1)
    # The reconstruction objective has no VAE settings.
    with pytest.raises(ValueError, match="Invalid parameter 'beta' for estimator "
                                         "Reconstruction"):
        AutoencoderOutlierDetector().set_params(objective__beta=2.0)


# -------------------------------------------------------- objective objects
@pytest.mark.parametrize("objective", [Reconstruction(), VAE(beta=0.5, kl_warmup_epochs=3)])
def test_objective_objects_clone_and_round_trip(objective):
    copy = clone(objective)
    assert copy is not objective and copy.get_params() == objective.get_params()
    detector = AutoencoderOutlierDetector(objective=objective)
    assert clone(detector).objective.get_params() == objective.get_params()
    assert eval(repr(objective)).get_params() == objective.get_params()


def test_objective_shorthands_are_the_default_objects(X):
    by_name = AutoencoderOutlierDetector(**FAST, n_estimators=2, objective="vae").fit(X)
    by_object = AutoencoderOutlierDetector(**FAST, n_estimators=2, objective=VAE()).fit(X)
    np.testing.assert_array_equal(by_name.score_samples(X), by_object.score_samples(X))


def test_vae_settings_reach_the_net(X):
    detector = AutoencoderOutlierDetector(**FAST, n_estimators=2, early_stopping=True,
                                          objective=VAE(beta=0.5, kl_warmup_epochs=2)).fit(X)
    assert (detector.net_.beta, detector.net_.kl_warmup_epochs) == (0.5, 2)
    # The stopping rule waits for the warm-up.
    assert dict(detector.net_.callbacks_)["early_stopping"].warmup_epochs == 2


def test_bad_vae_settings_are_rejected_at_fit(X):
    with pytest.raises(ValueError, match="beta"):
        AutoencoderOutlierDetector(**FAST, objective=VAE(beta=0)).fit(X)


# ----------------------------------------------------- deprecated spellings
def _fit_warns(estimator, X, match):
    with pytest.warns(FutureWarning, match=match) as record:
        estimator.fit(X)
    return estimator, [w for w in record if issubclass(w.category, FutureWarning)]


@pytest.mark.parametrize("old, new", [
    ({"backbone": "autoencoder"}, {"objective": "reconstruction"}),
    ({"backbone": "vae"}, {"objective": "vae"}),
    ({"backbone": "vae", "beta": 2.0}, {"objective": VAE(beta=2.0)}),
    ({"backbone": "vae", "kl_warmup_epochs": 2}, {"objective": VAE(kl_warmup_epochs=2)}),
    ({"objective": VAE(beta=3.0), "beta": 2.0, "kl_warmup_epochs": 1},
     {"objective": VAE(beta=2.0, kl_warmup_epochs=1)}),
])
def test_deprecated_detector_spellings_warn_and_map(X, old, new):
    params = {**FAST, "n_estimators": 2}
    if new["objective"] != "reconstruction":
        params.update(loss="mse", scaling="standard")
    fitted, record = _fit_warns(AutoencoderOutlierDetector(**params, **old), X,
                                r"\(\w+=\.\.\..*\) is deprecated.*use objective=")
    # Every old spelling is named, with the release that removes it.
    named = {name for w in record for name in re.findall(r"(\w+)=\.\.\.", str(w.message))}
    assert named == set(old) - {"objective"}
    assert all("removed in 0.5" in str(w.message) for w in record)
    expected = AutoencoderOutlierDetector(**params, **new).fit(X)
    np.testing.assert_array_equal(fitted.score_samples(X), expected.score_samples(X))
    assert fitted.backbone == old.get("backbone", "deprecated")  # parameters unchanged


def test_deprecated_vae_settings_with_the_reconstruction_objective_say_so(X):
    detector = AutoencoderOutlierDetector(**FAST, n_estimators=2, beta=2.0)
    _, record = _fit_warns(detector, X, "no effect on the reconstruction objective")
    assert len(record) == 1
    plain = AutoencoderOutlierDetector(**FAST, n_estimators=2).fit(X)
    np.testing.assert_array_equal(detector.score_samples(X), plain.score_samples(X))


def test_deprecated_backbone_beside_objective_is_an_error(X):
    with pytest.raises(ValueError, match="set only objective"):
        AutoencoderOutlierDetector(**FAST, backbone="vae", objective=VAE()).fit(X)


def test_bad_deprecated_values_are_still_rejected(X):
    with pytest.raises(ValueError, match="backbone"):
        AutoencoderOutlierDetector(**FAST, backbone="VAE").fit(X)
    with pytest.raises(ValueError, match="beta"):
        AutoencoderOutlierDetector(**FAST, beta=-1.0).fit(X)


def test_lstm_hidden_sizes_warns_and_maps():
    X = np.random.RandomState(0).normal(size=(30, 8))
    params = {**FAST, "n_components": 2}
    old = AutoencoderTransformer(**params, network=LSTMNetwork((4, 2), hidden_sizes=(3,)))
    _, record = _fit_warns(old, X, r"LSTMNetwork\(hidden_sizes=\.\.\.\) is deprecated.*"
                                   r"use hidden_layer_sizes=\(3,\)")
    assert len(record) == 1
    new = AutoencoderTransformer(**params, network=LSTMNetwork((4, 2), hidden_layer_sizes=(3,)))
    np.testing.assert_array_equal(old.transform(X), new.fit(X).transform(X))
    both = LSTMNetwork((4, 2), hidden_sizes=(3,), hidden_layer_sizes=(5,))
    with pytest.raises(ValueError, match="set only hidden_layer_sizes"):
        AutoencoderTransformer(**params, network=both).fit(X)


def test_new_spellings_do_not_warn(X):
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        AutoencoderOutlierDetector(**FAST, n_estimators=2, objective=VAE(beta=0.5)).fit(X)
        AutoencoderTransformer(**FAST, n_components=2,
                               network=LSTMNetwork((3, 2), hidden_layer_sizes=(3,))).fit(X)
        AutoencoderOutlierDetector(**FAST, network=dense(4)).fit(X).score_samples(X)


def test_objective_objects_survive_save_load_and_pickle(X, tmp_path):
    import pickle

    import skae

    detector = AutoencoderOutlierDetector(**FAST, n_estimators=2,
                                          objective=VAE(beta=0.5, kl_warmup_epochs=1)).fit(X)
    loaded = skae.load(skae.save(detector, tmp_path / "model.safetensors"))
    unpickled = pickle.loads(pickle.dumps(detector))
    for copy in (loaded, unpickled):
        assert copy.objective.get_params() == {"beta": 0.5, "kl_warmup_epochs": 1}
        np.testing.assert_array_equal(copy.score_samples(X), detector.score_samples(X))
