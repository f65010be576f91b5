"""
================================================
Loss curves, score histograms and feature errors
================================================

skae's three Display objects work as scikit-learn's ``RocCurveDisplay``:
each is built with ``from_estimator`` (or from scores or reconstructions you
already have) and draws on a new figure or on the ``ax`` you pass.

* :class:`~skae.LossCurveDisplay`: the training (and validation) loss per
  epoch, the y axis saying what the loss is.
* :class:`~skae.ScoreHistogramDisplay`: a detector's scores, with its
  threshold and, given labels, inliers and outliers apart.
* :class:`~skae.FeatureErrorDisplay`: which features made one row abnormal.
"""

# %%
# Loss curves
# -----------
# A transformer with early stopping has a validation loss too (dashed). A
# deterministic autoencoder's loss (here the mean squared error in the scaled
# space) and a variational one's (the negative ELBO, in nats per row) are not
# comparable, so they get an axes each: the display refuses to draw one on
# axes labelled with the other.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

from skae import (
    AutoencoderOutlierDetector,
    AutoencoderTransformer,
    FeatureErrorDisplay,
    LossCurveDisplay,
    ScoreHistogramDisplay,
    VAETransformer,
)

X, y = load_breast_cancer(return_X_y=True, as_frame=True)
stopping = {"early_stopping": True, "n_iter_no_change": 20, "random_state": 0}
transformer = AutoencoderTransformer(n_components=4, **stopping).fit(X)
vae = VAETransformer(n_components=4, loss="mse", **stopping).fit(X)

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
LossCurveDisplay.from_estimator(transformer, ax=left)
LossCurveDisplay.from_estimator(vae, ax=right)
left.set_yscale("log")
plt.show()

# %%
# Scores, threshold and classes
# -----------------------------
# The detector is fitted on benign tumours only, with its threshold
# calibrated for a 5 % false-alarm rate on half of them, held out of
# training. On the test part, the histogram shows the benign (``y=+1``) and
# malignant (``y=-1``) rows apart and where the threshold cuts.
#
# One fit's false-alarm rate scatters around the rate asked for: with the
# 134 calibration rows by about 2 points, and the 90 benign test rows add
# about 2 more. The rate holds on average over fits, as the last section
# shows.
labels = np.where(y == 1, 1, -1)  # benign: inlier (+1); malignant: outlier (-1)
X_train, X_test, y_train, y_test = train_test_split(X, labels, random_state=0)
# On 133 training rows the default 500 steps left the loss still falling.
detector = AutoencoderOutlierDetector(false_alarm_rate=0.05, calibration_fraction=0.5,
                                      max_steps=1000, random_state=0)
detector.fit(X_train[y_train == 1])
display = ScoreHistogramDisplay.from_estimator(detector, X_test, y_test)
false_alarms = np.mean(detector.predict(X_test[y_test == 1]) == -1)
display.ax_.set_title(f"Benign test rows flagged: {false_alarms:.1%} "
                      "(false-alarm rate asked for: 5 %)")
plt.show()

# %%
# Which features made a row abnormal
# ----------------------------------
# The ten features that the ensemble reconstructs worst in the most abnormal
# test row.
worst = np.argmin(detector.score_samples(X_test))
errors = FeatureErrorDisplay.from_estimator(detector, X_test.iloc[[worst]], max_features=10,
                                            name="The most abnormal test row")
plt.show()

# %%
# The false-alarm rate over many splits
# -------------------------------------
# The guarantee is about the average over the random parts of a fit: which
# rows are held out for calibration, and which are new. Refitting on 20
# random splits of the table and counting the benign test rows flagged
# shows the scatter of single fits and their mean. It holds however well the
# network learned, so these fits are short (100 steps).
rates = []
for seed in range(20):
    X_train, X_test, y_train, y_test = train_test_split(X, labels, random_state=seed)
    short = AutoencoderOutlierDetector(false_alarm_rate=0.05, calibration_fraction=0.5,
                                       max_steps=100, random_state=seed)
    short.fit(X_train[y_train == 1])
    rates.append(np.mean(short.predict(X_test[y_test == 1]) == -1))

fig, ax = plt.subplots(figsize=(6, 2.5), layout="constrained")
ax.plot(rates, np.zeros_like(rates), "o", alpha=0.5, label="one split")
ax.axvline(0.05, color="black", linestyle="--", label="rate asked for: 5 %")
ax.axvline(np.mean(rates), color="C1", label=f"mean {np.mean(rates):.1%}")
ax.set_yticks([])
ax.set_xlabel("share of benign test rows flagged")
ax.set_title("False alarms of 20 fits on random splits")
ax.legend()
plt.show()
