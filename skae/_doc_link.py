"""Links from an estimator's HTML representation to its API page.

scikit-learn's HTML repr (``estimator_html_repr``, the notebook display)
draws a "?" beside an estimator and each of its parameters when the class
says where its documentation is. :class:`DocLinkMixin` says so for every
skae class documented on its own API page.
"""

import sys

DOCUMENTATION_URL = "https://skae-dev.github.io/skae"


class DocLinkMixin:
    """Point the HTML repr's "?" links at the class's page of the skae API reference."""

    _doc_link_module = "skae"
    _doc_link_template = DOCUMENTATION_URL + "/generated/{estimator_module}.{estimator_name}.html"

    def _doc_link_url_param_generator(self):
        """The public module the API reference documents the class under.

        A class exported by ``skae`` itself is documented as ``skae.Name``
        wherever it is defined; any other under its public module, such as
        ``skae.preprocessing.SlidingWindows``.
        """
        name = type(self).__name__
        if getattr(sys.modules["skae"], name, None) is type(self):
            module = "skae"
        else:
            module = ".".join(part for part in type(self).__module__.split(".")
                              if not part.startswith("_"))
        return {"estimator_module": module, "estimator_name": name}
