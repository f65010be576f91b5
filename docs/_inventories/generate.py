"""Write the intersphinx inventories the documentation links with, offline.

The build runs without network, so Sphinx cannot download the ``objects.inv``
of Python, NumPy, scikit-learn, PyTorch, skorch, pandas and SciPy. This script
writes one for each from the packages installed here, mapping every object to
the address of its page in that project's online documentation, and
``docs/conf.py`` reads them as local files. Re-run it after upgrading one of
those packages, and commit its output::

    python docs/_inventories/generate.py

Objects are found by walking the public modules (names in ``__all__``, or
without a leading underscore); the address of each follows the layout of its
project's site (one generated page per object, as autosummary writes them).
Names whose page does not follow that layout are listed by hand below.
"""

import importlib
import inspect
import pkgutil
import warnings
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _public(module):
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in vars(module) if not n.startswith("_")]
    for name in sorted(set(names)):
        try:
            yield name, getattr(module, name)
        except AttributeError:
            continue


def _walk(package, skip=()):
    """Public submodules of ``package`` (itself included), imported."""
    yield package
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        parts = info.name.split(".")
        if any(p.startswith("_") for p in parts) or any(s in info.name for s in skip):
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                yield importlib.import_module(info.name)
        except ImportError:  # an optional dependency of that submodule is missing
            continue


def _role(obj):
    if inspect.isclass(obj):
        return "py:exception" if issubclass(obj, BaseException) else "py:class"
    if callable(obj):
        return "py:function"
    return None


def _objects(package, page, skip=()):
    """``(name, role, uri)`` of every public class, function and method.

    ``page(qualified_name)`` gives the page of a top-level object; methods and
    attributes of a class are anchors on their class's page.
    """
    seen = set()
    for module in _walk(package, skip):
        for name, obj in _public(module):
            role = _role(obj)
            if role is None:
                continue
            if not getattr(obj, "__module__", "") or not obj.__module__.startswith(
                    package.__name__.split(".")[0]):
                continue
            full = f"{module.__name__}.{name}"
            if full in seen:
                continue
            seen.add(full)
            uri = page(full)
            yield full, role, f"{uri}#{full}"
            if inspect.isclass(obj):
                # inherited members too: they are documented on the class's page
                for member in dir(obj):
                    if member.startswith("_"):
                        continue
                    value = inspect.getattr_static(obj, member)
                    if isinstance(value, property):
                        kind = "py:property"
                    elif callable(value) or hasattr(value, "__get__"):
                        kind = "py:method"  # functions, class methods, available_if
                    else:
                        kind = "py:attribute"
                    yield f"{full}.{member}", kind, f"{uri}#{full}.{member}"


def _write(path, project, version, base, entries):
    lines = sorted({f"{name} {role} 1 {uri} -" for name, role, uri in entries})
    header = (f"# Sphinx inventory version 2\n# Project: {project}\n# Version: {version}\n"
              "# The remainder of this file is compressed using zlib.\n")
    body = zlib.compress(("\n".join(lines) + "\n").encode(), 9)
    path.write_bytes(header.encode() + body)
    print(f"{path.name}: {len(lines)} objects, links under {base}")


