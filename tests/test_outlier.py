"""Tests of AutoencoderOutlierDetector."""

import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.ensemble import IsolationForest
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.metrics import roc_auc_score

from skae import VAE as VAEObjective
from skae import (
    AutoencoderOutlierDetector,
    AutoencoderTransformer,
    ConvNetwork,
    LSTMNetwork,
    VAETransformer,
)
from skae._testing import CPU, dense, steps

# 400 rows in batches of 64: 7 steps per epoch.
FAST = {**CPU, "network": dense(16), "n_components": 2, "max_steps": steps(30, 400, 64),
        "batch_size": 64}

pytestmark = pytest.mark.usefixtures("no_convergence_warnings")


def low_rank_data(n_samples=400, n_features=12, n_outliers=20, seed=0):
    """Rows on a 3-D subspace of unequal raw scales, the first ``n_outliers`` off it."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n_samples, 3)) @ rng.normal(size=(3, n_features))
    X += 0.05 * rng.normal(size=X.shape)
    X[:n_outliers] += 3 * rng.normal(size=(n_outliers, n_features))
    X = X * np.logspace(-2, 3, n_features) + 100  # raw, unscaled units
    y = np.zeros(n_samples, dtype=int)
    y[:n_outliers] = 1
    return X, y


@pytest.fixture(scope="module")
def data():
    return low_rank_data()


@pytest.fixture(scope="module")
def fitted(data):
    return AutoencoderOutlierDetector(**FAST).fit(data[0])


def test_fit_returns_self(data):
    detector = AutoencoderOutlierDetector(**FAST)
    assert detector.fit(data[0]) is detector


def test_injected_outliers_are_found_on_raw_contaminated_data(data, fitted):
    X, y = data
    # Fitted on the contaminated training data itself, in raw units.
    assert roc_auc_score(y, -fitted.score_samples(X)) > 0.9
    X_new, y_new = low_rank_data(seed=0, n_outliers=40)
    assert roc_auc_score(y_new, -fitted.score_samples(X_new)) > 0.9


def test_trained_on_clean_data_flags_new_outliers(data):
    X, y = data
    detector = AutoencoderOutlierDetector(contamination=0.01, **FAST).fit(X[y == 0])
    assert (detector.predict(X[y == 1]) == -1).mean() >= 0.85
    assert (detector.predict(X[y == 0]) == 1).mean() > 0.95


def test_scores_are_float64_and_consistent(data, fitted):
    X = data[0].astype(np.float32)
    scores = fitted.score_samples(X)
    decision = fitted.decision_function(X)
    assert scores.dtype == decision.dtype == np.float64
    np.testing.assert_allclose(decision, scores - fitted.offset_)
    np.testing.assert_array_equal(fitted.predict(X), np.where(decision < 0, -1, 1))
    assert fitted.threshold_ == -fitted.offset_


def test_feature_errors_average_to_the_score(data, fitted):
    errors = fitted.feature_errors(data[0])
    assert errors.shape == data[0].shape and errors.dtype == np.float64
    assert (errors >= 0).all()
    np.testing.assert_allclose(errors.mean(axis=1), -fitted.score_samples(data[0]))


def test_feature_errors_point_at_the_corrupted_column(data, fitted):
    X = data[0][20:60].copy()  # inliers
    column = 7
    X[:, column] += 8 * fitted.input_scale_[column]
    errors = fitted.feature_errors(X)
    assert (errors.argmax(axis=1) == column).all()


@pytest.mark.parametrize("contamination", [0.02, 0.1, 0.25])
def test_contamination_sets_the_training_outlier_share(data, contamination):
    X = data[0]
    detector = AutoencoderOutlierDetector(contamination=contamination, **FAST).fit(X)
    share = (detector.predict(X) == -1).mean()
    assert abs(share - contamination) <= 1.5 / len(X)
    scores = np.sort(detector.score_samples(X))
    n_below = np.sum(scores < np.percentile(scores, 100 * contamination))
    # Half-way between the two scores around the percentile, below the same rows.
    assert detector.offset_ == pytest.approx((scores[n_below - 1] + scores[n_below]) / 2,
                                             abs=0, rel=1e-15)


def test_auto_threshold_is_a_box_plot_fence_on_the_training_errors(data):
    X = data[0]
    detector = AutoencoderOutlierDetector(contamination="auto", **FAST).fit(X)
    errors = -detector.score_samples(X)
    q1, q3 = np.percentile(errors, [25, 75])
    rule = q3 + (q3 - q1)
    # Half-way between the two errors around the rule's value.
    assert np.max(errors[errors <= rule]) < detector.threshold_ < np.min(errors[errors > rule])
    assert detector.offset_ == -detector.threshold_
    np.testing.assert_array_equal(detector.predict(X) == -1, errors > rule)


def test_mean_std_threshold_is_mean_plus_one_std_of_training_errors(data):
    X = data[0]
    detector = AutoencoderOutlierDetector(contamination="mean_std", **FAST).fit(X)
    errors = -detector.score_samples(X)
    rule = errors.mean() + errors.std()
    assert np.max(errors[errors <= rule]) < detector.threshold_ < np.min(errors[errors > rule])


def test_auto_threshold_flags_few_clean_rows():
    # IsolationForest's 'auto' flags about 5 % of clean Gaussian rows; the
    # tutorials' mean + 1 std rule about 16 %.
    X = np.random.RandomState(0).normal(size=(1000, 6))
    detector = AutoencoderOutlierDetector(**{**FAST, "max_steps": 100}).fit(X)
    assert 0.0 < (detector.predict(X) == -1).mean() < 0.06
    tutorial = clone(detector).set_params(contamination="mean_std").fit(X)
    assert (tutorial.predict(X) == -1).mean() > 0.1


def test_contamination_changes_only_the_threshold(data):
    X = data[0]
    low = AutoencoderOutlierDetector(contamination=0.01, **FAST).fit(X)
    high = AutoencoderOutlierDetector(contamination=0.2, **FAST).fit(X)
    np.testing.assert_array_equal(low.score_samples(X), high.score_samples(X))
    assert low.offset_ < high.offset_


@pytest.mark.parametrize("contamination", [0.0, 0.6, -0.1, "none", None])
def test_bad_contamination_is_rejected(data, contamination):
    with pytest.raises(ValueError, match="contamination"):
        AutoencoderOutlierDetector(contamination=contamination, **FAST).fit(data[0])


@pytest.mark.parametrize("objective", ["VAE", "autoencoder", None, VAETransformer()])
def test_bad_objective_is_rejected(data, objective):
    with pytest.raises(ValueError, match="objective"):
        AutoencoderOutlierDetector(objective=objective, **FAST).fit(data[0])


def test_objective_selects_the_network(fitted, vae_fitted):
    from skae._ensembles import DenseEnsemble, ModuleEnsemble
    from skae._torch_modules import VariationalAutoencoder

    assert isinstance(fitted.net_.module_, DenseEnsemble)
    assert fitted.net_.module_.n_members == 8
    assert fitted.get_params()["objective"] == "reconstruction"
    assert isinstance(vae_fitted.net_.module_, ModuleEnsemble)
    assert all(isinstance(m, VariationalAutoencoder) for m in vae_fitted.net_.module_.members)
    assert not hasattr(fitted, "kl_loss_curve_")
    assert len(vae_fitted.kl_loss_curve_) == vae_fitted.n_iter_


# ----------------------------------------------------------- VAE objective
VAE = {**FAST, "objective": "vae", "loss": "mse", "scaling": "standard", "learning_rate": 3e-3}


@pytest.fixture(scope="module")
def vae_fitted(data):
    return AutoencoderOutlierDetector(**VAE).fit(data[0])


def test_vae_objective_finds_injected_outliers(data, vae_fitted):
    X, y = data
    scores = vae_fitted.score_samples(X)
    assert scores.dtype == vae_fitted.decision_function(X).dtype == np.float64
    assert roc_auc_score(y, -scores) > 0.9
    X_new, y_new = low_rank_data(seed=0, n_outliers=40)
    assert roc_auc_score(y_new, -vae_fitted.score_samples(X_new)) > 0.9


def test_vae_objective_score_is_the_elbo_of_the_vae_transformer(data):
    # One member, no trimming: the VAETransformer's network and its ELBO (one
    # implementation serves both), divided by the spread of the training scores.
    X = data[0]
    detector = AutoencoderOutlierDetector(**VAE, n_estimators=1, trim_fraction=0.0).fit(X)
    shared = set(VAETransformer().get_params(deep=False)) - {"beta", "kl_warmup_epochs"}
    params = {k: v for k, v in detector.get_params(deep=False).items() if k in shared}
    elbo = VAETransformer(**params).fit(X).score_samples(X)
    np.testing.assert_allclose(detector.score_samples(X) * detector.member_scale_[0], elbo,
                               rtol=1e-6)
    q1, q3 = np.percentile(elbo, [25, 75])
    np.testing.assert_allclose(detector.member_scale_, [q3 - q1], rtol=1e-6)


def test_vae_objective_threshold_rules(data):
    X = data[0]
    detector = AutoencoderOutlierDetector(contamination=0.1, **VAE).fit(X)
    assert abs((detector.predict(X) == -1).mean() - 0.1) <= 1.5 / len(X)
    auto = AutoencoderOutlierDetector(**VAE).fit(X)
    errors = -auto.score_samples(X)  # the negative ELBO
    q1, q3 = np.percentile(errors, [25, 75])
    rule = q3 + (q3 - q1)
    assert np.max(errors[errors <= rule]) < auto.threshold_ < np.min(errors[errors > rule])


@pytest.mark.parametrize("option", [{"beta": 4.0}, {"kl_warmup_epochs": 5}])
def test_vae_settings_of_the_objective_act(data, vae_fitted, option):
    X = data[0]
    changed = AutoencoderOutlierDetector(**{**VAE, "objective": VAEObjective(**option)}).fit(X)
    assert not np.allclose(changed.score_samples(X), vae_fitted.score_samples(X))
    assert changed.net_.get_params()[next(iter(option))] == next(iter(option.values()))


def test_the_detector_lists_no_vae_setting_of_its_own():
    # The VAE's settings are the objective's: only their deprecated
    # spellings remain, unset.
    params = AutoencoderOutlierDetector().get_params(deep=False)
    assert {params[name] for name in ("backbone", "beta", "kl_warmup_epochs")} == {
        "deprecated"}


@pytest.mark.parametrize("params", [
    {"beta": 0.0}, {"beta": -1.0}, {"beta": "one"},
    {"kl_warmup_epochs": -1}, {"kl_warmup_epochs": 1.5}, {"kl_warmup_epochs": None},
])
def test_bad_vae_settings_are_rejected(data, params):
    with pytest.raises(ValueError, match="beta|kl_warmup_epochs"):
        AutoencoderOutlierDetector(**{**FAST, "objective": VAEObjective(**params)}).fit(data[0])


@pytest.mark.parametrize("params, match", [
    ({"optimizer": "lbfgs"}, "lbfgs"),
    ({"network": ConvNetwork(input_shape=(1, 3, 4))}, "DenseNetwork"),
])
def test_vae_objective_rejects_deterministic_only_options(data, params, match):
    with pytest.raises(ValueError, match=match):
        AutoencoderOutlierDetector(**{**VAE, **params}).fit(data[0][:50])


# ------------------------------------------------------ convergence warning
def test_training_budget_reached_warns_only_when_the_loss_has_not_settled(data):
    X = data[0][:300]
    params = {**FAST, "max_steps": 7}
    # 300 rows in batches of 64: the second pass is cut after two steps;
    # seven steps are too few to judge.
    with pytest.warns(ConvergenceWarning, match="too few"):
        detector = AutoencoderOutlierDetector(**params).fit(X)
    assert (detector.n_iter_, detector.n_steps_, len(detector.loss_curve_)) == (2, 7, 2)
    # The detector's budget is deliberate: a loss still falling at 40 steps
    # is no warning (a longer fit learns the outliers too), nor is the default.
    for budget in ({"max_steps": 40}, {}):
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)
            fit = AutoencoderOutlierDetector(**{**FAST, **budget}).fit(X)
    losses = [b["train_loss"] for epoch in fit.net_.history[:, "batches"] for b in epoch]
    assert fit.n_steps_ <= 500 and len(losses) == fit.n_steps_
    # A stopping rule that did not end training warns, as in the transformers.
    with pytest.warns(ConvergenceWarning, match="max_steps=7"):
        AutoencoderOutlierDetector(**params, early_stopping=True).fit(X)
    with pytest.warns(ConvergenceWarning, match="max_steps=7"):
        AutoencoderTransformer(**{k: v for k, v in params.items() if k != "n_components"}).fit(X)


def test_defaults_differ_from_the_transformer_where_tuned():
    params = AutoencoderOutlierDetector().get_params(deep=False)
    assert params["contamination"] == "auto" and params["objective"] == "reconstruction"
    assert (params["n_estimators"], params["max_samples"], params["trim_fraction"]) == (
        8, "auto", 0.2)
    assert (params["loss"], params["scaling"], params["max_steps"]) == ("mae", "minmax", 500)
    assert params["n_components"] == "auto" and params["network"] == "dense"
    assert AutoencoderTransformer().get_params()["loss"] == "mse"
    assert clone(AutoencoderOutlierDetector(contamination=0.1)).contamination == 0.1


@pytest.mark.parametrize("n_features, width, members",
                         [(3, 1, [1] * 7 + [2]), (12, 3, [2, 2, 2, 3, 3, 4, 4, 4]),
                          (35, 8, [4, 5, 6, 7, 9, 10, 11, 12]), (200, 8, None)])
def test_auto_code_widths_follow_the_number_of_features(n_features, width, members):
    X = np.random.RandomState(0).normal(size=(40, n_features))
    detector = AutoencoderOutlierDetector(**{**FAST, "n_components": "auto", "max_steps": 1})
    detector.fit(X)
    assert detector.n_components_ == width
    if members is not None:
        assert sorted(detector.member_n_components_) == members
    codes = detector.net_.module_.encode(torch.zeros(1, n_features))
    assert codes.shape == (8, 1, max(detector.member_n_components_))
    explicit = AutoencoderOutlierDetector(**{**FAST, "n_components": 5, "max_steps": 1,
                                            "n_estimators": 1}).fit(X)
    assert explicit.n_components_ == 5 and explicit.member_n_components_ == [5]


# ------------------------------------------------------------ the ensemble
def test_members_are_scaled_by_their_training_spread(data, fitted):
    X = data[0]
    members = fitted._objective_scores(X, vars(fitted))
    assert members.shape == (len(X), 8)
    q1, q3 = np.percentile(members, [25, 75], axis=0)
    np.testing.assert_allclose(fitted.member_scale_, q3 - q1)
    np.testing.assert_allclose(fitted.score_samples(X), (members / (q3 - q1)).mean(axis=1))
    # The members differ (widths, codes and seeds), so they disagree.
    assert np.corrcoef(members.T).min() < 0.999


@pytest.mark.parametrize("n_estimators", [1, 3])
def test_n_estimators_sets_the_members(data, n_estimators):
    X = data[0]
    detector = AutoencoderOutlierDetector(**{**FAST, "n_estimators": n_estimators}).fit(X)
    assert detector.net_.module_.n_members == n_estimators
    assert detector.member_scale_.shape == (n_estimators,)
    assert roc_auc_score(data[1], -detector.score_samples(X)) > 0.9


@pytest.mark.parametrize("max_samples, n_rows", [("auto", 400), (100, 100), (1000, 400),
                                                 (0.5, 200)])
def test_max_samples_bounds_the_training_rows(data, max_samples, n_rows):
    X = data[0]
    detector = AutoencoderOutlierDetector(**{**FAST, "max_samples": max_samples,
                                             "max_steps": 12}).fit(X)
    # Passes of ceil(n_rows / 64) steps each until the budget of 12 steps.
    assert detector.n_iter_ == -(-12 // -(-n_rows // 64))
    # The scale and the threshold still come from every row.
    assert (detector.score_samples(X) < detector.offset_).mean() < 0.1


def test_trimming_keeps_the_outliers_out_of_the_loss(data):
    X, y = data
    trimmed = AutoencoderOutlierDetector(**FAST).fit(X)
    plain = AutoencoderOutlierDetector(**{**FAST, "trim_fraction": 0.0}).fit(X)
    errors = [-detector.score_samples(X) for detector in (trimmed, plain)]
    gap = [e[y == 1].mean() / e[y == 0].mean() for e in errors]
    assert gap[0] > gap[1]


@pytest.mark.parametrize("params", [{"n_estimators": 0}, {"n_estimators": 1.5},
                                    {"max_samples": 0}, {"max_samples": 1.5},
                                    {"max_samples": "all"}, {"trim_fraction": 0.5},
                                    {"trim_fraction": -0.1}])
def test_bad_ensemble_parameters_are_rejected(data, params):
    name = next(iter(params))
    with pytest.raises(ValueError, match=name):
        AutoencoderOutlierDetector(**{**FAST, **params}).fit(data[0])


@pytest.mark.parametrize("n_components", ["Auto", "half", 0, 1.5, None])
def test_bad_n_components_is_rejected(data, n_components):
    with pytest.raises(ValueError, match="n_components"):
        AutoencoderOutlierDetector(**{**FAST, "n_components": n_components}).fit(data[0])


def test_not_fitted():
    detector = AutoencoderOutlierDetector()
    for method in ("score_samples", "decision_function", "predict", "feature_errors"):
        with pytest.raises(NotFittedError):
            getattr(detector, method)(np.zeros((2, 3)))


@pytest.mark.parametrize("bad", [np.array([[np.nan, 1.0]] * 4), np.array([[np.inf, 1.0]] * 4)])
def test_non_finite_input_is_rejected(bad):
    with pytest.raises(ValueError, match="NaN|infinity"):
        AutoencoderOutlierDetector(**FAST).fit(bad)


def test_wrong_width_is_rejected(data, fitted):
    with pytest.raises(ValueError, match="features"):
        fitted.feature_errors(data[0][:, :5])


def test_input_is_not_modified(data):
    X = data[0].copy()
    detector = AutoencoderOutlierDetector(**FAST).fit(X)
    detector.feature_errors(X)
    np.testing.assert_array_equal(X, data[0])


def test_pickle_round_trip(data, fitted):
    restored = pickle.loads(pickle.dumps(fitted))
    X = data[0]
    np.testing.assert_array_equal(restored.score_samples(X), fitted.score_samples(X))
    np.testing.assert_array_equal(restored.predict(X), fitted.predict(X))
    assert restored.offset_ == fitted.offset_


def test_repeatable_and_leaves_global_rngs_alone(data, fitted):
    np_state = np.random.get_state()[1].copy()
    torch_state = torch.get_rng_state().clone()
    again = AutoencoderOutlierDetector(**FAST).fit(data[0])
    np.testing.assert_array_equal(np.random.get_state()[1], np_state)
    assert torch.equal(torch.get_rng_state(), torch_state)
    np.testing.assert_array_equal(again.score_samples(data[0]), fitted.score_samples(data[0]))


def test_pandas_input_keeps_feature_names(data):
    import pandas as pd
    X = pd.DataFrame(data[0], columns=[f"sensor_{i}" for i in range(data[0].shape[1])])
    detector = AutoencoderOutlierDetector(**FAST).fit(X)
    np.testing.assert_array_equal(detector.feature_names_in_, X.columns)
    assert detector.feature_errors(X).shape == X.shape
    with pytest.warns(UserWarning, match="feature names"):
        detector.predict(X.to_numpy())


def test_sparse_input_matches_dense(data):
    import scipy.sparse as sp
    X = data[0][:100]
    detector = AutoencoderOutlierDetector(**FAST).fit(X)
    np.testing.assert_allclose(detector.score_samples(sp.csr_matrix(X)),
                               detector.score_samples(X))


def test_drop_in_for_isolation_forest(data):
    X, y = data
    for detector in (IsolationForest(contamination=0.05, random_state=0),
                     AutoencoderOutlierDetector(contamination=0.05, **FAST)):
        labels = detector.fit_predict(X)
        assert set(np.unique(labels)) == {-1, 1}
        assert roc_auc_score(y, -detector.score_samples(X)) > 0.8


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_model_scores_on_cpu_after_pickling(data):
    detector = AutoencoderOutlierDetector(**{**FAST, "device": "cuda"}).fit(data[0])
    restored = pickle.loads(pickle.dumps(detector))
    assert restored.score_samples(data[0]).dtype == np.float64


def test_detector_runs_the_network_named_by_network():
    # Windows of a noisy sine; the corrupted window must stand out.
    rng = np.random.RandomState(0)
    X = np.sin(np.linspace(0, 6, 12))[None, :] + 0.05 * rng.normal(size=(120, 12))
    X[0] += 2.0 * rng.normal(size=12)
    detector = AutoencoderOutlierDetector(network=LSTMNetwork(input_shape=(6, 2), hidden_layer_sizes=8),
                                          n_components=2, n_estimators=2, max_steps=3,
                                          random_state=0).fit(X)
    assert [type(m).__name__ for m in detector.net_.module_.members] == ["LSTMAutoencoder"] * 2
    assert detector.score_samples(X).argmin() == 0
