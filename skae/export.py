"""Export fitted estimators to ONNX, for inference without Python or torch.

:func:`to_onnx` exports the inference methods of a fitted estimator as one
ONNX graph that takes raw float32 rows: the input scaling (``input_offset_``,
``input_scale_``) is folded into the graph. The graph is traced from a small
torch module by ``torch.onnx.export`` (the ``torch.export``-based exporter,
with a dynamic batch dimension), and its methods compute exactly what skae's
do: the network's code and reconstruction, the fitted objective's scores
(:mod:`skae._objectives`) and, for the outlier detector, the ensemble's mean of
scaled member scores, its threshold and its labels.

:func:`register_skl2onnx` registers skae's estimators with skl2onnx, so that
a scikit-learn pipeline holding one exports whole with ``skl2onnx.to_onnx``;
the converter merges the same traced graph into skl2onnx's.

The optional dependencies (``onnx``, ``onnxscript``, ``skl2onnx``) are
imported inside the functions: ``pip install skae[onnx]``.
"""

import contextlib
import copy
import importlib
import logging
import warnings
from numbers import Integral

import torch
from sklearn.utils.validation import check_is_fitted

from ._categorical import check_exportable
from ._scoring import Scorer, decisions, labels
from .outlier import AutoencoderOutlierDetector
from .transformers import AutoencoderTransformer, VAETransformer

__all__ = ["register_skl2onnx", "to_onnx"]

# The methods each estimator exports, the first being the default.
_TRANSFORMER_METHODS = ("transform", "inverse_transform", "score_samples")
_DETECTOR_METHODS = ("score_samples", "decision_function", "predict")

# Rows of the example input the graph is traced with; the batch dimension of
# the exported graph is dynamic.
_EXAMPLE_ROWS = 2


def _import_optional(name):
    """Import the optional dependency ``name``, or raise an ImportError naming the extra."""
    try:
        return importlib.import_module(name)
    except ImportError as error:
        raise ImportError(
            f"ONNX export needs the optional dependency {name!r}: "
            "pip install skae[onnx]"
        ) from error


def _supported_methods(estimator):
    if isinstance(estimator, AutoencoderOutlierDetector):
        return _DETECTOR_METHODS
    if isinstance(estimator, AutoencoderTransformer):  # VAETransformer included
        return _TRANSFORMER_METHODS
    raise TypeError(
        "to_onnx exports skae's AutoencoderTransformer, VAETransformer and "
        f"AutoencoderOutlierDetector, not {type(estimator).__name__}; export other "
        "scikit-learn estimators with skl2onnx (see skae.export.register_skl2onnx)."
    )


def _resolved_methods(estimator, method):
    """``method`` (None, a name or a sequence of names) as a tuple of method names."""
    supported = _supported_methods(estimator)
    methods = ((supported[0],) if method is None else (method,) if isinstance(method, str)
               else tuple(method) if isinstance(method, (list, tuple)) else ())
    unknown = [name for name in methods if not isinstance(name, str) or name not in supported]
    if not methods or unknown or len(set(methods)) != len(methods):
        raise ValueError(
            f"method must be one of {supported} or a list of distinct ones for "
            f"{type(estimator).__name__}, got {method!r}."
        )
    if "inverse_transform" in methods and len(methods) > 1:
        raise ValueError(
            "inverse_transform takes codes, not rows of X: export it as a graph of "
            "its own (method='inverse_transform')."
        )
    return methods


class _InferenceGraph(torch.nn.Module):
    """The chosen methods of a fitted estimator on raw rows, as one torch module.

    ``forward`` takes a float32 batch of raw rows (codes for
    ``inverse_transform``) and returns one tensor per method, computed by
    the estimator's :class:`~skae._scoring.Scorer` on a CPU float32 copy of
    the fitted module: the rows scaled, the network's codes, the fitted
    objective's scores combined over the members, and a detector's
    decisions and labels. The estimator is never modified.
    """

    def __init__(self, estimator, methods):
        super().__init__()
        self.methods = methods
        self.scorer = Scorer.of_fitted(
            vars(estimator), copy.deepcopy(estimator.net_.module_).cpu().float().eval(),
            copy.deepcopy(estimator.net_.criterion_).cpu())

    def forward(self, X):
        scorer = self.scorer
        if self.methods == ("inverse_transform",):
            return scorer.module.decode(X) * scorer.scale + scorer.offset
        inputs, target = scorer.scaled(X)
        outputs = {}
        if "transform" in self.methods:
            outputs["transform"] = scorer.module.encode(inputs)
        if {"score_samples", "decision_function", "predict"} & set(self.methods):
            outputs["score_samples"] = scorer.scores(inputs, target)
            if scorer.threshold is not None:
                outputs["decision_function"] = decisions(outputs["score_samples"],
                                                         scorer.threshold)
                outputs["predict"] = labels(outputs["decision_function"])
        return tuple(outputs[name] for name in self.methods)


