"""Outlier detection by reconstruction error."""

import math
from fractions import Fraction
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import torch
from sklearn.base import OutlierMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from ._base import SHARED_PARAMETER_CONSTRAINTS, _BaseAutoencoder
from ._categorical import CATEGORICAL_PARAMETER_CONSTRAINTS, fitted_encoding
from ._deprecation import DEPRECATED, DEPRECATED_CONSTRAINT, detector_objective
from ._device import draw_seed
from ._docstrings import fill_doc
from ._inference import map_batches
from ._objectives import VARIATIONAL_PARAMETER_CONSTRAINTS
from ._scoring import combined_scores, decisions, labels
from .objectives import OBJECTIVE_SHORTHANDS, BaseObjective, resolve_objective

# Defaults for tabular outlier detection. They were chosen by a principle,
# then checked by ROC-AUC and AP on the training parts of the whole benchmark
# suite (34 tables), never its test parts; docs/user_guide/outlier_detection.rst
# lists the candidates tried.
# - A budget in optimiser steps on a bounded subsample (max_samples), as
#   IsolationForest fits each tree on 256 rows: small tables get enough
#   steps, large ones pay only for scoring. 500 steps beat 250 and 1,000
#   (a longer fit learns to reconstruct the outliers too).
# - An ensemble of small autoencoders of varied widths, code sizes and seeds,
#   trained as one stacked network (RandNet, ROBOD): 8 members beat 4 and 16, and no
#   single width or code size has to be right for every table.
# - A trimmed loss: the worst 20 % of each batch are left out, since the
#   training data is contaminated (0.2 beat 0.1 and 0.3).
# - Min-max scaling with the absolute error (the ECG tutorial's recipe); the
#   scaled range bounds every column, and normalising each column's error
#   by its training mean on top of it changed the mean ROC-AUC by -0.002.
_AUTO_MAX_SAMPLES = 4096

# contamination='auto': the box-plot fence, in interquartile ranges above the
# upper quartile (Tukey's 1.5 flagged no row of scikit-learn's three-blob check
# data; 1.0 flags about 3 % of clean Gaussian rows, IsolationForest 5 %).
_FENCE = 1.0

# n_components='auto': a quarter of the features, at least 1 and at most 8.
_AUTO_CODE_FRACTION, _AUTO_CODE_MAX = 4, 8
# Members' code widths spread over [0.5, 1.5] times n_components, their
# hidden widths over [0.5, 1] times the network's.
_CODE_SPREAD, _WIDTH_SPREAD = (0.5, 1.5), (0.5, 1.0)


def _spread(bounds, n_members):
    """``n_members`` factors evenly over ``bounds`` (their midpoint for one)."""
    return np.linspace(*bounds, n_members) if n_members > 1 else [np.mean(bounds)]


def _n_flaggable(n_calibration, false_alarm_rate):
    """How many of the p-values ``j / (n + 1)``, ``j = 1 .. n``, are at most the rate.

    Exact, with no slack: ``floor((n + 1) alpha)`` in rational arithmetic on
    the float ``alpha``, plus one when the next p-value, computed in float
    as :meth:`AutoencoderOutlierDetector.p_values` computes it, rounds to
    ``alpha`` or below. So a row is flagged exactly when the p-value it is
    given is at most ``false_alarm_rate``.
    """
    alpha = float(false_alarm_rate)
    n_below = math.floor((n_calibration + 1) * Fraction(alpha))
    if (n_below + 1.0) / (n_calibration + 1.0) <= alpha:
        n_below += 1
    return min(n_below, n_calibration)


def _conformal_rank(n_calibration, false_alarm_rate):
    """``k = ceil((n + 1)(1 - alpha))``: the rank of the split-conformal quantile.

    The threshold is the ``k``-th smallest of the ``n`` calibration anomaly
    scores; it exists only when ``k <= n``. It is ``n + 1`` minus the number
    of p-values at most ``alpha`` (:func:`_n_flaggable`), computed exactly.
    """
    return n_calibration + 1 - _n_flaggable(n_calibration, false_alarm_rate)


