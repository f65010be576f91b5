"""
===================================================
Outlier detection: autoencoders and IsolationForest
===================================================

:class:`~skae.AutoencoderOutlierDetector` follows the conventions of
:class:`~sklearn.ensemble.IsolationForest`: ``score_samples`` is lower for more
abnormal rows, ``decision_function`` is negative for outliers and ``predict``
gives +1 / -1. This example fits both on the same contaminated table and
compares their scores and thresholds.

The table is scikit-learn's breast-cancer data with the benign tumours as the
normal rows and a few malignant ones mixed in as outliers, a construction
used by outlier-detection benchmarks (ODDS's WDBC table).
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import IsolationForest
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import train_test_split

from skae import AutoencoderOutlierDetector, ScoreHistogramDisplay

X, y = load_breast_cancer(return_X_y=True)
rng = np.random.RandomState(0)
benign = np.flatnonzero(y == 1)
malignant = rng.choice(np.flatnonzero(y == 0), size=20, replace=False)
rows = np.concatenate([benign, malignant])
X, is_outlier = X[rows], (y[rows] == 0)
print(f"{len(X)} rows, {is_outlier.sum()} outliers, {X.shape[1]} features")

X_train, X_test, out_train, out_test = train_test_split(
    X, is_outlier, test_size=0.4, stratify=is_outlier, random_state=0
)

# %%
# Fit both on the training part, as it is (contaminated and unlabelled)
# ----------------------------------------------------------------------
# The detector scales the raw columns itself. Its ensemble trains for a fixed
# budget of ``max_steps`` optimiser steps (500 by default).
detectors = {
    "AutoencoderOutlierDetector": AutoencoderOutlierDetector(random_state=0),
    "IsolationForest": IsolationForest(random_state=0),
}
for name, detector in detectors.items():
    detector.fit(X_train)
    scores = detector.score_samples(X_test)
    # lower score = more abnormal, so the outlier score is its negation
    auc = roc_auc_score(out_test, -scores)
    ap = average_precision_score(out_test, -scores)
    flagged = detector.predict(X_test) == -1
    print(
        f"{name}: ROC-AUC {auc:.3f}, AP {ap:.3f}, flags {flagged.sum()} of "
        f"{len(X_test)} test rows ({(flagged & out_test).sum()} of "
        f"{out_test.sum()} "
        "outliers)"
    )

# %%
# The scores and the thresholds
# -----------------------------
# The detector's default ``contamination='auto'`` sets the threshold one
# interquartile range above the upper quartile of the training rows' anomaly
# scores (``threshold_``); IsolationForest's ``'auto'`` puts its ``offset_`` at
# -0.5. Rows left of the dashed line are predicted -1.
# :class:`~skae.ScoreHistogramDisplay` draws the benign and malignant test
# rows apart, on the same bins, for any detector with ``offset_``.
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), layout="constrained")
y_test = np.where(out_test, -1, 1)  # +1 benign (inlier), -1 malignant (outlier)
for ax, (name, detector) in zip(axes, detectors.items()):
    ScoreHistogramDisplay.from_estimator(detector, X_test, y_test, ax=ax, name=name)
plt.show()

# %%
# The printed figures and the histograms show how the two detectors rank
# the malignant rows on this one table, and where each threshold cuts. The
# autoencoder's threshold is a box-plot fence on the training anomaly
# scores; set ``contamination`` to the share of outliers you
# expect, or ``false_alarm_rate``, to move it without touching the scores.
# One small table says little about which detector to prefer: across the
# tables of the package's outlier benchmark
# (:doc:`/user_guide/outlier_detection`) the detector's mean ROC-AUC is
# :result:`outliers/summary/per_method/skae/roc_auc {:.3f}` against
# IsolationForest's :result:`outliers/summary/per_method/iforest/roc_auc {:.3f}`,
# its mean average precision
# :result:`outliers/summary/per_method/skae/average_precision {:.3f}` against
# :result:`outliers/summary/per_method/iforest/average_precision {:.3f}`, and it
# takes :result:`outliers/summary/comparisons/time_skae_over_iforest/ratio {:.1f}`
# times as long; each is clearly ahead on some tables and behind on others.
