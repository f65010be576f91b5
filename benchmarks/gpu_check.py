"""Everything skae does on CUDA, checked in one run, with a report.

On a machine with CUDA it runs, each as one check:

- the test suite's CUDA tests (``pytest -k cuda``);
- one fit and score of every estimator with every network it takes, on CUDA;
- the detector's stacked ensemble on CUDA against the same members on the
  CPU (where ``tests/test_ensembles.py`` checks each against its own network);
- ``compile=True`` (CUDA graphs) against eager training;
- a model saved on CUDA and loaded on the CPU;
- a 2-rank nccl ``fit_data_parallel`` when there are 2 GPUs (skipped otherwise);
- the GPU benchmarks (:mod:`benchmarks.gpu`) at a reduced size.

It writes ``gpu_check.md`` and ``gpu_check.json`` to ``--out`` and exits
with status 1 if any check failed. On a machine without CUDA it says so,
writes a report saying so, and exits 0.

Run: ``python -m benchmarks.gpu_check --out DIR``
"""

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning

import skae
from skae import (
    AutoencoderOutlierDetector,
    AutoencoderTransformer,
    ConvNetwork,
    DenseNetwork,
    LSTMNetwork,
    VAETransformer,
)

from . import gpu
from ._output import add_out_argument

ROOT = Path(__file__).resolve().parent.parent
# Rows of 16 features, read as 1x4x4 images and as 4 steps of 4 by the
# convolutional and recurrent networks.
NETWORKS = {"dense": DenseNetwork(hidden_layer_sizes=(32,)),
            "conv": ConvNetwork(input_shape=(1, 4, 4), channels=(4,)),
            "lstm": LSTMNetwork(input_shape=(4, 4), hidden_layer_sizes=(8,))}
FAST = {"max_steps": 40, "batch_size": 64, "random_state": 0}
TOLERANCE = {"rtol": 1e-4, "atol": 1e-5}


class Skipped(Exception):
    """Raised by a check that does not apply to this machine."""


def _data(n_rows=512, n_features=16, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((n_rows, 4)) @ rng.standard_normal((4, n_features))
    return (X + 0.1 * rng.standard_normal(X.shape)).astype(np.float32)


def _fit(estimator, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X)


def check_cuda_tests():
    """The test suite's CUDA tests, in a subprocess."""
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "cuda",
               "tests"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300,
                            check=False)
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    if result.returncode != 0:
        raise AssertionError(f"pytest -k cuda failed: {summary}\n{result.stdout[-3000:]}")
    return summary


def _estimators():
    """Every estimator with every network it takes (a VAE takes dense networks only)."""
    for name, network in NETWORKS.items():
        yield f"AutoencoderTransformer, {name}", AutoencoderTransformer(
            n_components=2, network=network, **FAST)
        yield f"AutoencoderOutlierDetector, {name}", AutoencoderOutlierDetector(
            n_estimators=3, network=network, **FAST)
    yield "VAETransformer, dense", VAETransformer(n_components=2, network=NETWORKS["dense"],
                                                 **FAST)
    yield "AutoencoderOutlierDetector, vae objective", AutoencoderOutlierDetector(
        n_estimators=3, objective="vae", network=NETWORKS["dense"], **FAST)


def check_every_estimator_and_network():
    """One fit and score of each on CUDA: finite outputs, on the CPU, as NumPy."""
    X = _data()
    done = []
    for name, estimator in _estimators():
        _fit(estimator.set_params(device="cuda"), X)
        assert estimator.device_.startswith("cuda"), f"{name}: device_ {estimator.device_}"
        outputs = [estimator.score_samples(X)]
        if hasattr(estimator, "transform"):
            outputs.append(estimator.inverse_transform(estimator.transform(X)))
        else:
            labels = estimator.predict(X)
            assert set(np.unique(labels)) <= {-1, 1}, f"{name}: labels {np.unique(labels)}"
        for output in outputs:
            assert isinstance(output, np.ndarray) and np.isfinite(output).all(), name
        done.append(name)
    return f"{len(done)} fitted and scored: " + "; ".join(done)


def check_ensemble_against_members():
    """The stacked ensemble's member scores on CUDA equal the same members' on the CPU."""
    X = _data()
    detector = _fit(AutoencoderOutlierDetector(n_estimators=8, device="cuda", **FAST), X)
    on_cuda = detector._objective_scores(X, vars(detector))
    with tempfile.TemporaryDirectory() as folder:
        on_cpu_model = skae.load(skae.save(detector, Path(folder) / "d.safetensors"),
                                 device="cpu")
    on_cpu = on_cpu_model._objective_scores(X, vars(on_cpu_model))
    assert on_cuda.shape == (len(X), 8)
    np.testing.assert_allclose(on_cuda, on_cpu, **TOLERANCE)
    np.testing.assert_allclose(detector.score_samples(X),
                               (on_cuda / detector.member_scale_).mean(axis=1), **TOLERANCE)
    return f"8 members, largest difference {np.abs(on_cuda - on_cpu).max():.2g}"