def _min_calibration_rows(false_alarm_rate):
    """The fewest calibration rows for which the rank exists (about ``1 / alpha - 1``)."""
    n_calibration = max(1, math.ceil(1 / Fraction(float(false_alarm_rate))) - 1)
    while n_calibration > 1 and _n_flaggable(n_calibration - 1, false_alarm_rate) >= 1:
        n_calibration -= 1
    return n_calibration


def _cut_points(scores):
    """The distinct values of ``scores``, and the points half-way between them.

    ``cuts[i]`` lies half-way between ``distinct[i - 1]`` and ``distinct[i]``;
    ``cuts[0]`` is as far below the lowest value, and ``cuts[-1]`` as far above
    the highest, as the nearest other value (1 away for a single value).
    """
    distinct = np.unique(np.asarray(scores, dtype=np.float64))
    gaps = np.diff(distinct)
    ends = (gaps[0], gaps[-1]) if gaps.size else (1.0, 1.0)
    edges = np.concatenate([[distinct[0] - ends[0]], distinct, [distinct[-1] + ends[1]]])
    return distinct, edges[:-1] + np.diff(edges) / 2


def _between_scores(scores, value):
    """The threshold of a rule that picked ``value``, placed between two of ``scores``.

    The same rows of ``scores`` are below the result as below ``value``, but
    the result is half-way between the highest of them and the lowest score
    at or above ``value``: no row lies on the threshold, so rounding a row's
    score differently (float products vary in the last digit with the
    number of rows in a batch) cannot move the row across it.
    """
    distinct, cuts = _cut_points(scores)
    return float(cuts[np.searchsorted(distinct, value, side="left")])


def _conformal_offset(calibration_scores, false_alarm_rate):
    """The split-conformal threshold on ``score_samples``.

    With ``n`` calibration scores (lower is more abnormal) and ``k`` from
    :func:`_conformal_rank`, the rule picks the ``(n + 1 - k)``-th smallest
    score, the ``k``-th smallest anomaly score negated, and
    :func:`_between_scores` puts the threshold half-way below it: a row
    scoring below it is flagged exactly when its conformal p-value
    (:func:`_conformal_p_values`) is at most ``false_alarm_rate``.
    """
    n_calibration = len(calibration_scores)
    rank = _conformal_rank(n_calibration, false_alarm_rate)
    return _between_scores(calibration_scores,
                           np.sort(calibration_scores)[n_calibration - rank])


def _conformal_p_values(calibration_scores, scores):
    """``(1 + m) / (n + 1)``, ``m`` the calibration scores each of ``scores`` reaches.

    A score reaches a calibration score when it is at or above the point
    half-way down to the next lower calibration score (:func:`_cut_points`),
    so a calibration row scored again, with its score rounded differently,
    still counts itself. Counting from below the scores only raises the
    p-values, which keeps them valid.
    """
    distinct, cuts = _cut_points(calibration_scores)
    row_cuts = np.sort(cuts[np.searchsorted(distinct, calibration_scores)])
    reached = np.searchsorted(row_cuts, scores, side="right")
    return (1.0 + reached) / (len(calibration_scores) + 1.0)


def _contamination_offset(scores, contamination):
    """The threshold on the training ``scores`` (lower is more abnormal) of ``contamination``."""
    if contamination == "auto":  # Tukey's fence on the anomaly score -scores
        q1, q3 = np.percentile(scores, [25, 75])
        return float(q1 - _FENCE * (q3 - q1))
    if contamination == "mean_std":
        return float(scores.mean() - scores.std())
    return float(np.percentile(scores, 100.0 * contamination))


def _robust_scale(scores):
    """Spread of each column of ``scores`` (rows x members): the IQR, else the std, else 1."""
    q1, q3 = np.percentile(scores, [25, 75], axis=0)
    spread = q3 - q1
    spread = np.where(spread > 0, spread, scores.std(axis=0))
    return np.where(spread > 0, spread, 1.0)


def _calibrated(detector):
    """Whether ``detector`` calibrates its threshold, so has :meth:`p_values`."""
    if detector.false_alarm_rate is None:
        raise AttributeError(
            "p_values needs calibration scores: set false_alarm_rate (the held-out "
            "share is calibration_fraction) and fit the detector."
        )
    return True


