"""skae's use of skorch: the overrides that remain, the tested range, stopping without
KeyboardInterrupt."""

import re
import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import skorch
from packaging.version import Version
from skorch import NeuralNet
from skorch.callbacks import Callback

from skae import VAE, AutoencoderOutlierDetector, AutoencoderTransformer, VAETransformer
from skae._net import AutoencoderNet, StopTraining, VAENet
from skae._testing import CPU, dense

ROOT = Path(__file__).parents[1]
FAST = {**CPU, "network": dense(8), "n_components": 2, "batch_size": 20}

pytestmark = pytest.mark.usefixtures("no_convergence_warnings")


def _overridden(cls):
    # Not counted: what Python and scikit-learn's metadata routing generate
    # for every class (set_partial_fit_request, from the signature).
    return {name for name in vars(cls)
            if hasattr(NeuralNet, name) and name not in ("__doc__", "__module__")
            and not re.fullmatch(r"set_\w+_request", name)}


def _documented_overrides():
    text = (ROOT / "docs/development/architecture.rst").read_text()
    section = text.split("skorch overrides\n----------------\n")[1]
    return set(re.findall(r"^- ``(\w+)``", section, flags=re.MULTILINE))


def test_the_documented_overrides_are_the_overrides():
    assert _overridden(AutoencoderNet) | _overridden(VAENet) == _documented_overrides()


def test_the_installed_skorch_is_in_the_declared_range():
    # The dependency line as .ci/run's lowest job reads it (tomllib needs 3.11).
    pyproject = (ROOT / "pyproject.toml").read_text()
    [(low, high)] = re.findall(r'^\s*"skorch>=([\d.]+),<([\d.]+)",', pyproject, re.MULTILINE)
    assert Version(low) <= Version(skorch.__version__) < Version(high)


@contextmanager
def _raised():
    """The types of the exceptions raised in Python code inside the block."""
    raised = []

    def trace(frame, event, arg):
        if event == "exception":
            raised.append(arg[0])
        return trace

    previous = sys.gettrace()
    sys.settrace(trace)
    try:
        yield raised
    finally:
        sys.settrace(previous)


def _data(n_samples=100):
    return np.random.RandomState(0).normal(size=(n_samples, 6))


@pytest.mark.parametrize("make", [
    # Held-out rows, on the training loss, and after a VAE's KL warm-up.
    lambda: AutoencoderTransformer(**FAST, early_stopping=True, n_iter_no_change=2, tol=10.0),
    lambda: AutoencoderTransformer(**FAST, early_stopping=False, n_iter_no_change=2, tol=10.0),
    lambda: VAETransformer(**FAST, early_stopping=True, n_iter_no_change=2, tol=10.0,
                           kl_warmup_epochs=1),
    lambda: AutoencoderOutlierDetector(**FAST, n_estimators=2, early_stopping=True,
                                       n_iter_no_change=2, tol=10.0,
                                       objective=VAE(kl_warmup_epochs=1)),
])
def test_stopping_rules_end_a_fit_without_keyboard_interrupt(make):
    model = make().set_params(max_steps=400)
    with _raised() as raised:
        model.fit(_data())
    assert model.n_steps_ < 400  # a stopping rule ended it, not the budget
    assert StopTraining in raised
    assert not [kind for kind in raised if issubclass(kind, KeyboardInterrupt)]


class _Interrupt(Callback):
    def on_epoch_end(self, net, **kwargs):
        raise KeyboardInterrupt


def test_the_tracer_sees_a_keyboard_interrupt():
    # The check above can fail: an interrupt in a callback is seen, and it
    # ends the fit.
    model = AutoencoderTransformer(**FAST, callbacks=[_Interrupt()])
    with pytest.raises(KeyboardInterrupt), _raised() as raised:
        model.fit(_data())
    assert KeyboardInterrupt in raised
    assert not hasattr(model, "net_")


def test_a_stop_runs_the_end_of_training_callbacks():
    ended = []

    class Ended(Callback):
        def on_train_end(self, net, **kwargs):
            ended.append(len(net.history))

    model = AutoencoderTransformer(**FAST, early_stopping=True, n_iter_no_change=2, tol=10.0,
                                   max_steps=400, callbacks=[Ended()]).fit(_data())
    assert ended == [model.n_iter_]
