"""Sphinx configuration of the skae documentation.

Builds offline: no intersphinx, no remote themes, no math renderer from a CDN.
Build with ``python -m sphinx -W --keep-going -b html docs docs/_build/html``.
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the package and the benchmarks, from this checkout

import skae

project = "skae"
author = "the skae developers"
copyright = "the skae developers, BSD-3-Clause"
version = release = skae.__version__

extensions = ["sphinx.ext.autodoc", "numpydoc"]

# numpydoc: no autosummary tables of members (they would need stub pages) and
# no cross-referencing of parameter types (its aliases point at intersphinx).
numpydoc_show_class_members = False
numpydoc_xref_param_type = False
autodoc_default_options = {"members": True, "inherited-members": False}
autodoc_member_order = "bysource"

templates_path = []
exclude_patterns = ["_build"]
html_theme = "alabaster"
html_theme_options = {"description": "scikit-learn compatible autoencoders",
                      "fixed_sidebar": True}
html_static_path = []


_FIELD = re.compile(r"^(\s*[\w*, ]+ : )(.*)$")
_TRAILING_UNDERSCORE = re.compile(r"(\w)_(?=[,)\s]|$)")


def _escape_fitted_names_in_types(app, what, name, obj, options, lines):
    """Escape ``n_features_in_`` and the like in the type of a numpydoc field.

    In ``ndarray of shape (n_samples, n_features_in_)`` reST would read
    ``n_features_in_`` as a link to a target that does not exist. Runs before
    numpydoc, on the raw docstring; descriptions are left alone.
    """
    for i, line in enumerate(lines):
        match = _FIELD.match(line)
        if match:
            lines[i] = match.group(1) + _TRAILING_UNDERSCORE.sub(r"\1\\_", match.group(2))


def setup(app):
    app.connect("autodoc-process-docstring", _escape_fitted_names_in_types, priority=400)