@contextlib.contextmanager
def _quiet_exporter():
    """Silence the exporter while it traces: its progress lines, its log notes
    (missing torchvision operators) and the warnings torch's own internals raise.

    The tests check the exported graphs numerically, which is what a hidden
    warning could otherwise have been about.
    """
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def _check_opset(model, target_opset):
    """Raise unless ``model`` is in opset ``target_opset`` (any opset when ``None``).

    torch's exporter writes its own opset and converts it to the one asked
    for; where the conversion fails it returns its own opset instead.
    """
    written = next(entry.version for entry in model.opset_import
                   if entry.domain in ("", "ai.onnx"))
    if target_opset is not None and written != target_opset:
        raise ValueError(
            f"target_opset={target_opset} cannot be honoured: torch's ONNX exporter "
            f"could not convert this model to opset {target_opset} and wrote opset "
            f"{written}. Give a target_opset it can convert to (such as {written}), or "
            "None for the exporter's default."
        )


def _export_graph(estimator, methods, target_opset):
    """The ONNX model of ``methods`` of a fitted estimator, traced by torch's exporter."""
    check_exportable(estimator)  # categorical columns have no ONNX graph
    _import_optional("onnx")
    _import_optional("onnxscript")  # torch.onnx.export's exporter is built on it
    graph = _InferenceGraph(estimator, methods)
    width = (estimator.n_components_ if methods == ("inverse_transform",)
             else estimator.n_features_in_)
    example = torch.zeros(_EXAMPLE_ROWS, width)
    with _quiet_exporter(), torch.no_grad():
        program = torch.onnx.export(
            graph, (example,), dynamo=True, verbose=False, opset_version=target_opset,
            input_names=["X"], output_names=list(methods),
            dynamic_shapes=({0: torch.export.Dim("batch")},),
        )
    from . import __version__

    model = program.model_proto
    _check_opset(model, target_opset)
    model.producer_name, model.producer_version = "skae", __version__
    model.doc_string = (f"{type(estimator).__name__}.{', '.join(methods)} on float32 "
                        "rows of raw input; exported by skae.to_onnx.")
    return model


def to_onnx(estimator, path=None, *, method=None, target_opset=None):
    """Export the inference methods of a fitted estimator to an ONNX model.

    The model takes raw float32 rows, the input scaling folded in, and
    computes what the estimator's methods compute, in float32: use it with
    ``onnxruntime`` or any ONNX runtime, without Python or torch. Training,
    :meth:`VAETransformer.sample <skae.VAETransformer.sample>` and the
    detector's ``feature_errors`` and ``p_values`` are not exported. See
    :doc:`/user_guide/onnx`.

    Parameters
    ----------
    estimator : AutoencoderTransformer, VAETransformer or AutoencoderOutlierDetector
        A fitted estimator, with any network (dense, convolutional, LSTM).
    path : str or path-like, default=None
        Where to write the model; ``None`` writes nothing.
    method : str or list of str, default=None
        What the model computes, one output per method, named after it:
        ``'transform'`` (the code; the posterior mean for a
        :class:`~skae.VAETransformer`), ``'inverse_transform'`` (the
        reconstruction in the original units; its input ``X`` is codes, so it
        is a model of its own) or ``'score_samples'`` for the transformers;
        ``'score_samples'``, ``'decision_function'`` or ``'predict'`` for the
        detector. ``None`` is ``'transform'`` for the transformers and
        ``'score_samples'`` for the detector.
    target_opset : int, default=None
        The ONNX opset of the model; ``None`` is the default of
        ``torch.onnx.export``. torch's exporter converts its graph to this
        opset; an opset it cannot convert this model to raises a
        ``ValueError`` rather than giving a model of another opset.

    Returns
    -------
    model : onnx.ModelProto
        The model. Its input is ``'X'``, a float32 tensor of shape
        ``(n_samples, n_features_in_)`` (``(n_samples, n_components_)`` for
        ``'inverse_transform'``) with any number of rows; its outputs are
        float32 arrays shaped as the methods' results, and int64 labels for
        ``'predict'``.

    Raises
    ------
    ImportError
        When ``onnx`` or ``onnxscript`` is missing (``pip install skae[onnx]``).
    NotFittedError
        When the estimator is not fitted.
    ValueError
        When ``method`` is not a supported method name or list of them, or
        ``target_opset`` is not an opset the model can be written in.

    See Also
    --------
    skae.export.register_skl2onnx : Export scikit-learn pipelines holding skae
        estimators.

    Notes
    -----
    skae computes in the precision of its input; the model always computes
    in float32. On float32 input the model's outputs agree with the
    estimator's to a relative or absolute difference of 1e-5 (the tests check
    dense, convolutional and LSTM networks with onnxruntime). ``predict`` can
    differ for a row whose ``decision_function`` is within about 1e-6 of 0.

    Examples
    --------
    >>> import numpy as np
    >>> import onnxruntime
    >>> from skae import AutoencoderTransformer, to_onnx
    >>> X = np.random.RandomState(0).normal(size=(100, 6)).astype(np.float32)
    >>> ae = AutoencoderTransformer(n_components=2, max_steps=20, random_state=0).fit(X)
    >>> model = to_onnx(ae, method="transform")
    >>> session = onnxruntime.InferenceSession(model.SerializeToString())
    >>> codes = session.run(["transform"], {"X": X})[0]
    >>> np.allclose(codes, ae.transform(X), rtol=1e-5, atol=1e-5)
    True
    """
    check_is_fitted(estimator)
    methods = _resolved_methods(estimator, method)
    onnx = _import_optional("onnx")
    newest = onnx.defs.onnx_opset_version()
    if target_opset is not None and (not isinstance(target_opset, Integral)
                                     or isinstance(target_opset, bool)
                                     or not 1 <= target_opset <= newest):
        raise ValueError(f"target_opset must be an integer from 1 to {newest} (the newest "
                         f"opset of the installed onnx), got {target_opset!r}.")
    model = _export_graph(estimator, methods, target_opset)
    if path is not None:
        with open(path, "wb") as file:
            file.write(model.SerializeToString())
    return model


