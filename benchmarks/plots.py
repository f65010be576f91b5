"""The suite's figures, drawn with matplotlib's non-interactive Agg backend.

Every function takes the :class:`~benchmarks.suite.DatasetResult` objects of
a run and the output folder, writes one PNG and returns its file name, or
``None`` when the run has nothing to draw.

The figures drawn from the tables alone (error against code size, loss
curves) are redrawn from a committed ``results.json``, in seconds and with no
training, by::

    python -m benchmarks.plots benchmarks/results/quick
"""

import argparse
import json
from pathlib import Path
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

DPI = 110
COLOURS = {"PCA": "tab:gray", "AE": "tab:blue", "VAE": "tab:orange"}


def _colour(label):
    return COLOURS.get(label, None)


# What an estimator's ``loss_curve`` holds: the suite's AE minimises the mean
# squared error, the VAE the negative ELBO. They differ in kind and by three
# orders of magnitude, so each gets its own axes and label.
LOSS_LABELS = {"AE": "mean squared error", "VAE": "negative ELBO (nats per row)"}


def _log_y(ax):
    """A log y axis labelled in plain numbers, with labels that cannot overlap.

    Call it once the data are drawn: a range of two decades or less is
    labelled at 1, 2 and 5 of each decade, a wider one at the decades only, and
    a range too narrow for two such labels at every integer multiple.
    """
    ax.set_yscale("log")
    low, high = ax.get_ylim()
    subs = (1.0, 2.0, 5.0) if high / low <= 100 else (1.0,)
    ticks = LogLocator(subs=subs).tick_values(low, high)
    if np.count_nonzero((ticks >= low) & (ticks <= high)) < 2:
        subs = np.arange(1.0, 10.0)
    plain = FuncFormatter(lambda value, _: f"{value:g}")
    ax.yaxis.set_major_locator(LogLocator(subs=subs))
    ax.yaxis.set_major_formatter(plain)
    ax.yaxis.set_minor_locator(LogLocator(subs=np.arange(2.0, 10.0)))
    ax.yaxis.set_minor_formatter(NullFormatter())


def _save(fig, out_dir, name):
    fig.savefig(out_dir / name, dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return name


def _grid(n, width=4.2, height=3.4, max_columns=4):
    columns = min(n, max_columns)
    rows = -(-n // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(width * columns, height * rows),
                             squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:n])


def error_vs_code_size(results, out_dir):
    """Test reconstruction error against code size, one panel per dataset."""
    drawn = [r for r in results if len(r.code_sizes) > 0]
    if not drawn:
        return None
    fig, axes = _grid(len(drawn))
    for ax, result in zip(axes, drawn):
        labels = dict.fromkeys(row["estimator"] for row in result.rows
                               if "reconstruction_mse" in row)
        for label in labels:
            rows = [row for row in result.rows
                    if row["estimator"] == label and "reconstruction_mse" in row]
            ax.plot([row["n_components"] for row in rows],
                    [row["reconstruction_mse"] for row in rows],
                    marker="o", label=label, color=_colour(label))
        ax.set_xscale("log", base=2)
        _log_y(ax)
        ax.set_xticks(result.code_sizes, [str(k) for k in result.code_sizes])
        ax.xaxis.set_minor_locator(plt.NullLocator())
        ax.set_xlabel("code size")
        ax.set_ylabel("test reconstruction MSE")
        ax.set_title(f"{result.dataset.name} ({result.n_features} features)")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle("Reconstruction error against code size (lower is better)")
    fig.tight_layout()
    return _save(fig, out_dir, "error_vs_code_size.png")


def embeddings(result, out_dir):
    """2-D codes of the test rows side by side, coloured by label."""
    panels = result.embeddings
    if not panels:
        return None
    # Two columns at most: the page shows a figure about 1000 pixels wide, and
    # four panels side by side would shrink each title to a few pixels.
    fig, axes = _grid(len(panels), width=4.6, height=4.4, max_columns=2)
    y = np.asarray(result.y_embedded)
    classes = np.unique(y)
    cmap = plt.get_cmap("tab10" if len(classes) <= 10 else "tab20")
    for ax, (label, (Z, trust)) in zip(axes, panels.items()):
        for i, cls in enumerate(classes):
            mask = y[:len(Z)] == cls
            ax.scatter(Z[mask, 0], Z[mask, 1], s=6, alpha=0.7, color=cmap(i % cmap.N),
                       label=str(cls), linewidths=0)
        ax.set_title(f"{label}\ntrustworthiness {trust:.3f}", fontsize=13)
        ax.set_xticks([])
        ax.set_yticks([])
    handles, names = axes[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="center right", markerscale=3, title="label",
               bbox_to_anchor=(1.0, 0.5), frameon=False, fontsize=11)
    fig.suptitle(f"{result.dataset.name}: 2-D embeddings of {len(y)} test rows",
                 fontsize=14)
    fig.tight_layout(rect=(0, 0, 0.88, 1))
    return _save(fig, out_dir, f"embeddings_{result.dataset.name}.png")


