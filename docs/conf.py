"""Sphinx configuration of the skae documentation.

Builds offline, warnings as errors::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

Nothing is fetched at build time: the intersphinx inventories are files in
``docs/_inventories`` (``python docs/_inventories/generate.py`` rewrites them
from the installed packages), MathJax is bundled by ``sphinx-mathjax-offline``,
and the theme ships its assets. The example gallery (``examples/*.py``) is
executed by sphinx-gallery on every build; its output, ``docs/auto_examples``,
and the API stubs, ``docs/generated``, are written by the build and not
committed.
"""

import os
import re
import sys
import warnings
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the package and the benchmarks, from this checkout
sys.path.insert(0, str(ROOT / "docs" / "_ext"))  # this site's own extensions

os.environ.setdefault("MPLBACKEND", "Agg")  # examples draw off-screen
from sklearn.exceptions import ConvergenceWarning

import skae

# The examples run in this process. Their networks are small: one torch thread
# trains them as fast as two on a 2-core CI machine, and far faster when other
# jobs share the cores. (scikit-learn's own threads, t-SNE's say, are left be.)
torch.set_num_threads(1)

project = "skae"
author = "the skae developers"
copyright = "the skae developers, BSD-3-Clause"
version = release = skae.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "sphinx_copybutton",
    "sphinx_design",
    "myst_parser",  # CHANGELOG.md and CONTRIBUTING.md, included unchanged
    "results",  # the :result: role: figures read from benchmarks/results/*.json
]
# Pages are reST; Markdown files are only ever included.
source_suffix = {".rst": "restructuredtext"}
myst_heading_anchors = 3

templates_path = ["_templates"]
exclude_patterns = ["_build", "_inventories", "auto_examples/*.ipynb",
                    "auto_examples/*.py", "auto_examples/*.zip"]

# -- API reference: one page per object, written by autosummary ----------------
autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"members": True, "inherited-members": True}
autodoc_member_order = "groupwise"
autodoc_typehints = "none"  # the numpydoc sections say the types

# numpydoc lists the methods (inherited ones included) in a table at the top of
# each class page; each links to the method documented below it on that page.
numpydoc_show_class_members = True
numpydoc_show_inherited_class_members = True
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
# Link the types of parameters ("array-like of shape (n_samples, n_features)",
# "int, default=None") to their documentation, through the inventories below.
numpydoc_xref_param_type = True
numpydoc_xref_aliases = {
    "array-like": ":term:`array-like <array-like>`",
    "sparse matrix": ":term:`sparse matrix <sparse matrix>`",
    "ndarray": "numpy.ndarray",
    "RandomState": "numpy.random.RandomState",
    "Generator": "numpy.random.Generator",
    "DataFrame": "pandas.DataFrame",
    "estimator": ":term:`estimator <estimator>`",
    "Pipeline": "sklearn.pipeline.Pipeline",
    "Callback": "skorch.callbacks.Callback",
    "NeuralNet": "skorch.net.NeuralNet",
    "Module": "torch.nn.Module",
    "Tensor": "torch.Tensor",
    "path-like": "os.PathLike",
    "PathLike": "os.PathLike",
    "Path": "pathlib.Path",
    "Axes": "matplotlib.axes.Axes",
    "Figure": "matplotlib.figure.Figure",
    "MetadataRequest": "sklearn.utils.metadata_routing.MetadataRequest",
    "AutoencoderTransformer": "skae.AutoencoderTransformer",
    "VAETransformer": "skae.VAETransformer",
    "AutoencoderOutlierDetector": "skae.AutoencoderOutlierDetector",
    "DenseNetwork": "skae.DenseNetwork",
    "ConvNetwork": "skae.ConvNetwork",
    "LSTMNetwork": "skae.LSTMNetwork",
}
numpydoc_xref_ignore = {"of", "or", "and", "shape", "default", "optional", "instance",
                        "n_samples", "n_features", "n_components", "n_features_in_",
                        "n_outputs", "n_estimators", "n_epochs", "n_steps", "n_windows",
                        "n_time", "window_length", "like", "object", "type", "the", "same",
                        "as", "values", "positive", "non-negative", "in", "a", "an", "one",
                        "any", "with", "to", "each", "per", "row", "rows", "from", "its",
                        "if", "is", "not", "none", "all", "Torch", "dtype", "value",
                        "length", "by", "{", "}", "network", "objects", "skorch",
                        "callbacks", "Ignored", "n_features_new", "n_bins", "fitted",
                        "n_rows", "n_columns", "error", "reconstruction", "feature"}