def python():
    lib = "library/"
    entries = []
    for name in ("int", "float", "str", "bool", "dict", "list", "tuple", "object", "bytes",
                 "type", "slice", "range", "set", "frozenset"):
        role = "py:class"
        entries.append((name, role, f"{lib}functions.html#{name}"))
    for name in ("callable", "len", "isinstance", "print", "open", "iter", "next", "repr"):
        entries.append((name, "py:function", f"{lib}functions.html#{name}"))
    for name in ("None", "True", "False", "Ellipsis", "NotImplemented"):
        entries.append((name, "py:data", f"{lib}constants.html#{name}"))
    import builtins
    for name, obj in vars(builtins).items():
        if inspect.isclass(obj) and issubclass(obj, BaseException):
            entries.append((name, "py:exception", f"{lib}exceptions.html#{name}"))
    modules = {"pickle": "pickle", "os": "os", "pathlib": "pathlib", "io": "io",
               "warnings": "warnings", "typing": "typing", "numbers": "numbers",
               "collections.abc": "collections.abc", "zipfile": "zipfile",
               "contextlib": "contextlib", "threading": "threading", "json": "json"}
    for module, page in modules.items():
        entries.append((module, "py:module", f"{lib}{page}.html#module-{module}"))
    for name, page in {"os.PathLike": "os", "pathlib.Path": "pathlib",
                       "io.BytesIO": "io", "io.IOBase": "io", "numbers.Integral": "numbers",
                       "numbers.Real": "numbers", "collections.abc.Iterable": "collections.abc",
                       "collections.abc.Sequence": "collections.abc",
                       "collections.abc.Mapping": "collections.abc",
                       "collections.abc.Callable": "collections.abc",
                       "typing.Any": "typing", "zipfile.ZipFile": "zipfile",
                       "warnings.catch_warnings": "warnings"}.items():
        entries.append((name, "py:class", f"{lib}{page}.html#{name}"))
    for name, page in {"pickle.dump": "pickle", "pickle.load": "pickle",
                       "pickle.dumps": "pickle", "pickle.loads": "pickle",
                       "warnings.warn": "warnings", "warnings.filterwarnings": "warnings",
                       "json.dump": "json", "json.load": "json"}.items():
        entries.append((name, "py:function", f"{lib}{page}.html#{name}"))
    # The labels and glossary terms numpydoc links parameter types to.
    entries.append(("bltin-boolean-values", "std:label", f"{lib}stdtypes.html#boolean-values"))
    for term in ("iterable", "sequence", "generator", "path-like object", "file object"):
        entries.append((term, "std:term", f"glossary.html#term-{term.replace(' ', '-')}"))
    entries.append(("contextlib.contextmanager", "py:function",
                    f"{lib}contextlib.html#contextlib.contextmanager"))
    entries.append(("collections.namedtuple", "py:function",
                    f"{lib}collections.html#collections.namedtuple"))
    import sys
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    _write(HERE / "python.inv", "Python", version, "https://docs.python.org/3/", entries)


def numpy():
    import numpy as np
    entries = []
    for name, obj in _public(np):
        if inspect.isclass(obj) and issubclass(obj, np.generic):
            entries.append((f"numpy.{name}", "py:class",
                            f"reference/arrays.scalars.html#numpy.{name}"))
        elif callable(obj) or inspect.isclass(obj):
            role = _role(obj) or "py:function"
            entries.append((f"numpy.{name}", role,
                            f"reference/generated/numpy.{name}.html#numpy.{name}"))
    for member in vars(np.ndarray):
        if not member.startswith("_"):
            entries.append((f"numpy.ndarray.{member}", "py:method",
                            (f"reference/generated/numpy.ndarray.{member}.html"
                            f"#numpy.ndarray.{member}")))
    for name, page in {"RandomState": "legacy", "Generator": "generator"}.items():
        entries.append((f"numpy.random.{name}", "py:class",
                        f"reference/random/{page}.html#numpy.random.{name}"))
    for name in ("default_rng", "seed"):
        entries.append((f"numpy.random.{name}", "py:function",
                        (f"reference/random/generated/numpy.random.{name}.html"
                        f"#numpy.random.{name}")))
    entries.append(("array_like", "std:term", "glossary.html#term-array_like"))
    entries.append(("arrays.scalars", "std:label", "reference/arrays.scalars.html"))
    for name in ("inf", "nan", "newaxis"):
        entries.append((f"numpy.{name}", "py:data", f"reference/constants.html#numpy.{name}"))
    entries.append(("numpy", "py:module", "reference/index.html#module-numpy"))
    entries.append(("numpy.typing.ArrayLike", "py:data",
                    "reference/typing.html#numpy.typing.ArrayLike"))
    entries.append(("numpy.dtype", "py:class",
                    "reference/generated/numpy.dtype.html#numpy.dtype"))
    _write(HERE / "numpy.inv", "NumPy", np.__version__, "https://numpy.org/doc/stable/",
           entries)


def sklearn():
    import sklearn as sk
    entries = list(_objects(sk, lambda full: f"modules/generated/{full}.html",
                            skip=("tests", "externals", "conftest")))
    # What users read for the conventions skae follows.
    glossary = {"fit": "term-fit", "transform": "term-transform",
                "score_samples": "term-score_samples", "random_state": "term-random_state",
                "decision_function": "term-decision_function", "predict": "term-predict",
                "outlier detector": "term-outlier-detector", "estimator": "term-estimator",
                "transformer": "term-transformer", "array-like": "term-array-like",
                "sparse matrix": "term-sparse-matrix", "partial_fit": "term-partial_fit",
                "n_jobs": "term-n_jobs", "feature_names_in_": "term-feature_names_in_",
                "n_features_in_": "term-n_features_in_", "contamination": "term-contamination"}
    for term, anchor in glossary.items():
        entries.append((term, "std:term", f"glossary.html#{anchor}"))
    entries.append(("sklearn", "py:module", "api/index.html#module-sklearn"))
    _write(HERE / "sklearn.inv", "scikit-learn", sk.__version__,
           "https://scikit-learn.org/stable/", entries)


