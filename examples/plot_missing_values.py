"""
==========================================
Tables with gaps: detect and impute as-is
==========================================

Every skae estimator takes missing values (NaN) as they are: the loss and
the scores count the observed entries only, and the network sees a column's
training mean in place of a gap. Here a fifth of the entries of
scikit-learn's breast cancer table are removed at random.

First, :class:`~skae.AutoencoderImputer` fills the gaps with the
reconstruction of each row, next to the column mean
(:class:`~sklearn.impute.SimpleImputer`) and the mean of the five nearest
rows (:class:`~sklearn.impute.KNNImputer`). Then
:class:`~skae.AutoencoderOutlierDetector` is fitted on the table with its
gaps, and its scores are compared with those it gives the complete table.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.impute import KNNImputer, SimpleImputer
from sklearn.metrics import roc_auc_score

from skae import AutoencoderImputer, AutoencoderOutlierDetector

X, y = load_breast_cancer(return_X_y=True)
rng = np.random.RandomState(0)
X_gaps = X.copy()
X_gaps[rng.rand(*X.shape) < 0.2] = np.nan
gaps = np.isnan(X_gaps)
print(f"{gaps.mean():.0%} of the entries are missing, in {gaps.any(axis=1).mean():.0%} "
      "of the rows")

# %%
# Imputation error on the removed entries
# ---------------------------------------
# In units of each column's standard deviation, so that the 30 columns
# count alike.
std = X.std(axis=0)
imputers = {
    "SimpleImputer": SimpleImputer(),
    "KNNImputer": KNNImputer(),
    "AutoencoderImputer": AutoencoderImputer(random_state=0),
}
rmse = {}
for name, imputer in imputers.items():
    filled = imputer.fit_transform(X_gaps)
    rmse[name] = np.sqrt(np.mean((((filled - X) / std)[gaps]) ** 2))
    print(f"{name:18s} RMSE {rmse[name]:.3f}")

# The observed entries are passed through unchanged.
observed = ~gaps
assert np.array_equal(filled[observed], X_gaps[observed])

fig, ax = plt.subplots(figsize=(6, 3), layout="constrained")
ax.barh(list(rmse), list(rmse.values()))
ax.set_xlabel("RMSE on the removed entries (column standard deviations)")
ax.set_title("Filling 20 % gaps in the breast cancer table", fontsize=12)

# %%
# Outlier scores with and without the gaps
# ----------------------------------------
# The malignant tumours are treated as the anomalies (label 0). A row's
# score is its mean error over the entries it has, so rows with gaps are
# neither favoured nor punished for having fewer terms.
detector_gaps = AutoencoderOutlierDetector(random_state=0).fit(X_gaps)
detector_full = AutoencoderOutlierDetector(random_state=0).fit(X)
scores_gaps = detector_gaps.score_samples(X_gaps)
scores_full = detector_full.score_samples(X)
malignant = y == 0
print(f"ROC-AUC with gaps {roc_auc_score(malignant, -scores_gaps):.3f}, "
      f"complete {roc_auc_score(malignant, -scores_full):.3f}")

fig, ax = plt.subplots(figsize=(5, 4.5), layout="constrained")
ax.scatter(-scores_full[~malignant], -scores_gaps[~malignant], s=8, label="benign")
ax.scatter(-scores_full[malignant], -scores_gaps[malignant], s=8, label="malignant")
ax.set_xlabel("anomaly score, complete table")
ax.set_ylabel("anomaly score, 20 % gaps")
ax.legend()
plt.show()
