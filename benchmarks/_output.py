"""Where the benchmark scripts write their results.

By default every script writes under ``benchmarks/results/latest/``, which git
ignores, so a run never dirties the checkout. The committed results in
``benchmarks/results/`` (which the documentation includes) are refreshed
deliberately, by passing ``--out benchmarks/results`` (``--out
benchmarks/results/quick`` for ``python -m benchmarks``).
"""

from pathlib import Path

#: The committed results, included by the documentation.
COMMITTED = Path(__file__).resolve().parent / "results"
#: The default output folder of every script (ignored by git).
LATEST = COMMITTED / "latest"


def add_out_argument(parser, default=LATEST, what="the results"):
    """Add the ``--out DIR`` option every benchmark script shares."""
    parser.add_argument(
        "--out", type=Path, default=default,
        help=f"folder for {what} (default: {default.relative_to(COMMITTED.parent.parent)}, "
             "ignored by git; pass benchmarks/results to refresh the committed files)")
