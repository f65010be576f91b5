"""scikit-learn's estimator checks on every public estimator."""

import warnings

from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks

from skae import AutoencoderOutlierDetector, AutoencoderTransformer, VAETransformer

FAST = {"hidden_layer_sizes": (8,), "max_epochs": 5, "batch_size": 32, "device": "cpu",
        "random_state": 0}

# The variants of the source documents, switched on (fast settings).
VARIANTS = [
    {"tied_weights": True, "dropout": 0.1, "batch_norm": True, "pretrain_epochs": 2},
    {"noise_std": 0.1, "mask_probability": 0.1, "code_activation": "sigmoid",
     "sparsity_weight": 0.05, "activity_l1": 1e-3, "optimizer": "sgd"},
    {"hidden_layer_sizes": (), "activation": "identity", "scaling": "center",
     "optimizer": "lbfgs", "weight_decay": 1e-4},
]

ESTIMATORS = [
    AutoencoderTransformer(**FAST),
    VAETransformer(**FAST),
    AutoencoderOutlierDetector(**FAST),
    AutoencoderOutlierDetector(**FAST, backbone="vae"),
] + [
    AutoencoderTransformer(**{**FAST, **variant}) for variant in VARIANTS
]

EXPECTED_FAILED_CHECKS = {}


def _expected_failed_checks(estimator):
    return EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {})


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)