def check_compile_and_cuda_graphs():
    """``compile=True`` trains with CUDA graphs, without falling back, like eager."""
    X = _data(2048)
    params = {"n_components": 2, "network": NETWORKS["dense"], "device": "cuda", **FAST}
    eager = _fit(AutoencoderTransformer(**params), X)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        compiled = AutoencoderTransformer(**params, compile=True).fit(X)
    fallbacks = [str(w.message) for w in caught if "compile" in str(w.message).lower()]
    assert not fallbacks, f"compile fell back: {fallbacks}"
    eager_loss, compiled_loss = eager.loss_curve_[-1], compiled.loss_curve_[-1]
    assert np.isfinite(compiled.transform(X)).all()
    assert abs(compiled_loss - eager_loss) <= 0.05 * abs(eager_loss) + 1e-3, (
        f"final loss {compiled_loss:.4g} compiled, {eager_loss:.4g} eager")
    return f"final loss {compiled_loss:.4g} compiled, {eager_loss:.4g} eager"


def check_save_on_cuda_load_on_cpu():
    """Every output of a model saved on CUDA, loaded on the CPU."""
    X = _data()
    checked = []
    for name, estimator in (("detector", AutoencoderOutlierDetector(n_estimators=3, **FAST)),
                            ("vae", VAETransformer(n_components=2, **FAST))):
        _fit(estimator.set_params(device="cuda"), X)
        with tempfile.TemporaryDirectory() as folder:
            loaded = skae.load(skae.save(estimator, Path(folder) / "m.safetensors"),
                               device="cpu")
        assert loaded.device_ == "cpu", loaded.device_
        np.testing.assert_allclose(loaded.score_samples(X), estimator.score_samples(X),
                                   **TOLERANCE)
        checked.append(name)
    return "outputs agree: " + ", ".join(checked)


def check_nccl_data_parallel():
    """A 2-rank nccl fit_data_parallel, when this machine has 2 GPUs."""
    if torch.cuda.device_count() < 2:
        raise Skipped(f"{torch.cuda.device_count()} GPU: nccl needs 2")
    from skae.distributed import fit_data_parallel

    X = _data(2048)
    model = fit_data_parallel(AutoencoderTransformer(n_components=2, device="cuda", **FAST),
                              X, n_processes=2, backend="nccl")
    assert np.isfinite(model.transform(X)).all()
    return f"{model.n_steps_} steps on 2 ranks"


def check_gpu_benchmarks():
    """benchmarks.gpu at a reduced size: fit and transform, and time per step."""
    rows = gpu.run(epochs=1, devices=["cuda"], n_samples=10_000)
    _, steps = gpu.step_times(epochs=1, n_rows=10_000)
    lines = [f"{name} on {device}: fit {fit_s:.2f} s, transform {transform_s:.2f} s"
             for name, device, fit_s, transform_s in rows]
    lines += [f"{name}: {1e3 * seconds:.3f} ms per step" for name, seconds in steps.items()]
    return "; ".join(lines)


CHECKS = {
    "CUDA tests": check_cuda_tests,
    "every estimator and network": check_every_estimator_and_network,
    "ensemble against its members": check_ensemble_against_members,
    "compile and CUDA graphs": check_compile_and_cuda_graphs,
    "save on CUDA, load on the CPU": check_save_on_cuda_load_on_cpu,
    "2-rank nccl data-parallel fit": check_nccl_data_parallel,
    "GPU benchmarks, reduced size": check_gpu_benchmarks,
}


def run_checks(checks=CHECKS):
    """Each check's ``{"check", "status", "seconds", "details"}``; a failure stops nothing."""
    results = []
    for name, check in checks.items():
        start = time.perf_counter()
        try:
            status, details = "passed", check()
        except Skipped as skip:
            status, details = "skipped", str(skip)
        except Exception:  # noqa: BLE001 (every failure is reported, then the next check runs)
            status, details = "failed", traceback.format_exc(limit=3)
        results.append({"check": name, "status": status,
                        "seconds": round(time.perf_counter() - start, 2), "details": details})
        print(f"{status:>7}  {name} ({results[-1]['seconds']} s)", flush=True)
    return results


def machine():
    """The machine in words: GPU, CUDA and torch versions."""
    gpus = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
    return {"gpus": gpus or "none", "cuda": torch.version.cuda, "torch": torch.__version__,
            "skae": skae.__version__, "python": platform.python_version()}


def write_report(out, about, results):
    """Write ``gpu_check.md`` and ``gpu_check.json`` to ``out``; return the markdown."""
    lines = [(f"GPU check on {about['gpus']} (CUDA {about['cuda']}, torch {about['torch']}, "
              f"skae {about['skae']}): `python -m benchmarks.gpu_check`"), ""]
    if results:
        lines += ["| check | status | seconds | details |", "|---|---|---:|---|"]
        lines += [f"| {r['check']} | {r['status']} | {r['seconds']} | "
                  f"{r['details'].splitlines()[-1] if r['details'] else ''} |"
                  for r in results]
    else:
        lines.append("No CUDA device: nothing was checked.")
    text = "\n".join(lines) + "\n"
    out.mkdir(parents=True, exist_ok=True)
    (out / "gpu_check.md").write_text(text)
    (out / "gpu_check.json").write_text(json.dumps({"machine": about, "checks": results},
                                                   indent=2))
    return text


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_out_argument(parser, what="the report")
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        print("No CUDA device on this machine: the GPU check has nothing to run.")
        write_report(args.out, machine(), [])
        return 0
    results = run_checks()
    print(write_report(args.out, machine(), results))
    return 1 if any(r["status"] == "failed" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
