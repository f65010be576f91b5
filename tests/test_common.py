"""scikit-learn's estimator checks on every public estimator."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from skae import (
    VAE,
    AutoencoderImputer,
    AutoencoderOutlierDetector,
    AutoencoderTransformer,
    ConvNetwork,
    LSTMNetwork,
    SequenceOutlierDetector,
    VAETransformer,
)
from skae._testing import CPU, dense
from skae.preprocessing import SlidingWindows

FAST = {**CPU, "network": dense(8), "max_steps": 5, "batch_size": 32}

# The variants of the source documents, switched on (fast settings).
VARIANTS = [
    {"network": dense(8, tied_weights=True, dropout=0.1, batch_norm=True),
     "pretrain_epochs": 2},
    {"noise_std": 0.1, "mask_probability": 0.1, "code_activation": "sigmoid",
     "sparsity_weight": 0.05, "activity_l1": 1e-3, "optimizer": "sgd"},
    {"network": dense(activation="identity"), "scaling": "center",
     "optimizer": "lbfgs", "weight_decay": 1e-4},
    # Rows read as 1 x n_features images and as n_features-step windows (the
    # checks vary the number of features).
    {"network": ConvNetwork(input_shape=(1, 1, -1), channels=(2,), hidden_layer_sizes=(4,))},
    {"network": LSTMNetwork(input_shape=(-1, 1), hidden_layer_sizes=(4,), reverse_decoding=True)},
]

ESTIMATORS = [
    AutoencoderTransformer(**FAST),
    VAETransformer(**FAST),
    VAETransformer(**{**FAST, "network": dense(8, tied_weights=True), "kl_warmup_epochs": 2}),
    AutoencoderOutlierDetector(**FAST),
    AutoencoderOutlierDetector(**FAST, objective=VAE(beta=0.5)),
    AutoencoderOutlierDetector(**{**FAST, "network": LSTMNetwork(input_shape=(-1, 1),
                                                                 hidden_layer_sizes=(4,))}),
    # A threshold calibrated on held-out rows (half of them: the checks fit
    # on as few as 2 rows).
    AutoencoderOutlierDetector(**FAST, false_alarm_rate=0.5, calibration_fraction=0.5),
    AutoencoderImputer(**FAST),
    AutoencoderImputer(**FAST, add_indicator=True, n_components=1),
] + [
    AutoencoderTransformer(**{**FAST, **variant}) for variant in VARIANTS
] + [
    # One-step windows keep every row, so the whole transformer contract is
    # checked; real windows below change the number of rows by design.
    SlidingWindows(window_length=1),
    SlidingWindows(window_length=3, step=2),
    # Rows are time steps: one score per step, from windows of consecutive rows.
    # contamination='auto' (three standard deviations) flags no step of the
    # checks' Gaussian blobs, where the checks expect some; a share does.
    SequenceOutlierDetector(AutoencoderOutlierDetector(**FAST), window=3, contamination=0.1),
    SequenceOutlierDetector(AutoencoderOutlierDetector(**FAST), normalize=True,
                            contamination=0.1),
]

EXPECTED_FAILED_CHECKS = {}

_FEWER_ROWS = ("a window transformer returns (n_samples - window_length) // step + 1 "
               "rows; the check asserts that transform keeps n_samples")
WINDOW_EXPECTED_FAILED_CHECKS = {
    "check_transformer_general": _FEWER_ROWS,
    "check_transformer_data_not_an_array": _FEWER_ROWS,
    "check_transformers_unfitted_stateless": _FEWER_ROWS,
    "check_methods_sample_order_invariance": (
        "windows are made of consecutive rows: reordering the rows changes the "
        "windows, and the check indexes the output by input row"),
    "check_methods_subset_invariance": (
        "transform of one row cannot hold a window of several rows; windows "
        "span row boundaries, so per-row subsets cannot match"),
}


_CALIBRATED = ("the check sets a float contamination, which fit rejects beside "
               "false_alarm_rate (two rules for one threshold); tests/test_calibration.py "
               "checks predict, decision_function and score_samples of calibrated fits")
CALIBRATED_EXPECTED_FAILED_CHECKS = {
    "check_outliers_train": _CALIBRATED,
    "check_outliers_fit_predict": _CALIBRATED,
}


_SERIES = ("rows are the time steps of one series: a step's score depends on the "
           "steps around it (the windows covering it)")
SEQUENCE_EXPECTED_FAILED_CHECKS = {
    "check_methods_sample_order_invariance": _SERIES + ", so reordering rows changes scores",
    "check_methods_subset_invariance": _SERIES + ", so a subset of rows scores differently",
    "check_fit1d": "a 1-D array is a univariate series, accepted by design",
    "check_fit2d_predict1d": "a 1-D array is a univariate series, accepted by design",
}


def _expected_failed_checks(estimator):
    if isinstance(estimator, SequenceOutlierDetector):
        return SEQUENCE_EXPECTED_FAILED_CHECKS
    if isinstance(estimator, SlidingWindows) and estimator.window_length > 1:
        return WINDOW_EXPECTED_FAILED_CHECKS
    if getattr(estimator, "false_alarm_rate", None) is not None:
        return CALIBRATED_EXPECTED_FAILED_CHECKS
    return EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {})


@pytest.mark.usefixtures("no_convergence_warnings")
@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
