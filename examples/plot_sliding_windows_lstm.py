"""
=======================================================
Sliding windows of a time series, with an LSTM network
=======================================================

:class:`~skae.preprocessing.SlidingWindows` cuts a series of shape
``(n_time, n_features)`` into flattened windows, one per row, and
:class:`~skae.LSTMNetwork` reads each row back as ``window_length`` steps of
``n_features``. In a :class:`~sklearn.pipeline.Pipeline` the two give one
code per window. The series here is generated: two noisy oscillations, with a
stretch in which one of them goes flat. The windows over that stretch are the
ones the autoencoder reconstructs worst.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.pipeline import Pipeline

from skae import AutoencoderTransformer, LSTMNetwork
from skae.preprocessing import SlidingWindows

rng = np.random.RandomState(0)
t = np.arange(1200)
series = np.column_stack(
    [np.sin(2 * np.pi * t / 50), np.cos(2 * np.pi * t / 80)]
)
series += 0.05 * rng.standard_normal(series.shape)
series[900:950, 0] = 0.0  # the anomaly: the first signal stops oscillating

window = 25
pipe = Pipeline(
    [
        ("windows", SlidingWindows(window_length=window, step=5)),
        (
            "ae",
            AutoencoderTransformer(
                n_components=4,
                network=LSTMNetwork(
                    input_shape=(window, 2), hidden_layer_sizes=(16,)
                ),
                learning_rate=1e-2,
                batch_size=64,
                tol=1e-3,
                n_iter_no_change=5,
                random_state=0,
            ),
        ),
    ]
)
pipe.fit(series[:800])  # train on the first 800 steps, which are normal
windows = pipe[:-1].transform(series)
codes = pipe.transform(series)
print(
    f"{len(windows)} windows of {windows.shape[1]} values, "
    f"codes of shape {codes.shape}"
)

# %%
# Reconstruction error of each window
# -----------------------------------
# ``score_samples`` is minus the mean reconstruction error of a window; it is
# plotted at the last time step of each window.
error = -pipe[-1].score_samples(windows)
ends = np.arange(len(windows)) * 5 + window - 1

fig, (top, bottom) = plt.subplots(
    2, 1, figsize=(9, 5), sharex=True, layout="constrained"
)
top.plot(t, series[:, 0], lw=0.8, label="signal 1")
top.plot(t, series[:, 1], lw=0.8, label="signal 2")
top.axvspan(900, 950, color="grey", alpha=0.3, label="flat stretch")
top.axvline(800, color="black", linestyle=":", label="end of training part")
top.set_ylabel("value")
# above the panel, where it hides no line
top.legend(loc="lower left", bbox_to_anchor=(0, 1), ncols=4, fontsize=9)
bottom.plot(ends, error, marker=".", lw=0.8)
bottom.axvspan(900, 950, color="grey", alpha=0.3)
bottom.set_yscale("log")
bottom.set_xlabel("time step (last step of the window)")
bottom.set_ylabel("reconstruction error\n(standardised units)")
plt.show()

# %%
# The windows that overlap the flat stretch stand out from the rest of the
# held-out series (after step 800), which the network never saw but which
# oscillates as the training part did.