_OWN_PARAMETERS = {
    "contamination": (
        "'auto', 'mean_std' or float",
        """\
        How the threshold ``offset_`` is set from the training data. A float
        in (0, 0.5] is the expected share of outliers: ``offset_`` is that
        percentile of the training scores, so that share of the training rows
        is predicted -1, as in :class:`~sklearn.ensemble.IsolationForest`.
        ``'auto'`` is a box-plot fence: a row is an outlier when its anomaly
        score lies more than one interquartile range above the upper
        quartile of the training anomaly scores. It assumes no share: on
        clean data it flags a few percent of the rows (about as many as
        IsolationForest's ``'auto'``), and on contaminated data the rows that
        stand out. ``'mean_std'`` is the rule of reconstruction-error
        tutorials: an anomaly score above the mean plus one standard
        deviation of the training scores (on clean data about 16 % of the
        rows). With ``false_alarm_rate`` set, the threshold comes from the
        calibration rows instead, and ``contamination`` must be left at
        ``'auto'``.""",
    ),
    "false_alarm_rate": (
        "float in (0, 1) or None",
        """\
        Set the threshold for this target false-alarm rate, by split-conformal
        calibration, instead of by ``contamination``. ``fit`` holds out
        ``calibration_fraction`` of the training rows at random, fits the
        ensemble (input scaling, weights, member scales) on the other rows
        only, and scores the held-out rows (``calibration_scores_``). A row
        is then predicted -1 exactly when its conformal p-value
        (:meth:`p_values`) is at most ``false_alarm_rate``: with ``n``
        calibration scores, ``threshold_`` is half-way between the ``k``-th
        smallest calibration anomaly score and the next larger one,
        ``k = ceil((n + 1)(1 - false_alarm_rate))`` in exact arithmetic.
        When the calibration rows and new inliers are exchangeable (clean
        training data from the distribution to be monitored), the chance
        that a new inlier is flagged is at most ``false_alarm_rate``, over
        the draw of the calibration rows and of the new row, whatever the
        network learned; a single fit's rate on many inliers scatters around
        it by about ``sqrt(rate * (1 - rate) / n)``. Outliers among the
        calibration rows make the threshold less strict when they score
        below the inliers. A float ``contamination`` is the other way to set
        the same threshold, so the pair raises a ``ValueError``. ``None``
        keeps the threshold of ``contamination`` and has no
        :meth:`p_values`.""",
    ),
    "calibration_fraction": (
        "float in (0, 1)",
        """\
        Share of the training rows (rounded up) held out of training to
        calibrate the threshold when ``false_alarm_rate`` is set, as
        ``validation_fraction`` is the share held out when
        ``early_stopping=True``. More calibration rows make each fit's false-alarm rate
        closer to the target and leave fewer rows to train on. There must be
        at least ``1 / false_alarm_rate - 1`` of them (19 for a rate of
        0.05): with fewer, every p-value is above the rate and no threshold
        exists.""",
    ),
    "n_estimators": (
        "int",
        """\
        Number of autoencoders in the ensemble. Their code widths spread
        over 0.5 to 1.5 times ``n_components`` and, with a
        :class:`~skae.DenseNetwork`, their hidden widths over 0.5 to 1 times
        the network's; each starts from its own random weights. A dense
        ensemble is one network with stacked weights, so it trains and scores
        at about the cost of one network of its total width; other networks
        run their members one after another. ``1`` is a single autoencoder.""",
    ),
    "max_samples": (
        "'auto', int or float",
        """\
        Rows the ensemble trains on, drawn at random without replacement:
        an int is a number of rows, a float in (0, 1] a share of them, and
        ``'auto'`` is ``min(n_samples, 4096)``. With the budget in
        ``max_steps`` this bounds the cost of training whatever the size of
        the table; the threshold and the score scales are still computed on
        every row (with ``false_alarm_rate``: the scales on every row not
        held out, the threshold on the held-out rows).""",
    ),
    "trim_fraction": (
        "float in [0, 0.5)",
        """\
        Share of the rows of every training batch, those each member
        reconstructs worst, left out of its loss. The training data holds
        outliers; trimming keeps the members from learning to reconstruct
        them too.""",
    ),
    "objective": (
        "'reconstruction', 'vae' or an objective object",
        """\
        What every member is trained to minimise, and so its score of a row.
        ``'reconstruction'`` (:class:`~skae.Reconstruction`): the
        deterministic autoencoder of :class:`~skae.AutoencoderTransformer`,
        whose score of a row is its negative mean reconstruction error over
        the features. :class:`~skae.VAE` (``'vae'`` is ``VAE()``): the
        variational autoencoder of :class:`~skae.VAETransformer` (dense
        networks only), with the object's ``beta`` and
        ``kl_warmup_epochs``, whose score of a row is its evidence lower
        bound (ELBO), rewarding rows the decoder reconstructs well from
        codes the prior finds likely. :class:`~sklearn.model_selection.GridSearchCV`
        can tune ``objective__beta``.""",
    ),
    "backbone": (
        "{'autoencoder', 'vae'}",
        """\
        Deprecated since 0.4, removed in 0.5: ``backbone='autoencoder'`` is
        ``objective='reconstruction'`` and ``backbone='vae'`` is
        ``objective='vae'``.""",
    ),
    "n_components": (
        "int or 'auto'",
        """\
        Middle code width of the members. ``'auto'`` is a quarter of the
        number of features, at least 1 and at most 8
        (``min(8, max(1, n_features // 4))``): a narrow code keeps the
        members from reconstructing the outliers too.""",
    ),
    "max_steps": (
        "int",
        """\
        Training budget in optimiser steps (mini-batches). It is a
        deliberate budget, since long training learns to reconstruct the
        outliers too, so a training loss still falling at the budget is
        expected, and reaching it gives a ``ConvergenceWarning`` only when
        there were fewer than 20 steps, too few to judge, or with
        ``early_stopping=True`` when the training loss had not settled (its
        mean over the last fifth of the steps more than 5 % below that over
        the fifth before).""",
    ),
    "beta": (
        "float",
        """\
        Deprecated since 0.4, removed in 0.5: use
        ``objective=VAE(beta=...)``.""",
    ),
    "kl_warmup_epochs": (
        "int",
        """\
        Deprecated since 0.4, removed in 0.5: use
        ``objective=VAE(kl_warmup_epochs=...)``.""",
    ),
}