def reconstructions(result, out_dir):
    """Test images and their reconstructions by every estimator at one code size."""
    if result.dataset.image_shape is None or not result.reconstructions:
        return None
    errors = {row["estimator"]: row["reconstruction_mse"] for row in result.rows
              if row["n_components"] == result.reconstruction_size
              and "reconstruction_mse" in row}
    rows = {"original": result.originals,
            **{f"{label}\nMSE {errors[label]:.4f}": images
               for label, images in result.reconstructions.items()}}
    n = len(result.originals)
    fig, axes = plt.subplots(len(rows), n, figsize=(0.9 * n + 0.9, 0.95 * len(rows)),
                             squeeze=False)
    for r, (label, images) in enumerate(rows.items()):
        for c in range(n):
            ax = axes[r, c]
            ax.imshow(np.clip(images[c].reshape(result.dataset.image_shape), 0, 1),
                      cmap="gray_r", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r, 0].set_ylabel(label, rotation=0, ha="right", va="center")
    fig.suptitle(f"{result.dataset.name}: test images and reconstructions from "
                 f"{result.reconstruction_size} components")
    fig.tight_layout()
    return _save(fig, out_dir, f"reconstructions_{result.dataset.name}.png")


def loss_curves(results, out_dir):
    """Training loss per epoch, one panel per dataset and kind of loss.

    The AE's squared error and the VAE's negative ELBO are different
    quantities, so they never share an axis: each row of panels is a dataset,
    each column an estimator, and each y axis names its loss. The legends
    stand outside the panels, where they hide no line.
    """
    drawn = [r for r in results if any("loss_curve" in row for row in r.rows)]
    if not drawn:
        return None
    estimators = list(dict.fromkeys(row["estimator"] for r in drawn for row in r.rows
                                    if "loss_curve" in row))
    fig, axes = plt.subplots(len(drawn), len(estimators), squeeze=False,
                             figsize=(5.2 * len(estimators), 3.3 * len(drawn)))
    styles = ["-", "--", ":", "-."]
    for result, row_axes in zip(drawn, axes):
        for estimator, ax in zip(estimators, row_axes):
            rows = [row for row in result.rows
                    if row["estimator"] == estimator and "loss_curve" in row]
            for row in rows:
                style = styles[result.code_sizes.index(row["n_components"]) % len(styles)]
                curve = row["loss_curve"]
                ax.plot(np.arange(1, len(curve) + 1), curve, style,
                        color=_colour(estimator), label=f"{row['n_components']}")
            if not rows:
                ax.set_visible(False)
                continue
            _log_y(ax)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_xlabel("epoch")
            ax.set_ylabel(LOSS_LABELS.get(estimator, "training loss"))
            ax.set_title(f"{result.dataset.name}: {estimator}")
            ax.grid(alpha=0.3)
            ax.legend(title="code size", fontsize=8, loc="upper left",
                      bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.suptitle("Training loss per epoch (each panel on its own scale)")
    fig.tight_layout()
    return _save(fig, out_dir, "loss_curves.png")


def _from_json(entry):
    """A stand-in for a DatasetResult with what the table-only figures read."""
    return SimpleNamespace(dataset=SimpleNamespace(name=entry["name"]),
                           n_features=entry["n_features"],
                           code_sizes=entry["code_sizes"], rows=entry["rows"])


def redraw(folder):
    """Redraw the table-only figures of a run from its ``results.json``."""
    folder = Path(folder)
    results = [_from_json(entry)
               for entry in json.loads((folder / "results.json").read_text())["datasets"]]
    names = [error_vs_code_size(results, folder), loss_curves(results, folder)]
    return [name for name in names if name]


def draw_all(results, out_dir):
    """Every figure of a run; returns the file names written."""
    names = [error_vs_code_size(results, out_dir)]
    for result in results:
        names += [embeddings(result, out_dir), reconstructions(result, out_dir)]
    names.append(loss_curves(results, out_dir))
    return [name for name in names if name]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.plots",
        description="Redraw error_vs_code_size.png and loss_curves.png from a "
                    "results.json, without training anything.")
    parser.add_argument("folder", help="a run's folder, e.g. benchmarks/results/quick")
    for name in redraw(parser.parse_args().folder):
        print(name)