def torch():
    import torch as th
    entries = []
    for prefix in ("torch.nn", "torch.optim"):
        module = importlib.import_module(prefix)
        for name, obj in _public(module):
            if inspect.isclass(obj):
                full = f"{prefix}.{name}"
                entries.append((full, "py:class", f"generated/{full}.html#{full}"))
                for member in vars(obj):
                    if not member.startswith("_"):
                        entries.append((f"{full}.{member}", "py:method",
                                        f"generated/{full}.html#{full}.{member}"))
    for name in ("load", "save", "manual_seed", "set_num_threads", "get_rng_state",
                 "compile", "no_grad", "from_numpy", "as_tensor", "tensor"):
        entries.append((f"torch.{name}", "py:function", (f"generated/torch.{name}.html"
                        f"#torch.{name}")))
    entries.append(("torch.Tensor", "py:class", "tensors.html#torch.Tensor"))
    entries.append(("torch.device", "py:class", "tensor_attributes.html#torch.device"))
    entries.append(("torch.dtype", "py:class", "tensor_attributes.html#torch.dtype"))
    entries.append(("torch.Generator", "py:class", ("generated/torch.Generator.html"
                    "#torch.Generator")))
    entries.append(("torch.cuda.is_available", "py:function",
                    "generated/torch.cuda.is_available.html#torch.cuda.is_available"))
    entries.append(("torch.onnx.export", "py:function", "onnx_export.html#torch.onnx.export"))
    for name in ("init_process_group", "destroy_process_group", "all_reduce", "barrier",
                 "is_initialized"):
        entries.append((f"torch.distributed.{name}", "py:function",
                        f"distributed.html#torch.distributed.{name}"))
    entries.append(("torch.multiprocessing.ProcessRaisedException", "py:exception",
                    "multiprocessing.html#module-torch.multiprocessing"))
    entries.append(("torch.multiprocessing.spawn", "py:function",
                    "multiprocessing.html#torch.multiprocessing.spawn"))
    _write(HERE / "torch.inv", "PyTorch", th.__version__.split("+")[0],
           "https://docs.pytorch.org/docs/stable/", entries)


def skorch():
    import skorch as sk
    pages = {"skorch.net": "net", "skorch.callbacks": "callbacks", "skorch.history": "history",
             "skorch.dataset": "dataset", "skorch.helper": "helper",
             "skorch.exceptions": "exceptions", "skorch.utils": "utils",
             "skorch.classifier": "classifier", "skorch.regressor": "regressor"}
    entries = []
    for module_name, page in pages.items():
        module = importlib.import_module(module_name)
        for name, obj in _public(module):
            role = _role(obj)
            if role is None or not getattr(obj, "__module__", "").startswith(module_name):
                continue  # imported from another module, documented on that one's page
            for full in {f"{module_name}.{name}", f"{obj.__module__}.{name}"}:
                entries.append((full, role, f"{page}.html#{full}"))
                if inspect.isclass(obj):
                    for member in dir(obj):
                        if not member.startswith("_"):
                            entries.append((f"{full}.{member}", "py:method",
                                            f"{page}.html#{obj.__module__}.{name}.{member}"))
    for name in ("NeuralNet", "NeuralNetClassifier", "NeuralNetRegressor"):
        module = "skorch.net" if name == "NeuralNet" else (
            "skorch.classifier" if "Classifier" in name else "skorch.regressor")
        entries.append((f"skorch.{name}", "py:class",
                        f"{pages[module]}.html#{module}.{name}"))
    _write(HERE / "skorch.inv", "skorch", sk.__version__,
           "https://skorch.readthedocs.io/en/stable/", entries)


def pandas():
    import pandas as pd
    entries = []
    for name in ("DataFrame", "Series", "Index"):
        entries.append((f"pandas.{name}", "py:class",
                        f"reference/api/pandas.{name}.html#pandas.{name}"))
    for name in ("read_csv", "concat"):
        entries.append((f"pandas.{name}", "py:function",
                        f"reference/api/pandas.{name}.html#pandas.{name}"))
    _write(HERE / "pandas.inv", "pandas", pd.__version__, "https://pandas.pydata.org/docs/",
           entries)


