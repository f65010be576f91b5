"""Renamed parameters, accepted with a ``FutureWarning`` for one release.

A renamed parameter stays in the signature with the default
:data:`DEPRECATED`, hidden from the constraints' messages; set to anything
else, it is read in place of its new spelling, and :func:`warn_renamed`
names the new spelling. Everything here goes in skae 0.5.
"""

import inspect
import warnings

from sklearn.base import clone
from sklearn.utils._param_validation import Hidden, StrOptions

from .objectives import VAE, resolve_objective

#: The default of a deprecated parameter: "not set".
DEPRECATED = "deprecated"

#: The constraint that lets a deprecated parameter keep its default.
DEPRECATED_CONSTRAINT = Hidden(StrOptions({DEPRECATED}))


def is_set(value):
    """Whether a deprecated parameter was given a value."""
    return not (isinstance(value, str) and value == DEPRECATED)


def warn_renamed(owner, old, new_spelling):
    """Warn that ``owner``'s parameters ``old`` (names) are deprecated for ``new_spelling``."""
    spelled = ", ".join(f"{name}=..." for name in old)
    warnings.warn(
        f"{type(owner).__name__}({spelled}) is deprecated since skae 0.4 and will be "
        f"removed in 0.5: use {new_spelling} instead.", FutureWarning, stacklevel=4)


def _default(owner, name):
    return inspect.signature(type(owner).__init__).parameters[name].default


def renamed(owner, old, new, *, warn=True):
    """The value of ``owner``'s parameter ``new``, or of its old spelling ``old`` if set.

    Warns when ``old`` is set, and raises a ValueError when ``new`` is set
    away from its default too, since the two would disagree.
    """
    value = getattr(owner, old)
    if not is_set(value):
        return getattr(owner, new)
    if getattr(owner, new) != _default(owner, new):
        raise ValueError(f"{type(owner).__name__} got {old}={value!r} and {new}="
                         f"{getattr(owner, new)!r}: set only {new} ({old} is deprecated).")
    if warn:
        warn_renamed(owner, [old], f"{new}={value!r}")
    return value


# The detector's backbone and the objective it named.
_BACKBONE_OBJECTIVES = {"autoencoder": "reconstruction", "vae": "vae"}

# The detector's settings of the variational objective, now VAE(...)'s.
_VAE_SETTINGS = ("beta", "kl_warmup_epochs")


def detector_objective(detector, *, warn=True):
    """The objective object of an ``AutoencoderOutlierDetector``, with its old spellings.

    ``backbone='autoencoder'`` / ``'vae'`` is ``objective='reconstruction'`` /
    ``'vae'``, and ``beta`` and ``kl_warmup_epochs`` are set on the
    :class:`~skae.VAE` objective (without effect on the reconstruction
    objective, as before).
    """
    if is_set(detector.backbone):
        objective = _BACKBONE_OBJECTIVES[detector.backbone]
        if detector.objective != _default(detector, "objective"):
            raise ValueError(f"{type(detector).__name__} got backbone={detector.backbone!r} "
                             f"and objective={detector.objective!r}: set only objective "
                             "(backbone is deprecated).")
        if warn:
            warn_renamed(detector, ["backbone"], f"objective={objective!r}")
    else:
        objective = detector.objective
    objective = resolve_objective(objective)
    old = {name: getattr(detector, name) for name in _VAE_SETTINGS
           if is_set(getattr(detector, name))}
    if old and isinstance(objective, VAE):
        objective = clone(objective).set_params(**old)
    if old and warn:
        effect = ("" if isinstance(objective, VAE) else
                  f" ({'they have' if len(old) > 1 else 'it has'} no effect on the "
                  "reconstruction objective)")
        warn_renamed(detector, old, f"objective={VAE(**old)!r}{effect}")
    return objective
