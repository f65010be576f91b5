"""
=====================================
Which columns make a row an outlier?
=====================================

:meth:`~skae.AutoencoderOutlierDetector.feature_errors` returns the
reconstruction error of every entry of a row, in the detector's scaled space,
so that columns in different units compare. Averaged over the columns they are
the row's anomaly score (``-score_samples``). The columns with the largest
errors are the ones the model could not explain.

Here the detector is fitted on scikit-learn's wine table, and one row is
copied with its ``magnesium`` set far above anything seen in training.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_wine

from skae import AutoencoderOutlierDetector

wine = load_wine(as_frame=True)
X = wine.data
detector = AutoencoderOutlierDetector(random_state=0).fit(X)

odd = X.iloc[[0]].copy()
odd["magnesium"] = 2 * X["magnesium"].max()
print("prediction for the altered row:", detector.predict(odd)[0])
print(
    f"its anomaly score: {-detector.score_samples(odd)[0]:.3f}, "
    f"threshold_: {detector.threshold_:.3f}"
)

# %%
# The error of each column, in the altered row and in the original
# ------------------------------------------------------------------
errors = detector.feature_errors(odd)[0]
original = detector.feature_errors(X.iloc[[0]])[0]
np.testing.assert_allclose(errors.mean(), -detector.score_samples(odd)[0])

order = np.argsort(errors)
fig, ax = plt.subplots(figsize=(7, 4.5), layout="constrained")
positions = np.arange(len(order))
ax.barh(positions + 0.2, errors[order], height=0.4, label="altered row")
ax.barh(positions - 0.2, original[order], height=0.4, label="original row")
ax.set_yticks(positions, X.columns[order])
ax.set_xlabel("reconstruction error (scaled by each member's training spread)")
ax.legend(loc="lower right")
ax.set_title("feature_errors of one row of the wine table", fontsize=12)
plt.show()

# %%
# ``magnesium`` stands out. The other columns' errors move too, because the
# autoencoder reconstructs the row as a whole: an impossible value in one
# column pulls the reconstruction of the others. Read the ranking, not each
# error on its own.
