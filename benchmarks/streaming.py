"""``partial_fit`` on a table streamed from disk in chunks: time and peak memory.

A ``--rows`` x 50 float32 table (rank-5 structure plus noise) is written to a
``.npy`` file in a temporary folder block by block, so it is never in memory
whole. ``AutoencoderTransformer.partial_fit`` then trains on it chunk by chunk
(``--chunk`` rows, each read through a fresh ``np.load(mmap_mode='r')``, so the
pages of earlier chunks leave the process), for ``--epochs`` passes, and
``score_samples`` scores it chunk by chunk. Reported: seconds, the mean
reconstruction error of the last chunk, and the peak resident memory of the
process against its resident memory before training and the table's size.

Run: ``python -m benchmarks.streaming [--rows 2000000] [--chunk 100000] [--epochs 1]
[--threads N]``
"""

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from skae import AutoencoderTransformer

from ._output import add_out_argument
from ._timing import add_threads_argument, apply_threads

N_FEATURES = 50
BLOCK = 100_000


def _rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def write_table(path, n_rows, seed=0):
    """Write the table to ``path`` block by block; never all of it in memory."""
    rng = np.random.RandomState(seed)
    mixing = rng.standard_normal((5, N_FEATURES))
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(
            f, {"descr": np.lib.format.dtype_to_descr(np.dtype(np.float32)),
                "fortran_order": False, "shape": (n_rows, N_FEATURES)})
        for start in range(0, n_rows, BLOCK):
            rows = min(BLOCK, n_rows - start)
            block = (rng.standard_normal((rows, 5)) @ mixing
                     + 0.1 * rng.standard_normal((rows, N_FEATURES)))
            f.write(block.astype(np.float32).tobytes())


def chunks(path, chunk):
    """The rows of the table in ``path``, ``chunk`` at a time, each from a fresh memory map."""
    n_rows = np.load(path, mmap_mode="r").shape[0]
    for start in range(0, n_rows, chunk):
        table = np.load(path, mmap_mode="r")
        block = np.array(table[start:start + chunk])
        del table  # unmap: its pages leave the process
        yield block


def measure(n_rows=2_000_000, chunk=100_000, epochs=1):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "table.npy"
        write_table(path, n_rows)
        rss_before = _rss_mib()
        model = AutoencoderTransformer(n_components=5, random_state=0)
        start = time.perf_counter()
        for _ in range(epochs):
            for block in chunks(path, chunk):
                model.partial_fit(block)
        fit_seconds = time.perf_counter() - start
        start = time.perf_counter()
        errors = [-model.score_samples(block).mean() for block in chunks(path, chunk)]
        score_seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10  # KiB on Linux
    return {"rows": n_rows, "features": N_FEATURES, "chunk": chunk, "epochs": epochs,
            "table_mib": n_rows * N_FEATURES * 4 / 2**20, "rss_before_mib": rss_before,
            "peak_rss_mib": peak, "fit_seconds": fit_seconds, "score_seconds": score_seconds,
            "n_steps": model.n_steps_, "last_chunk_error": float(errors[-1])}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--chunk", type=int, default=100_000)
    parser.add_argument("--epochs", type=int, default=1)
    add_threads_argument(parser)
    add_out_argument(parser)
    args = parser.parse_args(argv)
    apply_threads(args)
    r = measure(args.rows, args.chunk, args.epochs)
    text = (f"{r['rows']} x {r['features']} float32 ({r['table_mib']:.0f} MiB on disk), "
            f"chunks of {r['chunk']}, {r['epochs']} epoch(s), {r['n_steps']} steps: "
            f"partial_fit {r['fit_seconds']:.1f} s, score_samples {r['score_seconds']:.1f} s, "
            f"mean error of the last chunk {r['last_chunk_error']:.4f}; peak RSS "
            f"{r['peak_rss_mib']:.0f} MiB (before training {r['rss_before_mib']:.0f} MiB)")
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "streaming.json").write_text(json.dumps(r, indent=2))
    (args.out / "streaming.md").write_text(text + "\n")
    return r


if __name__ == "__main__":
    main()
