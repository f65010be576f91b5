"""Agreement of ONNX-exported models with skae, and their inference time under onnxruntime.

Every estimator and network family is fitted briefly on a table that ships
with scikit-learn (digits, 1,797 x 64; breast cancer, 569 x 30), exported by
:func:`skae.to_onnx` and run by onnxruntime on the same float32 rows. For each
method: the largest absolute difference from skae's output; the same
difference between skae's outputs on the rows in float64 and in float32 (the
size of float32 rounding in skae itself); the largest magnitude of skae's
output (the scale the difference compares to); the
largest difference relative to each entry, whether ``numpy.allclose`` holds at
``rtol=atol=1e-5``, and the median seconds of skae's method and of
``InferenceSession.run`` over all rows (interleaved, ``--repeats`` times, one
thread each). The export time of each model is listed too.

Run: ``python -m benchmarks.onnx_export [--repeats 5] [--max-steps 300]``
"""

import argparse
import json
import time
import warnings

import numpy as np
import torch
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.exceptions import ConvergenceWarning

from skae import (
    AutoencoderOutlierDetector,
    AutoencoderTransformer,
    ConvNetwork,
    LSTMNetwork,
    VAETransformer,
    to_onnx,
)

from ._output import add_out_argument


def models(max_steps):
    """``(name, estimator, data, methods)`` of every case."""
    digits = load_digits().data.astype(np.float32)
    cancer = load_breast_cancer().data.astype(np.float32)
    common = {"max_steps": max_steps, "device": "cpu", "random_state": 0}
    transformer = ("transform", "inverse_transform", "score_samples")
    detector = ("score_samples", "decision_function", "predict")
    return [
        ("AutoencoderTransformer, dense", AutoencoderTransformer(n_components=8, **common),
         digits, transformer),
        ("AutoencoderTransformer, conv",
         AutoencoderTransformer(n_components=8, network=ConvNetwork(input_shape=(1, 8, 8)),
                                **common), digits, transformer),
        ("AutoencoderTransformer, LSTM",
         AutoencoderTransformer(n_components=8, network=LSTMNetwork(input_shape=(8, 8)),
                                **common), digits, transformer),
        ("VAETransformer, dense", VAETransformer(n_components=8, **common), digits,
         ("transform", "score_samples")),
        ("VAETransformer, dense, loss='bce'",
         VAETransformer(n_components=8, loss="bce", scaling="minmax", **common), digits,
         ("score_samples",)),
        ("AutoencoderOutlierDetector, dense (8 members)", AutoencoderOutlierDetector(**common),
         cancer, detector),
        ("AutoencoderOutlierDetector, dense, false_alarm_rate=0.05",
         AutoencoderOutlierDetector(false_alarm_rate=0.05, **common), cancer,
         ("decision_function", "predict")),
        ("AutoencoderOutlierDetector, conv (4 members)",
         AutoencoderOutlierDetector(n_estimators=4, network=ConvNetwork(input_shape=(1, 8, 8)),
                                    **common), digits, detector),
        ("AutoencoderOutlierDetector, vae (4 members)",
         AutoencoderOutlierDetector(n_estimators=4, objective="vae", **common), cancer,
         ("score_samples",)),
    ]


def _median_seconds(fns, repeats):
    times = [[] for _ in fns]
    for _ in range(repeats):
        for fn, record in zip(fns, times):
            start = time.perf_counter()
            fn()
            record.append(time.perf_counter() - start)
    return [float(np.median(record)) for record in times]


def measure(max_steps=300, repeats=5):
    """One row per estimator and method: agreement and seconds."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    rows = []
    for name, estimator, X, methods in models(max_steps):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            estimator.fit(X)
        for method in methods:
            inputs = estimator.transform(X) if method == "inverse_transform" else X
            start = time.perf_counter()
            model = to_onnx(estimator, method=method)
            export_seconds = time.perf_counter() - start
            session = onnxruntime.InferenceSession(model.SerializeToString(), options,
                                                   providers=["CPUExecutionProvider"])
            expected = getattr(estimator, method)(inputs)
            got = session.run(None, {"X": inputs})[0]
            difference = np.abs(got.astype(np.float64) - expected)
            # skae's own float64 computation, for the size of float32 rounding.
            float64 = getattr(estimator, method)(inputs.astype(np.float64))
            skae_s, onnx_s = _median_seconds(
                [lambda: getattr(estimator, method)(inputs),  # noqa: B023
                 lambda: session.run(None, {"X": inputs})], repeats)  # noqa: B023
            rows.append({
                "model": name, "method": method, "rows": len(inputs),
                "max_abs_difference": float(difference.max()),
                "skae_float64_max_abs_difference": float(np.abs(float64 - expected).max()),
                "output_scale": float(np.abs(expected).max()),
                "max_relative_difference": float(
                    (difference / np.maximum(np.abs(expected), 1e-30)).max()),
                "allclose_1e-5": bool(np.allclose(got, expected, rtol=1e-5, atol=1e-5)),
                "labels_differing": (int((got != expected).sum()) if method == "predict"
                                     else None),
                "skae_seconds": skae_s, "onnxruntime_seconds": onnx_s,
                "export_seconds": export_seconds,
            })
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-steps", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=5)
    add_out_argument(parser)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    rows = measure(args.max_steps, args.repeats)
    command = ("python -m benchmarks.onnx_export "
               f"--max-steps {args.max_steps} --repeats {args.repeats}")
    lines = [f"Command: `{command}`", "",
             (f"float32 input, CPU, 1 thread, median of {args.repeats}, "
              f"max_steps={args.max_steps}:"), "",
             ("| model | method | max abs diff | skae float64 vs float32 | output scale | "
              "max rel diff | allclose 1e-5 | skae (ms) | onnxruntime (ms) | export (s) |"),
             "|---|---|---:|---:|---:|---:|---|---:|---:|---:|"]
    lines += [f"| {row['model']} | {row['method']} | {row['max_abs_difference']:.1e} | "
              f"{row['skae_float64_max_abs_difference']:.1e} | "
              f"{row['output_scale']:.3g} | {row['max_relative_difference']:.1e} | "
              f"{'yes' if row['allclose_1e-5'] else 'no'}"
              + (f" ({row['labels_differing']} labels differ)"
                 if row["labels_differing"] else "")
              + f" | {1e3 * row['skae_seconds']:.1f} | {1e3 * row['onnxruntime_seconds']:.1f}"
              f" | {row['export_seconds']:.1f} |" for row in rows]
    print("\n".join(lines))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "onnx_export.json").write_text(json.dumps(
        {"max_steps": args.max_steps, "repeats": args.repeats, "rows": rows}, indent=2))
    (args.out / "onnx_export.md").write_text("\n".join(lines) + "\n")
    return rows


if __name__ == "__main__":
    main()