def scipy():
    import scipy
    import scipy.sparse as sp
    entries = []
    for name, obj in _public(sp):
        if inspect.isclass(obj) or inspect.isfunction(obj):
            full = f"scipy.sparse.{name}"
            entries.append((full, _role(obj) or "py:function",
                            f"reference/generated/{full}.html#{full}"))
    from scipy import stats
    for name, obj in _public(stats):
        if inspect.isfunction(obj):
            full = f"scipy.stats.{name}"
            entries.append((full, "py:function", f"reference/generated/{full}.html#{full}"))
    entries.append(("scipy.linalg.subspace_angles", "py:function",
                    ("reference/generated/scipy.linalg.subspace_angles.html"
                    "#scipy.linalg.subspace_angles")))
    _write(HERE / "scipy.inv", "SciPy", scipy.__version__,
           "https://docs.scipy.org/doc/scipy/", entries)


def matplotlib():
    import matplotlib as mpl
    entries = [("matplotlib", "py:module", "index.html#module-matplotlib")]
    classes = {"matplotlib.axes.Axes": "_as_gen/matplotlib.axes.Axes.html",
               "matplotlib.figure.Figure": "api/_as_gen/matplotlib.figure.Figure.html",
               "matplotlib.lines.Line2D": "api/_as_gen/matplotlib.lines.Line2D.html",
               "matplotlib.container.BarContainer": "api/container_api.html",
               "matplotlib.patches.Rectangle": "api/_as_gen/matplotlib.patches.Rectangle.html",
               "matplotlib.colors.Colormap": "api/_as_gen/matplotlib.colors.Colormap.html"}
    classes["matplotlib.axes.Axes"] = "api/_as_gen/matplotlib.axes.Axes.html"
    for name, page in classes.items():
        entries.append((name, "py:class", f"{page}#{name}"))
    from matplotlib.axes import Axes
    for member in dir(Axes):
        if not member.startswith("_") and callable(getattr(Axes, member, None)):
            full = f"matplotlib.axes.Axes.{member}"
            entries.append((full, "py:method", f"api/_as_gen/{full}.html#{full}"))
    for name in ("subplots", "figure", "show", "savefig"):
        full = f"matplotlib.pyplot.{name}"
        entries.append((full, "py:function", f"api/_as_gen/{full}.html#{full}"))
    _write(HERE / "matplotlib.inv", "Matplotlib", mpl.__version__,
           "https://matplotlib.org/stable/", entries)


def dask():
    import dask as dk
    entries = [("dask", "py:module", "index.html")]
    for name, page in {"dask.array.Array": "generated/dask.array.Array.html",
                       "dask.dataframe.DataFrame": "generated/dask.dataframe.DataFrame.html",
                       "dask.dataframe.Series": "generated/dask.dataframe.Series.html",
                       "distributed.Client": "https://distributed.dask.org/en/stable/api.html",
                       }.items():
        if page.startswith("https"):
            continue  # another project's site; not linked
        entries.append((name, "py:class", f"{page}#{name}"))
    entries.append(("dask.array.Array.map_blocks", "py:method",
                    "generated/dask.array.Array.map_blocks.html#dask.array.Array.map_blocks"))
    for name in ("dask.config.set", "dask.config.get"):
        entries.append((name, "py:function", f"api.html#{name}"))
    for name in ("dask.array.map_blocks", "dask.array.from_array", "dask.compute"):
        entries.append((name, "py:function", f"generated/{name}.html#{name}"))
    _write(HERE / "dask.inv", "Dask", dk.__version__, "https://docs.dask.org/en/stable/",
           entries)


def onnx():
    import onnx as ox
    entries = [(f"onnx.{name}", "py:class", f"api/classes.html#{name.lower()}")
               for name in ("ModelProto", "GraphProto", "NodeProto", "TensorProto")]
    entries += [(f"onnx.{name}", "py:function", f"api/serialization.html#{name.replace('_', '-')}")
                for name in ("load", "save")]
    _write(HERE / "onnx.inv", "ONNX", ox.__version__, "https://onnx.ai/onnx/", entries)


if __name__ == "__main__":
    python()
    numpy()
    sklearn()
    torch()
    skorch()
    pandas()
    scipy()
    matplotlib()
    dask()
    onnx()
