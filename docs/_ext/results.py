"""Figures quoted in the documentation and the README, read from committed results.

Every benchmark writes a JSON file under ``benchmarks/results/``. A page
quotes one of its numbers by naming it, so that the number on the page is
the number in the file and a re-run refreshes every page that quotes it:

* in reST, the role ``:result:`overhead/batch_size=32/ratio {:.3f}x``` is
  replaced by ``1.087x`` at build time;
* in Markdown (the README), the figure is followed by a comment naming it,
  ``1.087x<!-- result overhead/batch_size=32/ratio {:.3f}x -->``, which
  ``python docs/_ext/results.py README.md`` checks and ``--write`` refreshes.

A *reference* is a path and an optional format. The path starts with a
results file, ``benchmarks/results/<path>.json`` without ``.json``
(``quick/results`` for ``benchmarks/results/quick/results.json``), then
walks into it one ``/``-separated step at a time: a key of a mapping, the
index of a list item, or ``field=value`` (several joined by ``,``), the
one list item whose fields have those values. Where several items have them,
the reference goes on into each and ends with ``mean``, ``std`` (of the
population, as :func:`numpy.std`), ``min`` or ``max`` of them (which, where
only one item matched, is its number). A last step
``*N`` multiplies the number by N (``seconds/*1000`` for milliseconds). The
format, after a space, is
a :meth:`str.format` template that starts with ``{`` (or ``**{``); ``{:.3g}`` by default.
In reST, a template between ``**`` (``**{:.3f}**``) shows the figure in bold.
Keys may hold spaces.
"""

import argparse
import json
import re
import statistics
import sys
from functools import cache
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results"
DEFAULT_FORMAT = "{:.3g}"
# A figure in Markdown, then the comment that names it.
MARKDOWN_FIGURE = re.compile(r"(?P<shown>[-+]?[\d.,]*\d[\d.,%x]*)<!-- result (?P<ref>[^>]*?) -->")


class ResultError(LookupError):
    """A reference that names no number of the committed results."""


class _Many(list):
    """The list items that a ``field=value`` step selected, when there are several."""


# Steps that reduce several selected numbers to one (std: the population's, as numpy's).
_AGGREGATES = {"mean": statistics.fmean, "std": statistics.pstdev, "min": min, "max": max}


@cache
def _load(path):
    return json.loads(path.read_text())


def _split(reference):
    """``(results file, steps inside it, format)`` of a reference."""
    path, _, template = (re.split(r"( (?=\*\*\{|\{))", reference.strip(), maxsplit=1)
                         + ["", ""])[:3]
    parts = path.split("/")
    for end in range(len(parts), 0, -1):
        candidate = RESULTS.joinpath(*parts[:end]).with_suffix(".json")
        if candidate.is_file():
            return candidate, parts[end:], template.strip() or DEFAULT_FORMAT
    raise ResultError(f"{reference!r}: no results file benchmarks/results/{path}... exists")


def _conditions(step, fields):
    """``[(field, value), ...]`` of a ``field=value,...`` step.

    A comma starts a new condition only where one of the items' fields and
    ``=`` follow it, so that a value may hold commas (and even ``=``).
    """
    conditions = []
    for piece in step.split(","):
        field, equals, value = piece.partition("=")
        if conditions and not (equals and field.strip() in fields):
            conditions[-1][1] += "," + piece
        else:
            conditions.append([field, value])
    return conditions


def _step(node, step, reference):
    if step.startswith("*") and isinstance(node, (int, float)):
        return node * float(step[1:])  # a change of unit: seconds/*1000 for milliseconds
    if step in _AGGREGATES and isinstance(node, (int, float)):
        return node  # a selection that matched a single item
    if isinstance(node, _Many):
        if step in _AGGREGATES:
            return _AGGREGATES[step](node)
        return _Many(_step(item, step, reference) for item in node)
    if isinstance(node, dict) and step in node:
        return node[step]
    if isinstance(node, list):
        if step.lstrip("-").isdigit() and -len(node) <= int(step) < len(node):
            return node[int(step)]
        conditions = _conditions(step, {key for item in node if isinstance(item, dict)
                                        for key in item})
        matches = [item for item in node if isinstance(item, dict)
                   and all(str(item.get(field)) == value for field, value in conditions)]
        if len(matches) == 1:
            return matches[0]
        if matches:
            return _Many(matches)
        raise ResultError(f"{reference!r}: no item of the list matches {step!r}")
    raise ResultError(f"{reference!r}: no {step!r} in the results")


def value(reference):
    """The number a reference names."""
    path, steps, _ = _split(reference)
    node = _load(path)
    for step in steps:
        node = _step(node, step, reference)
    if isinstance(node, _Many):
        raise ResultError(f"{reference!r} names {len(node)} items; end it with one of "
                          f"{', '.join(_AGGREGATES)}")
    if isinstance(node, bool) or not isinstance(node, (int, float)):
        raise ResultError(f"{reference!r} names a {type(node).__name__}, not a number")
    return node


def figure(reference):
    """The number a reference names, formatted as the page shows it."""
    return _split(reference)[2].format(value(reference))


def check_markdown(text):
    """One line per figure of a Markdown text that disagrees with its results file."""
    problems = []
    for match in MARKDOWN_FIGURE.finditer(text):
        try:
            expected = figure(match["ref"])
        except ResultError as error:
            problems.append(str(error))
            continue
        if match["shown"] != expected:
            problems.append(f"{match['shown']} should be {expected}: {match['ref']}")
    return problems


def refresh_markdown(text):
    """The Markdown text with every figure rewritten from its results file."""
    return MARKDOWN_FIGURE.sub(
        lambda m: f"{figure(m['ref'])}<!-- result {m['ref']} -->", text)


def _result_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    from docutils import nodes
    try:
        shown = figure(text)
        # A page that quotes a results file is rebuilt when the file changes.
        inliner.document.settings.env.note_dependency(str(_split(text)[0]))
        if len(shown) > 4 and shown.startswith("**") and shown.endswith("**"):
            return [nodes.strong(shown, shown[2:-2])], []  # reST cannot nest a role in **
        return [nodes.Text(shown)], []
    except (ResultError, ValueError) as error:
        message = inliner.reporter.error(str(error), line=lineno)
        return [inliner.problematic(rawtext, rawtext, message)], [message]


def setup(app):
    """The ``:result:`` role, for Sphinx."""
    app.add_role("result", _result_role)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def main(argv=None):
    parser = argparse.ArgumentParser(description="Check (or --write) the figures of "
                                     "Markdown files against benchmarks/results.")
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--write", action="store_true", help="rewrite the figures")
    args = parser.parse_args(argv)
    problems = []
    for path in args.files:
        text = path.read_text()
        if args.write:
            path.write_text(refresh_markdown(text))
        else:
            problems += [f"{path}: {problem}" for problem in check_markdown(text)]
    print("\n".join(problems) or "every figure matches its results file")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
