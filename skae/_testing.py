"""Settings the test suite shares, in one place.

The tests import these (``from skae._testing import CPU, dense, steps``)
instead of importing from ``conftest``, which pytest does not support as a
module; the fixtures stay in ``tests/conftest.py``.
"""

from .networks import DenseNetwork

#: Settings every fast test fit shares: CPU, seeded.
CPU = {"device": "cpu", "random_state": 0}


def dense(*hidden_layer_sizes, **params):
    """A ``DenseNetwork`` with the given hidden widths.

    Examples
    --------
    >>> dense(8, 4).hidden_layer_sizes
    (8, 4)
    """
    return DenseNetwork(hidden_layer_sizes=hidden_layer_sizes, **params)


def steps(epochs, n_rows, batch_size):
    """The ``max_steps`` of ``epochs`` passes over ``n_rows`` rows.

    Examples
    --------
    >>> steps(2, 100, 32)
    8
    """
    return epochs * -(-n_rows // batch_size)


def run_onnx(model, X):
    """The outputs of the ONNX ``model`` on the rows ``X``, by name (onnxruntime, CPU)."""
    import onnxruntime

    session = onnxruntime.InferenceSession(model.SerializeToString(),
                                           providers=["CPUExecutionProvider"])
    return dict(zip([output.name for output in session.get_outputs()],
                    session.run(None, {"X": X})))
