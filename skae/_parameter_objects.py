"""Parameters whose value is an object with parameters of its own.

``network`` (:mod:`skae.networks`) and the detector's ``objective``
(:mod:`skae.objectives`) take an object, or a string that names a default
one. :class:`ParameterObjectsMixin` lets nested parameters reach the object
from the string too: ``set_params(network__dropout=0.1)`` on an estimator
whose ``network`` is ``'dense'`` first replaces the string by a new
``DenseNetwork()``, then sets its ``dropout``. The new object belongs to the
estimator alone, so no default is shared or changed, and ``clone`` and
:class:`~sklearn.model_selection.GridSearchCV` see an ordinary object.
"""


class ParameterObjectsMixin:
    """``set_params`` that reaches the object behind a shorthand string.

    A subclass lists its parameter objects in :meth:`_shorthand_objects`.
    """

    def _shorthand_objects(self):
        """``{parameter: callable}``: each callable makes a new object from a shorthand."""
        return {}

    def set_params(self, **params):
        """Set the parameters of this estimator, as :meth:`sklearn.base.BaseEstimator.set_params`.

        A nested parameter (``network__dropout``) of a parameter that holds a
        shorthand string (``network='dense'``) is set on a new object made
        from that string, which becomes the parameter's value.

        Parameters
        ----------
        **params : dict
            Estimator parameters.

        Returns
        -------
        self : estimator instance
            Estimator instance.
        """
        for name, make in self._shorthand_objects().items():
            if not any(key.startswith(f"{name}__") for key in params):
                continue
            value = params.get(name, getattr(self, name))
            if isinstance(value, str):
                params = {**params, name: make(value)}
        return super().set_params(**params)