# ------------------------------------------------------------------ skl2onnx
# skl2onnx's names of skae's estimators, and the outputs each declares: a
# transformer's codes; a detector's labels and decision_function, as
# skl2onnx's converters of scikit-learn's outlier detectors give them, and
# with the converter option score_samples=True its score_samples too.
_SKL2ONNX_ALIASES = {
    AutoencoderTransformer: "SkaeAutoencoderTransformer",
    VAETransformer: "SkaeVAETransformer",
    AutoencoderOutlierDetector: "SkaeAutoencoderOutlierDetector",
}


def _detector_methods(scope, detector):
    options = scope.get_options(detector, {"score_samples": False})
    return ("predict", "decision_function",
            *(("score_samples",) if options["score_samples"] else ()))


def _parse_detector(scope, model, inputs, custom_parsers=None):
    """skl2onnx parser of the detector: one output variable per exported method."""
    from skl2onnx.common.data_types import FloatTensorType, Int64TensorType

    operator = scope.declare_local_operator(_SKL2ONNX_ALIASES[type(model)], model)
    operator.inputs = inputs
    names = {"predict": "label", "decision_function": "scores"}
    for method in _detector_methods(scope, model):
        dtype = Int64TensorType() if method == "predict" else FloatTensorType()
        operator.outputs.append(scope.declare_local_variable(names.get(method, method),
                                                             dtype))
    return list(operator.outputs)


def _calculate_shapes(operator):
    """skl2onnx shape calculator: float32 rows in, one column per code or one score per row."""
    from skl2onnx.common.data_types import FloatTensorType, Int64TensorType

    estimator = operator.raw_operator
    check_is_fitted(estimator)
    if len(operator.inputs) != 1:
        raise RuntimeError(
            f"{type(estimator).__name__} takes one float32 input of every feature, got "
            f"{len(operator.inputs)} inputs (a DataFrame's columns); convert with a NumPy "
            "example (X.to_numpy()) so that the model has one input tensor."
        )
    input_type = operator.inputs[0].type
    if not isinstance(input_type, FloatTensorType):
        raise TypeError(
            f"skae's ONNX graphs compute in float32: convert the pipeline holding "
            f"{type(estimator).__name__} with a float32 input (FloatTensorType, or "
            f"X.astype(numpy.float32)), not {type(input_type).__name__}."
        )
    n_rows = operator.inputs[0].get_first_dimension()
    if isinstance(estimator, AutoencoderOutlierDetector):
        for output in operator.outputs:
            output.type = (Int64TensorType([n_rows]) if isinstance(output.type, Int64TensorType)
                           else FloatTensorType([n_rows]))
    else:
        operator.outputs[0].type = FloatTensorType([n_rows, estimator.n_components_])


