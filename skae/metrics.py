"""Range-aware metrics for anomaly detection on time series.

Point-wise metrics (ROC-AUC, average precision) treat every time step as an
independent sample, so a detector that flags one step of a 100-step anomaly
gets credit for 1 % of it, and one that flags the step just before it gets
none. The metrics here score *ranges*:

- :func:`range_precision_recall`: precision and recall over anomaly ranges
  (Tatbul et al., NeurIPS 2018), at one threshold.
- :func:`vus_pr`: the volume under the range-based precision-recall surface
  (Paparrizos et al., VLDB 2022), threshold-free, the headline metric of the
  TSB-AD benchmark (Liu and Paparrizos, NeurIPS 2024).

Both follow the definitions of TSB-AD's reference code (flat positional bias,
reciprocal cardinality, 250 thresholds), so figures are comparable with
published TSB-AD tables.
"""

import numpy as np
from sklearn.utils.validation import check_array, check_consistent_length

#: Thresholds of the precision-recall curves of :func:`vus_pr` (TSB-AD's).
_N_THRESHOLDS = 250


def _ranges(labels):
    """``(start, end)`` (inclusive) of every run of ones in a binary array."""
    edges = np.diff(np.concatenate([[0], labels.astype(np.int8), [0]]))
    return np.column_stack([np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1])


def _binary(y, name):
    y = check_array(y, ensure_2d=False, dtype=None, input_name=name)
    if y.ndim != 1 or not np.isin(y, [0, 1]).all():
        raise ValueError(f"{name} must be a 1-D array of 0 and 1 (1 = anomalous step).")
    return y.astype(np.int8)


def _labelled_ranges(y_true):
    ranges = _ranges(y_true)
    if len(ranges) == 0:
        raise ValueError("y_true has no anomalous step: range metrics are undefined.")
    return ranges


def _overlap_reward(target, others, positions):
    """Tatbul's overlap reward of each ``target`` range with flat bias.

    The share of the range's steps that are in ``positions``, divided by the
    number of ``others`` ranges overlapping it (reciprocal cardinality; 0 when
    none does).
    """
    rewards = np.zeros(len(target))
    for k, (start, end) in enumerate(target):
        n_overlapping = np.sum((others[:, 0] <= end) & (others[:, 1] >= start))
        if n_overlapping:
            rewards[k] = positions[start:end + 1].mean() / n_overlapping
    return rewards


def range_precision_recall(y_true, y_pred, *, alpha=0.2):
    """Range-based precision and recall (Tatbul et al., 2018).

    Recall averages, over the labelled anomaly ranges, ``alpha`` times an
    existence reward (1 if any step of the range is flagged) plus
    ``1 - alpha`` times an overlap reward (the share of its steps flagged,
    divided by the number of flagged ranges that overlap it). Precision
    averages the overlap reward over the flagged ranges, with the roles of
    labels and flags swapped and no existence reward. Flat positional bias,
    as in TSB-AD.

    Parameters
    ----------
    y_true : array-like of shape (n_steps,)
        1 at anomalous time steps, 0 elsewhere.
    y_pred : array-like of shape (n_steps,)
        1 at flagged time steps, 0 elsewhere. A detector's ``predict`` gives
        -1 for flagged steps: pass ``(detector.predict(X) == -1)``.
    alpha : float, default=0.2
        Weight of the existence reward in the recall, in [0, 1].

    Returns
    -------
    precision, recall : float
        Both in [0, 1]; precision is 0 when nothing is flagged.

    Examples
    --------
    >>> from skae.metrics import range_precision_recall
    >>> y_true = [0, 1, 1, 1, 1, 0, 0, 0]
    >>> y_pred = [0, 0, 1, 1, 0, 0, 1, 0]
    >>> precision, recall = range_precision_recall(y_true, y_pred)
    >>> round(precision, 3), round(recall, 3)
    (0.5, 0.6)
    """
    y_true, y_pred = _binary(y_true, "y_true"), _binary(y_pred, "y_pred")
    check_consistent_length(y_true, y_pred)
    if not 0 <= alpha <= 1:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}.")
    true_ranges, pred_ranges = _labelled_ranges(y_true), _ranges(y_pred)
    if len(pred_ranges) == 0:
        return 0.0, 0.0
    existence = np.array([y_pred[s:e + 1].any() for s, e in true_ranges], dtype=float)
    overlap = _overlap_reward(true_ranges, pred_ranges, y_pred)
    recall = float(np.mean(alpha * existence + (1 - alpha) * overlap))
    precision = float(np.mean(_overlap_reward(pred_ranges, true_ranges, y_true)))
    return precision, recall