# -- Links into other projects' documentation, from committed inventories ------
_INV = "_inventories/{}.inv"
intersphinx_mapping = {
    "python": ("https://docs.python.org/3/", _INV.format("python")),
    "numpy": ("https://numpy.org/doc/stable/", _INV.format("numpy")),
    "sklearn": ("https://scikit-learn.org/stable/", _INV.format("sklearn")),
    "torch": ("https://docs.pytorch.org/docs/stable/", _INV.format("torch")),
    "skorch": ("https://skorch.readthedocs.io/en/stable/", _INV.format("skorch")),
    "pandas": ("https://pandas.pydata.org/docs/", _INV.format("pandas")),
    "scipy": ("https://docs.scipy.org/doc/scipy/", _INV.format("scipy")),
    "matplotlib": ("https://matplotlib.org/stable/", _INV.format("matplotlib")),
    "dask": ("https://docs.dask.org/en/stable/", _INV.format("dask")),
    "onnx": ("https://onnx.ai/onnx/", _INV.format("onnx")),
}
intersphinx_disabled_reftypes = []
intersphinx_timeout = 1

# -- The example gallery ---------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",  # run every plot_*.py example at each build
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "backreferences_dir": "generated/backreferences",
    "doc_module": ("skae",),
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "expected_failing_examples": [],
    "show_memory": False,
    "min_reported_time": 1,
    # The execution-time pages load their table styles from a CDN; the site
    # loads nothing from the network, so they are not written.
    "write_computation_times": False,
}
# A warning printed by an example (a ConvergenceWarning, say) would pass
# unnoticed in the gallery; make it fail the build instead: every warning
# that skae issues, and scikit-learn's ConvergenceWarning from any estimator.
warnings.filterwarnings("error", category=Warning, module=r"skae(\..*)?")
warnings.filterwarnings("error", category=ConvergenceWarning)
warnings.filterwarnings("ignore", message=".*Matplotlib is currently using agg.*")

# -- HTML output -------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skae {release}"
html_static_path = ["_static"]
html_css_files = ["skae.css"]
html_theme_options = {
    "icon_links": [{"name": "Source on GitHub", "url": "https://github.com/skae-dev/skae",
                    "icon": "fa-brands fa-github"}],
    # No version switcher: there is no hosted site of several versions to switch to.
    "navbar_end": ["navbar-icon-links", "theme-switcher"],
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "secondary_sidebar_items": ["page-toc", "sourcelink"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_sidebars = {"index": [], "getting_started": []}
# "On this page" lists an API page's methods as fit(), not AutoencoderTransformer.fit(),
# which the sidebar cuts off.
toc_object_entries_show_parents = "hide"
html_show_sourcelink = False
copybutton_prompt_text = r">>> |\.\.\. |\$ "
copybutton_prompt_is_regexp = True

# -- Nitpicky mode (python -m sphinx -n) -------------------------------------------
# Words in numpydoc types that are not objects.
nitpick_ignore_regex = [
    ("py:class", r"default=.*"),
    ("py:class", r"(shape|of|or|and|int or|float or|str or)"),
    ("py:class", r"\(.*\)"),
    ("py:class", r".*'.*"),  # option values such as {'mse', 'mae'}
    ("py:class", r"[0-9.e+-]+"),
    # Private modules, named in docstrings of developers' hooks; not documented.
    ("py:.*", r"skae\._.*"),
]


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


_SPHINX_ROLE = re.compile(r":(ref|term|doc):`([^`<]*?)\s*(<[^`]*>)?`")


def _plain_text_for_foreign_roles(app, what, name, obj, options, lines):
    """Write scikit-learn's ``:ref:`` / ``:doc:`` / ``:term:`` roles as text.

    Methods inherited from scikit-learn (``get_params``, ``set_output``, ...)
    keep their docstrings, which point at labels of scikit-learn's own site;
    those labels do not exist here.
    """
    module = getattr(obj, "__module__", "") or ""
    if not module.startswith("sklearn"):
        return
    for i, line in enumerate(lines):
        lines[i] = _SPHINX_ROLE.sub(lambda m: m.group(2) or m.group(3).strip("<>"), line)


def setup(app):
    app.connect("autodoc-process-docstring", _escape_fitted_names_in_types, priority=400)
    app.connect("autodoc-process-docstring", _plain_text_for_foreign_roles, priority=400)