def _convert(scope, operator, container):
    """skl2onnx converter: merge the graph of :func:`to_onnx` into the pipeline's.

    The graph is traced at the pipeline's target opset; its initializers and
    intermediate values are renamed to names unique in the pipeline, its
    input and outputs become the operator's.
    """
    estimator = operator.raw_operator
    methods = (_detector_methods(scope, estimator)
               if isinstance(estimator, AutoencoderOutlierDetector) else ("transform",))
    graph = _export_graph(estimator, methods, container.target_opset_onnx).graph
    _merge_graph(graph, scope, container, operator.inputs[0].full_name,
                 [output.full_name for output in operator.outputs])


def _merge_graph(graph, scope, container, input_name, output_names):
    """Add the nodes and initializers of ``graph`` (one input) to a skl2onnx container."""
    from onnx import numpy_helper

    names = {graph.input[0].name: input_name,
             **{output.name: name for output, name in zip(graph.output, output_names)}}

    def renamed(name):
        if name and name not in names:
            names[name] = scope.get_unique_variable_name(f"skae_{name}")
        return names.get(name, name)  # "" is an omitted optional input

    for tensor in graph.initializer:
        array = numpy_helper.to_array(tensor)
        container.add_initializer(renamed(tensor.name), tensor.data_type, list(array.shape),
                                  numpy_helper.from_array(array))
    for node in graph.node:
        if node.domain not in ("", "ai.onnx") or any(attribute.g.node or attribute.graphs
                                                     for attribute in node.attribute):
            raise NotImplementedError(
                f"The traced graph has a {node.domain or 'ai.onnx'}::{node.op_type} node "
                "that skae's skl2onnx converter cannot merge; export the estimator on "
                "its own with skae.to_onnx."
            )
        container.add_node(node.op_type, [renamed(name) for name in node.input],
                           [renamed(name) for name in node.output],
                           name=scope.get_unique_operator_name(f"skae_{node.op_type}"))
        # The attributes as traced, whatever their type (add_node would re-infer it).
        container.nodes[-1].attribute.extend(node.attribute)


def register_skl2onnx():
    """Register skae's estimators with skl2onnx, so that pipelines holding them export.

    After this call, ``skl2onnx.to_onnx`` and ``skl2onnx.convert_sklearn``
    convert a :class:`~sklearn.pipeline.Pipeline` (or any composite skl2onnx
    supports) that holds an :class:`~skae.AutoencoderTransformer`,
    :class:`~skae.VAETransformer` or :class:`~skae.AutoencoderOutlierDetector`,
    merging the graph of :func:`~skae.to_onnx` into the pipeline's. Importing skae
    registers nothing, so that skl2onnx stays optional; calling this again is
    harmless.

    A transformer outputs its codes (``transform``). A detector outputs
    ``label`` (``predict``, int64) and ``scores`` (``decision_function``), as
    skl2onnx's converters of scikit-learn's outlier detectors do; with the
    converter option ``{"score_samples": True}`` (skl2onnx's ``options``
    argument) it also outputs ``score_samples``. Inputs must be float32.

    Raises
    ------
    ImportError
        When skl2onnx, ``onnx`` or ``onnxscript`` is missing (``pip install skae[onnx]``).

    See Also
    --------
    skae.to_onnx : Export one estimator.

    Examples
    --------
    >>> import numpy as np
    >>> import onnxruntime
    >>> from skl2onnx import to_onnx as skl2onnx_to_onnx
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skae import AutoencoderTransformer
    >>> from skae.export import register_skl2onnx
    >>> register_skl2onnx()
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> X = X.astype(np.float32)
    >>> pipe = make_pipeline(StandardScaler(),
    ...                      AutoencoderTransformer(n_components=4, max_steps=50,
    ...                                             random_state=0),
    ...                      LogisticRegression()).fit(X, y)
    >>> model = skl2onnx_to_onnx(pipe, X[:1], options={"zipmap": False})
    >>> session = onnxruntime.InferenceSession(model.SerializeToString())
    >>> labels = session.run(["label"], {"X": X})[0]
    >>> bool((labels == pipe.predict(X)).all())
    True
    """
    for name in ("onnx", "onnxscript"):
        _import_optional(name)
    skl2onnx = _import_optional("skl2onnx")
    for estimator, alias in _SKL2ONNX_ALIASES.items():
        detector = issubclass(estimator, AutoencoderOutlierDetector)
        skl2onnx.update_registered_converter(
            estimator, alias, _calculate_shapes, _convert,
            parser=_parse_detector if detector else None,
            options={"score_samples": [False, True]} if detector else None,
        )
