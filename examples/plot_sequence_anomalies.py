"""
=====================================================
Anomalies in a stream: one score per time step
=====================================================

:class:`~skae.SequenceOutlierDetector` takes a series as it comes (time on
axis 0, here a pandas Series with a regular time index), picks the window
length from the data (the dominant period, by autocorrelation), z-normalises
every sliding window and scores each time step by the windows covering it.
The series is generated in the style of a NAB server metric: a daily cycle
sampled every 30 minutes for six weeks, with noise, a stretch where the
metric is stuck and, later, a burst of spikes. The detector is fitted on the
first 40 % (as it comes: it never sees a label), then scores the whole
series; the stretches it flags are drawn in red, the labelled anomalies in
grey.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from skae import SequenceOutlierDetector
from skae.metrics import range_precision_recall, vus_pr

rng = np.random.RandomState(0)
steps_per_day, n_steps = 48, 48 * 42
index = pd.date_range("2024-03-04", periods=n_steps, freq="30min")
t = np.arange(n_steps)
daily = np.sin(2 * np.pi * t / steps_per_day) + 0.4 * np.sin(4 * np.pi * t / steps_per_day)
values = 50 + 10 * daily + rng.normal(scale=1.0, size=n_steps)
labels = np.zeros(n_steps, dtype=int)
values[1100:1140] = values[1099]  # the metric is stuck for 20 hours
labels[1100:1140] = 1
burst = np.arange(1600, 1660, 6)
values[burst] += 25  # a burst of spikes
labels[1600:1660] = 1
series = pd.Series(values, index=index, name="requests")

n_fit = int(0.4 * n_steps)
detector = SequenceOutlierDetector(random_state=0).fit(series.iloc[:n_fit])
scores = detector.score_samples(series)
flags = detector.predict(series) == -1
print(f"window: {detector.window_} steps ({detector.window_ / 2:.0f} hours)")
print(f"VUS-PR: {vus_pr(labels, -scores, max_buffer=detector.window_):.3f} "
      f"(a random score gets about {labels.mean():.3f})")
precision, recall = range_precision_recall(labels, flags.astype(int))
print(f"range precision {precision:.2f}, range recall {recall:.2f}")

# %%
# The flagged stretches
# ---------------------
# ``predict`` gives -1 at the steps whose score is below ``offset_``: the
# training mean minus three standard deviations (``contamination='auto'``).


def shade(ax, mask, label, **style):
    """Shade every run of True in ``mask`` (one legend entry)."""
    edges = np.diff(np.concatenate([[0], mask.astype(int), [0]]))
    for start, end in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)):
        ax.axvspan(index[start], index[end - 1], label=label, **style)
        label = None


fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 5), sharex=True)
top.plot(series.index, series, lw=0.6, color="black")
shade(top, labels.astype(bool), "labelled anomaly", color="grey", alpha=0.3)
shade(top, flags, "flagged", color="tab:red", alpha=0.35)
top.axvline(index[n_fit], ls="--", color="tab:blue", label="end of the training part")
top.set_ylabel("requests")
top.legend(loc="upper left", fontsize=8)
bottom.plot(series.index, -scores, lw=0.8, color="tab:red")
bottom.axhline(-detector.offset_, ls=":", color="black", label="threshold")
bottom.set_ylabel("anomaly score")
bottom.legend(loc="upper left", fontsize=8)
fig.autofmt_xdate()
fig.tight_layout()

# %%
# The flagged stretches reach about one window beyond each anomaly: a step's
# score is the mean over the windows covering it, and every window that holds
# an anomalous step scores high.
#
# Streaming
# ---------
# ``score_stream`` scores points as they arrive, each by the window that ends
# at it, continuing from the last steps the detector saw (``context_``); it
# trains nothing. Here the stream is the part after the training part, one
# point per call. A point is flagged while the window ending at it holds an
# anomalous step, so the flags run on for up to one window after an anomaly.
detector = SequenceOutlierDetector(random_state=0).fit(series.iloc[:n_fit])
stream_scores = np.concatenate([detector.score_stream([value])
                                for value in series.iloc[n_fit:]])
stream_flags = stream_scores < detector.offset_
after = np.convolve(labels, np.ones(detector.window_))[:n_steps][n_fit:] > 0
print(f"streamed {len(stream_scores)} points; flagged {stream_flags.sum()}: "
      f"{stream_flags[labels[n_fit:] == 1].sum()} inside the labelled anomalies, "
      f"{stream_flags[after & (labels[n_fit:] == 0)].sum()} within one window after one, "
      f"{stream_flags[~after].sum()} elsewhere")

# %%
# To keep learning from the stream, pass the accumulated points to
# ``partial_fit`` (a chunk of a few hundred steps): one more epoch of the
# window autoencoder, and a threshold reset from the chunk's scores.