def _soft_labels(y_true, ranges, buffer):
    """Labels extended by ``buffer // 2`` steps on each side of every range.

    Inside a range the label is 1; ``d`` steps outside it, it is
    ``sqrt(1 - d / buffer)``, capped at 1 where buffers of two ranges meet.
    """
    labels = y_true.astype(float)
    n_steps, half = len(labels), buffer // 2
    for start, end in ranges:
        after = np.arange(end + 1, min(end + half + 1, n_steps))
        labels[after] += np.sqrt(1 - (after - end) / buffer)
        before = np.arange(max(start - half, 0), start)
        labels[before] += np.sqrt(1 - (start - before) / buffer)
    return np.minimum(labels, 1.0)


def _merged_ranges(ranges, buffer, n_steps):
    """The ranges widened by ``buffer // 2`` on each side, overlapping ones merged."""
    half = buffer // 2
    merged = [[max(ranges[0, 0] - half, 0), ranges[0, 1] + half]]
    for start, end in ranges[1:]:
        if merged[-1][1] < start - half:
            merged.append([start - half, end + half])
        else:
            merged[-1][1] = end + half
    merged[-1][1] = min(merged[-1][1], n_steps - 1)
    return np.asarray(merged)


def _range_average_precision(y_true, ranges, flags, cumulative, buffer):
    """Range-based average precision at one buffer length, over all thresholds."""
    labels = _soft_labels(y_true, ranges, buffer)
    segments = _merged_ranges(ranges, buffer, len(y_true))
    hit = cumulative[:, segments[:, 1] + 1] - cumulative[:, segments[:, 0]] > 0
    true_positives = flags @ labels
    # The positives: the labelled steps plus half the flagged buffer weight.
    positives = y_true.sum() + 0.5 * (flags @ (labels * (1 - y_true)))
    recall = np.minimum(true_positives / positives, 1.0) * hit.mean(axis=1)
    precision = true_positives / flags.sum(axis=1)
    return float(np.diff(recall, prepend=0.0) @ precision)


def vus_pr(y_true, scores, *, max_buffer=100):
    """Volume under the range-based precision-recall surface (VUS-PR).

    For every buffer length ``b`` from 0 to ``max_buffer``, each labelled
    anomaly range is widened by ``b // 2`` steps on each side with labels
    decaying from 1 (``sqrt(1 - d / b)`` at ``d`` steps out), and the
    range-based average precision is computed over 250 thresholds (the
    scores at evenly spaced ranks); a threshold's recall is multiplied by the
    share of widened ranges it detects at all. VUS-PR is the mean of these
    average precisions over the buffers. A random score gets about the share
    of anomalous steps; 1 is perfect. TSB-AD sets ``max_buffer`` to the
    series' period.

    Parameters
    ----------
    y_true : array-like of shape (n_steps,)
        1 at anomalous time steps, 0 elsewhere; at least one 1.
    scores : array-like of shape (n_steps,)
        Anomaly score of every step: **higher is more abnormal** (pass
        ``-detector.score_samples(X)`` for a skae or scikit-learn detector).
    max_buffer : int, default=100
        Longest buffer, in time steps.

    Returns
    -------
    vus_pr : float
        In [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> from skae.metrics import vus_pr
    >>> y_true = np.zeros(100, dtype=int)
    >>> y_true[40:50] = 1
    >>> round(vus_pr(y_true, y_true.astype(float), max_buffer=0), 3)
    1.0
    """
    y_true = _binary(y_true, "y_true")
    scores = check_array(scores, ensure_2d=False, input_name="scores").astype(float)
    check_consistent_length(y_true, scores)
    if scores.ndim != 1:
        raise ValueError("scores must be 1-D: one anomaly score per time step.")
    if int(max_buffer) != max_buffer or max_buffer < 0:
        raise ValueError(f"max_buffer must be a non-negative int, got {max_buffer}.")
    ranges = _labelled_ranges(y_true)
    ranks = np.linspace(0, len(scores) - 1, _N_THRESHOLDS).astype(int)
    thresholds = np.sort(scores)[::-1][ranks]
    flags = (scores[None, :] >= thresholds[:, None]).astype(float)
    cumulative = np.concatenate([np.zeros((len(flags), 1)), flags.cumsum(axis=1)], axis=1)
    return float(np.mean([_range_average_precision(y_true, ranges, flags, cumulative, b)
                          for b in range(int(max_buffer) + 1)]))
