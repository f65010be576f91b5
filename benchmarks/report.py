"""The suite's written results: JSON, a markdown report and an reST fragment for the docs.

The markdown and reST tables are rendered from the same rows, so the report
and the documentation always show the same numbers.
"""

import json

#: Columns of the results table: (key, heading, format of the value).
COLUMNS = [
    ("reconstruction_mse", "test MSE", "{:.4g}"),
    ("knn_accuracy", "5-NN acc.", "{:.3f}"),
    ("logreg_accuracy", "LR acc.", "{:.3f}"),
    ("trustworthiness", "trust. (2-D)", "{:.3f}"),
    ("fit_seconds", "fit s", "{:.3g}"),
    ("transform_rows_per_second", "transform rows/s", "{:,.0f}"),
]


def _cell(row, key, fmt):
    value = row.get(key)
    if value is None:
        return ""
    text = fmt.format(value)
    ratio = row.get("ratio_to_pca", {}).get(key)
    if ratio is not None and row["estimator"] != "PCA":
        text += f" ({format_ratio(ratio)})"
    return text


def format_ratio(ratio):
    """Two decimals near 1, fewer for the large ratios of fit times."""
    if ratio >= 100:
        return f"{ratio:,.0f}x"
    return f"{ratio:.1f}x" if ratio >= 10 else f"{ratio:.2f}x"


def _estimator_name(row):
    if "from_n_components" in row:
        return f"{row['estimator']} (from {row['from_n_components']})"
    return row["estimator"]


def table_rows(dataset_result):
    """Header and body of one dataset's table, as lists of strings."""
    header = ["code size", "estimator"] + [heading for _, heading, _ in COLUMNS]
    body = [[str(row["n_components"]), _estimator_name(row)]
            + [_cell(row, key, fmt) for key, _, fmt in COLUMNS]
            for row in dataset_result["rows"]]
    return header, body


def markdown_table(header, body):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cells) + " |" for cells in body]
    return "\n".join(lines)


def rst_table(header, body):
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for cells in [header] + body:
        lines.append("   * - " + (cells[0] or ".."))
        lines += ["     - " + (cell or "..") for cell in cells[1:]]
    return "\n".join(lines)


def _dataset_caption(d):
    return (f"{d['n_train']} training and {d['n_test']} test rows, "
            f"{d['n_features']} features; code sizes {', '.join(map(str, d['code_sizes']))}.")


LEGEND = (
    "Each cell is the figure and, in brackets, its ratio to PCA's at the same code size, "
    "measured in the same run. Test MSE is in the space the estimators train in (pixels in "
    "[0, 1] for images, standardised features for tables); lower is better. Accuracies are "
    "of a 5-nearest-neighbour and a logistic-regression classifier trained on the codes. "
    "Trustworthiness (5 neighbours) is of 2-D embeddings; the t-SNE row embeds the widest "
    "codes in 2-D. Timings are wall-clock seconds and rows per second on the machine "
    "described above."
)


def _environment_lines(meta):
    return [
        f"Command: `{meta['command']}`",
        (f"Run on {meta['date']}: {meta['cpu_count']} CPU cores, torch {meta['torch']} "
         f"({meta['torch_threads']} threads), scikit-learn {meta['sklearn']}, "
         f"device {meta['device']}; wall time {meta['wall_seconds']:.0f} s."),
        meta["note"],
    ]


def _overhead_lines(overhead):
    return [(f"Training overhead (`python -m benchmarks.overhead` settings: digits, "
             f"batch 128, {overhead['epochs']} epochs, median of {overhead['repeats']}): "
             f"skae through skorch {overhead['skae_seconds']:.3f} s, hand-written torch loop "
             f"{overhead['torch_seconds']:.3f} s, ratio **{overhead['ratio']:.3f}x**.")]


def write_json(results, path):
    with open(path, "w") as stream:
        json.dump(results, stream, indent=1)


def write_markdown(results, figures, path):
    """The full report: environment, one table per dataset, overhead, figures."""
    meta = results["meta"]
    lines = ["# skae benchmark suite: autoencoders against PCA", ""]
    lines += [line + "  " for line in _environment_lines(meta)] + ["", LEGEND, ""]
    for d in results["datasets"]:
        lines += [f"## {d['name']}", "", _dataset_caption(d), ""]
        lines += [markdown_table(*table_rows(d)), ""]
    for skipped in results["skipped"]:
        lines += [f"Skipped {skipped['name']}: {skipped['reason']}", ""]
    if "overhead" in results:
        lines += ["## Training overhead", ""] + _overhead_lines(results["overhead"]) + [""]
    if figures:
        lines += ["## Figures", ""]
        lines += [f"![{name}]({name})" for name in figures] + [""]
    with open(path, "w") as stream:
        stream.write("\n".join(lines))


def write_rst(results, path):
    """Tables only, for ``.. include::`` in the documentation (figures sit in the page)."""
    meta = results["meta"]
    lines = [line.replace("`", "``") for line in _environment_lines(meta)]
    lines = ["| " + line for line in lines] + ["", LEGEND, ""]
    for d in results["datasets"]:
        title = d["name"]
        lines += [title, "~" * len(title), "", _dataset_caption(d), ""]
        lines += [rst_table(*table_rows(d)), ""]
    if "overhead" in results:
        lines += ["Training overhead", "~" * 17, ""]
        lines += [line.replace("`", "``") for line in _overhead_lines(results["overhead"])]
        lines.append("")
    with open(path, "w") as stream:
        stream.write("\n".join(lines))
