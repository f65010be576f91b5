"""
==============================================
Categorical columns: detect without encoding
==============================================

A table of transactions has numeric columns (the amount, the hour) and
categorical ones (the channel and the country), with gaps in both.
:class:`~skae.AutoencoderOutlierDetector` takes it as a DataFrame with
``categorical_features='from_dtype'``: each categorical column becomes a
one-hot block in the network and a softmax cross-entropy term in the loss,
and a missing category is a missing entry, not a category of its own.

The outliers planted here are ordinary in every single column: only the
combination of channel and country is unusual. ``feature_errors`` points to
the columns that made each row abnormal, categorical ones included.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from skae import AutoencoderOutlierDetector

rng = np.random.RandomState(0)
n_rows = 600
country = rng.choice(["FR", "DE", "IT", "ES"], n_rows)
# Each country buys through its own channel, 49 times in 50.
usual = {"FR": "web", "DE": "shop", "IT": "phone", "ES": "web"}
channel = np.where(rng.rand(n_rows) < 0.98, [usual[c] for c in country],
                   rng.choice(["web", "shop", "phone"], n_rows))
table = pd.DataFrame({
    "amount": rng.lognormal(3, 0.5, n_rows),
    "hour": rng.normal(14, 3, n_rows),
    "channel": pd.Categorical(channel),
    "country": pd.Categorical(country),
})
table.loc[rng.rand(n_rows) < 0.05, "amount"] = np.nan
table.loc[rng.rand(n_rows) < 0.05, "channel"] = np.nan

# Ten outliers: German buyers on the phone, an unusual pair of usual values.
outliers = np.arange(10)
table.loc[outliers, "country"] = "DE"
table.loc[outliers, "channel"] = "phone"
print(table.head())

# %%
# Fit on the table as it is
# -------------------------
detector = AutoencoderOutlierDetector(categorical_features="from_dtype", random_state=0)
detector.fit(table)
scores = detector.score_samples(table)
rank = np.argsort(np.argsort(scores))  # 0 is the most abnormal row
print("ranks of the planted outliers among", n_rows, "rows:", np.sort(rank[outliers]))

# %%
# Which columns made the rows abnormal
# ------------------------------------
# A categorical column's error is the negative log-likelihood of its
# category under the network's softmax, on the numeric columns' scale:
# predicting the training frequencies would cost it what predicting a
# constant costs the average numeric column. It is NaN where the entry is
# missing, as for a numeric column.
errors = pd.DataFrame(detector.feature_errors(table), columns=detector.feature_names_in_)
typical = errors.drop(index=outliers).median()
fig, ax = plt.subplots(figsize=(6, 3))
width = 0.4
positions = np.arange(errors.shape[1])
ax.bar(positions - width / 2, typical, width, label="median row")
ax.bar(positions + width / 2, errors.loc[outliers].median(), width, label="planted outliers")
ax.set_xticks(positions, errors.columns)
ax.set_ylabel("feature error")
ax.legend()
fig.tight_layout()
plt.show()