@fill_doc(_OWN_PARAMETERS)
class AutoencoderOutlierDetector(OutlierMixin, _BaseAutoencoder):
    """Unsupervised outlier detection with an ensemble of autoencoders.

    A drop-in for :class:`~sklearn.ensemble.IsolationForest`: an ensemble of
    small autoencoders learns to reconstruct the bulk of the training data,
    and rows they reconstruct badly are outliers. Each member's score of a
    row (its negative reconstruction error, or its ELBO with
    ``objective='vae'``) is divided by the spread (interquartile range) of
    that member's scores on the training data, and ``score_samples`` is the
    mean over the members: lower is more abnormal. ``decision_function`` is
    ``score_samples - offset_`` (negative for outliers) and ``predict`` gives
    +1 for inliers and -1 for outliers. :meth:`feature_errors` tells which
    columns made a row abnormal. Inputs are min-max scaled inside by default,
    so raw tabular data works as it is.

    The threshold ``offset_`` is set by ``contamination``, or, with
    ``false_alarm_rate``, calibrated on rows held out of training so that
    the chance that a new inlier is flagged is at most that rate;
    :meth:`p_values` then gives conformal p-values.

    Training is bounded like IsolationForest's: ``max_steps`` optimiser
    steps on at most ``max_samples`` rows, with a loss that leaves out the
    worst reconstructed rows of every batch (``trim_fraction``), so the cost
    of ``fit`` is about the same for a table of 300 rows and one of 600,000,
    apart from scoring every row once.

    Parameters
    ----------
    {parameters}

    Attributes
    ----------
    offset_ : float
        The threshold on ``score_samples``: ``decision_function(X) =
        score_samples(X) - offset_``. Whatever the rule, it lies half-way
        between the two consecutive distinct training (with
        ``false_alarm_rate``, calibration) scores around the value the rule
        picks, with the same rows below it: no row it was set on lies on
        it, so a row's label does not change with the last-digit rounding
        of its score, which varies with the rows it is scored with.

    threshold_ : float
        The same threshold on the anomaly score ``-score_samples(X)``: rows
        whose anomaly score is above ``threshold_`` are outliers. The anomaly
        score is the members' mean reconstruction error (with
        ``objective='vae'``, negative ELBO), each in units of the spread of
        that member's training scores. Equal to ``-offset_``.

    calibration_scores_ : ndarray of shape (n_calibration,)
        With ``false_alarm_rate`` only: ``score_samples`` of the rows held out
        for calibration, in the order of ``calibration_indices_``. They set
        ``offset_`` and :meth:`p_values`.

    calibration_indices_ : ndarray of shape (n_calibration,)
        With ``false_alarm_rate`` only: the positions, in the training data
        (after :meth:`partial_fit`, in its latest chunk), of the rows held out
        for calibration (sorted). The ensemble never saw them in training.

    member_scale_ : ndarray of shape (n_estimators,)
        The spread (interquartile range) of each member's training scores,
        which divides its scores before they are averaged.

    member_n_components_ : list of int
        The code width of each member.

    {autoencoder_attributes}

    reconstruction_loss_curve_, kl_loss_curve_ : list of float
        With ``objective='vae'`` only: per epoch, the two parts of the
        training loss, as in :class:`~skae.VAETransformer`.

    See Also
    --------
    sklearn.ensemble.IsolationForest : Outlier detection with random trees.
    sklearn.neighbors.LocalOutlierFactor : Outlier detection by local density.
    sklearn.decomposition.PCA : The linear reconstruction, a baseline for the
        reconstruction error.
    AutoencoderTransformer : The autoencoder as a transformer.

    References
    ----------
    J. Chen, S. Sathe, C. Aggarwal and D. Turaga, "Outlier Detection with
    Autoencoder Ensembles", SDM 2017.

    X. Ding, L. Zhao and L. Akoglu, "Hyperparameter Sensitivity in Deep
    Outlier Detection: Analysis and a Scalable Hyper-Ensemble Solution",
    NeurIPS 2022.

    Examples
    --------
    >>> import numpy as np
    >>> from skae import AutoencoderOutlierDetector
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(500, 2)) @ rng.normal(size=(2, 10))
    >>> X[:5] += 6 * rng.normal(size=(5, 10))
    >>> detector = AutoencoderOutlierDetector(contamination=0.02, random_state=0)
    >>> labels = detector.fit_predict(X)
    >>> labels[:5]
    array([-1, -1, -1, -1, -1])
    >>> detector.feature_errors(X[:1]).shape
    (1, 10)
    """

    _parameter_constraints: ClassVar[dict] = {
        "contamination": [StrOptions({"auto", "mean_std"}),
                          Interval(Real, 0, 0.5, closed="right")],
        "false_alarm_rate": [Interval(Real, 0, 1, closed="neither"), None],
        "calibration_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "max_samples": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left"),
                        Interval(Real, 0, 1, closed="right")],
        "trim_fraction": [Interval(Real, 0, 0.5, closed="left")],
        "objective": [StrOptions(set(OBJECTIVE_SHORTHANDS)), BaseObjective],
        **SHARED_PARAMETER_CONSTRAINTS,
        **CATEGORICAL_PARAMETER_CONSTRAINTS,
        # Deprecated spellings (skae._deprecation).
        "backbone": [StrOptions({"autoencoder", "vae"}), DEPRECATED_CONSTRAINT],
        **{name: [*constraint, DEPRECATED_CONSTRAINT]
           for name, constraint in VARIATIONAL_PARAMETER_CONSTRAINTS.items()},
        "n_components": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        *,
        contamination="auto",
        false_alarm_rate=None,
        calibration_fraction=0.2,
        n_estimators=8,
        max_samples="auto",
        trim_fraction=0.2,
        objective="reconstruction",
        n_components="auto",
        network="dense",
        output_activation="auto",
        loss="mae",
        noise_std=0.0,
        mask_probability=0.0,
        scaling="minmax",
        categorical_features=None,
        handle_unknown="max_error",
        optimizer="adam",
        learning_rate=3e-3,
        weight_decay=0.0,
        batch_size=128,
        max_steps=500,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=50,
        tol=1e-4,
        device="auto",
        n_jobs=None,
        compile=False,
        callbacks=None,
        random_state=None,
        verbose=0,
        backbone=DEPRECATED,
        beta=DEPRECATED,
        kl_warmup_epochs=DEPRECATED,
    ):
        self.contamination = contamination
        self.false_alarm_rate = false_alarm_rate
        self.calibration_fraction = calibration_fraction
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.trim_fraction = trim_fraction
        self.objective = objective
        self.n_components = n_components
        self.network = network
        self.output_activation = output_activation
        self.loss = loss
        self.noise_std = noise_std
        self.mask_probability = mask_probability
        self.scaling = scaling
        self.categorical_features = categorical_features
        self.handle_unknown = handle_unknown
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_steps = max_steps
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.device = device
        self.n_jobs = n_jobs
        self.compile = compile
        self.callbacks = callbacks
        self.random_state = random_state
        self.verbose = verbose
        self.backbone = backbone
        self.beta = beta
        self.kl_warmup_epochs = kl_warmup_epochs

    @property
    def _objective(self):
        # The objective object names the stateless objective that trains.
        return detector_objective(self, warn=False).trains

    def _training_parameters(self):
        # The objective's own settings (beta, kl_warmup_epochs) beside the
        # detector's parameters, where the objective reads them.
        return {**super()._training_parameters(),
                **detector_objective(self).get_params(deep=False)}

    def _shorthand_objects(self):
        return {**super()._shorthand_objects(), "objective": resolve_objective}

    def _resolved_n_components(self, n_features):
        if self.n_components == "auto":
            return min(_AUTO_CODE_MAX, max(1, n_features // _AUTO_CODE_FRACTION))
        return super()._resolved_n_components(n_features)

    def _train(self, X, partial=False):
        # With false_alarm_rate the ensemble is fitted on the rows that are
        # not held out for calibration, scaling included, so that it does not
        # depend on the calibration rows (the premise of the conformal
        # guarantee); _fitted_extras scores the held-out rows.
        if self.false_alarm_rate is None:
            return super()._train(X, partial)
        if self.contamination != "auto":
            raise ValueError(
                f"contamination={self.contamination!r} and false_alarm_rate="
                f"{self.false_alarm_rate!r} are two rules for the same threshold: set "
                "contamination='auto' (the default) to calibrate the threshold at "
                "false_alarm_rate, or false_alarm_rate=None to set it by contamination."
            )
        kept, held_out = self._calibration_split(X.shape[0], draw_seed(self.random_state))
        fitted, budget_spent = super()._train(X[kept], partial)
        return {**fitted, "calibration_indices_": held_out}, budget_spent

    def _calibration_split(self, n_samples, seed):
        """Positions of the training rows and of the calibration rows, each sorted."""
        n_calibration = math.ceil(self.calibration_fraction * n_samples)
        if n_calibration >= n_samples:
            raise ValueError(
                f"calibration_fraction={self.calibration_fraction} of n_samples = "
                f"{n_samples} holds out {n_calibration} rows for calibration, which "
                "leaves none to train on; give more rows or lower calibration_fraction."
            )
        if _conformal_rank(n_calibration, self.false_alarm_rate) > n_calibration:
            needed = _min_calibration_rows(self.false_alarm_rate)
            raise ValueError(
                f"false_alarm_rate={self.false_alarm_rate} needs at least {needed} "
                f"calibration rows, but calibration_fraction={self.calibration_fraction} "
                f"of n_samples = {n_samples} holds out {n_calibration}: with fewer, "
                "every p-value is above the rate and no threshold meets it. Give more "
                "rows, or raise calibration_fraction or false_alarm_rate."
            )
        # A stream of its own, apart from the draws of the fit that follows.
        rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])
        order = rng.permutation(n_samples)
        return np.sort(order[n_calibration:]), np.sort(order[:n_calibration])

    def _training_rows(self, X, seed):
        n_samples = X.shape[0]
        if self.max_samples == "auto":
            n_rows = min(n_samples, _AUTO_MAX_SAMPLES)
        elif isinstance(self.max_samples, Integral):
            n_rows = min(n_samples, self.max_samples)
        else:
            n_rows = max(1, int(self.max_samples * n_samples))
        if n_rows >= n_samples:
            return X
        rows = np.random.RandomState(seed).choice(n_samples, n_rows, replace=False)
        return X[np.sort(rows)]

    def _build_module(self, plan):
        # Pair the spread of code widths with the spread of hidden widths at
        # random, so that wide codes do not all go with wide networks.
        # Codes wider than the input are left to an explicit n_components.
        widest = max(plan.n_components, plan.n_features)
        codes = [min(widest, max(1, round(plan.n_components * factor)))
                 for factor in _spread(_CODE_SPREAD, self.n_estimators)]
        codes = [int(code) for code in np.random.RandomState(plan.seed).permutation(codes)]
        members = list(zip(codes, _spread(_WIDTH_SPREAD, self.n_estimators)))
        module = plan.objective.build_ensemble(plan.network, plan.n_features, members,
                                               plan.params, plan.output_activation)
        return module, max(codes)

    def _falling_loss_is_unsettled(self):
        # max_steps is a deliberate budget here: a longer fit learns to
        # reconstruct the outliers too, so a training loss still falling at
        # the budget is expected and "raise max_steps" would be bad advice,
        # unless early stopping was asked for.
        return bool(self.early_stopping)

    def _score_samples(self, X, fitted=None):
        fitted = vars(self) if fitted is None else fitted
        return combined_scores(self._objective_scores(X, fitted), fitted["member_scale_"])

    def _fitted_extras(self, X, fitted):
        member_scores = self._objective_scores(X, fitted)
        held_out = fitted.get("calibration_indices_")
        extras = {"member_n_components_": list(fitted["net_"].module_.code_widths)}
        if held_out is None:
            member_scale = _robust_scale(member_scores)
            scores = combined_scores(member_scores, member_scale)
            offset = _between_scores(scores, _contamination_offset(scores, self.contamination))
        else:
            member_scale = _robust_scale(np.delete(member_scores, held_out, axis=0))
            calibration_scores = combined_scores(member_scores[held_out], member_scale)
            offset = _conformal_offset(calibration_scores, self.false_alarm_rate)
            extras["calibration_scores_"] = calibration_scores
        return {**extras, "member_scale_": member_scale, "offset_": offset,
                "threshold_": -offset}

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the ensemble to ``X`` and set the outlier threshold.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. It may contain outliers.
        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        self : object
            The fitted detector.
        """
        return self._fit(X)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Train on one more chunk of rows, then set the threshold from that chunk.

        As :meth:`AutoencoderTransformer.partial_fit
        <skae.AutoencoderTransformer.partial_fit>`: the first call fixes the
        input scaling from its chunk, and every call does one epoch over the
        chunk's training rows (at most ``max_samples`` of them, drawn anew
        for each chunk), continuing the same ensemble and optimiser state.
        After each call, ``member_scale_``, ``offset_`` and ``threshold_``
        are computed as ``fit`` computes them, from the scores of every row
        of the latest chunk, by the model as it now is: the threshold
        follows the model, and chunks should be large enough to set it (a
        few hundred rows). With ``false_alarm_rate``, each chunk holds out
        ``calibration_fraction`` of its rows from training, and the
        threshold is calibrated on the held-out rows of the latest chunk.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            A chunk of training data. It may contain outliers.
        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        self : object
            The detector, trained one more epoch.
        """
        return self._partial_fit(X)

    def score_samples(self, X):
        """Score of every sample; lower is more abnormal.

        The mean over the members of each member's score divided by
        ``member_scale_``. A member's score is its negative reconstruction
        error (the mean over features of ``loss``, absolute error by
        default, in the scaled space the network was trained in; over the
        observed features of a row with missing values), or with
        ``objective='vae'`` its ELBO, as in
        :meth:`VAETransformer.score_samples <skae.VAETransformer.score_samples>`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            Float64 scores.
        """
        return self._score_samples(self._validate_input(X, reset=False))

    def decision_function(self, X):
        """Shifted score: negative for outliers, positive for inliers.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to score.

        Returns
        -------
        decision : ndarray of shape (n_samples,)
            ``score_samples(X) - offset_``, float64.
        """
        return decisions(self.score_samples(X), self.offset_)

    def predict(self, X):
        """Label every sample as inlier (+1) or outlier (-1).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to label.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            +1 where ``decision_function(X) >= 0``, -1 elsewhere.
        """
        return labels(self.decision_function(X))

    @available_if(_calibrated)
    def p_values(self, X):
        """Conformal p-value of every sample; small values are evidence of an outlier.

        The p-value of a row is ``(1 + m) / (n + 1)``, where ``n`` is the
        number of calibration scores (``calibration_scores_``) and ``m`` the
        number of them the row's score reaches (as abnormal or more), a
        score reaching a calibration score when it is above the point
        half-way down to the next lower calibration score: so a row's
        p-value does not depend on the rounding of its score, which varies
        in the last digit with the rows it is scored with. For a
        new inlier exchangeable with the calibration rows it is a valid
        p-value: the chance that it is at most ``t`` is at most ``t``, so on
        inliers the p-values are spread about evenly over (0, 1], and rows
        abnormal beyond every calibration row get the smallest,
        ``1 / (n + 1)``. ``predict`` gives -1 exactly where the p-value is at
        most ``false_alarm_rate``. Available with ``false_alarm_rate`` set.

        To flag outliers in a batch while bounding the expected share of
        inliers among the flagged rows (the false discovery rate), rather
        than the false-alarm rate of each row, apply the Benjamini-Hochberg
        procedure to the p-values with
        :func:`scipy.stats.false_discovery_control` (see the example).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to test.

        Returns
        -------
        p_values : ndarray of shape (n_samples,)
            Float64 p-values in ``[1 / (n + 1), 1]``.

        See Also
        --------
        scipy.stats.false_discovery_control : Benjamini-Hochberg adjusted
            p-values.

        Examples
        --------
        >>> import numpy as np
        >>> from scipy.stats import false_discovery_control
        >>> from skae import AutoencoderOutlierDetector
        >>> rng = np.random.RandomState(0)
        >>> mixing = rng.normal(size=(2, 6))
        >>> X_train = rng.normal(size=(300, 2)) @ mixing
        >>> detector = AutoencoderOutlierDetector(
        ...     false_alarm_rate=0.05, calibration_fraction=0.3, random_state=0
        ... ).fit(X_train)
        >>> X_new = rng.normal(size=(20, 2)) @ mixing
        >>> X_new[:3] += 10
        >>> p = detector.p_values(X_new)
        >>> bool(np.all(p[:3] == 1 / 91))
        True
        >>> flagged = false_discovery_control(p) <= 0.1  # BH at a 10 % FDR
        >>> np.flatnonzero(flagged)
        array([0, 1, 2])
        """
        check_is_fitted(self, "calibration_scores_",
                        msg="This %(name)s instance has no calibration scores: fit it "
                            "with false_alarm_rate set before calling p_values.")
        return _conformal_p_values(self.calibration_scores_, self.score_samples(X))

    def feature_errors(self, X):
        """Reconstruction error of every feature of every sample.

        The columns with the largest errors are the ones that made a row
        abnormal. Each member's error of an entry is measured in the scaled
        space (by default each feature's training range is [0, 1]) and
        divided by ``member_scale_``, and the members are averaged, so
        columns are comparable. With the reconstruction objective their
        mean over features is ``-score_samples(X)``; with the VAE they are
        the errors of the decoded posterior means. A missing (NaN) entry's
        error is NaN.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to explain.

        Returns
        -------
        errors : ndarray of shape (n_samples, n_features_in_)
            Float64 per-feature errors; wrap them with
            ``pandas.DataFrame(errors, columns=detector.feature_names_in_)``
            to label the columns.
        """
        X = self._validate_input(X, reset=False)
        # The members' mean of their scaled errors, as one product over the
        # member axis (no weighted copy of every member's errors).
        weights = torch.as_tensor(1.0 / (self.member_scale_ * len(self.member_scale_)))

        def errors(scorer, inputs, target):
            entries = scorer.reconstruction_errors(inputs, target)
            return torch.tensordot(weights.to(entries), entries, dims=1)

        errors = map_batches(vars(self), X, errors, n_jobs=self.n_jobs).astype(np.float64)
        encoding = fitted_encoding(vars(self))  # one error per column
        return errors if encoding is None else encoding.column_errors(errors)

