"""The Python snippets of the documentation name only what they define.

Each page's ``.. code-block:: python`` blocks are read in order as one
session (later blocks may use what earlier ones defined) and parsed; a name
that is read but never imported or assigned on the page is the ``NameError``
a reader would get. Nothing is executed, so this costs milliseconds; the
gallery's examples, which are executed at every documentation build, cover
what the snippets compute.
"""

import ast
import builtins
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGES = sorted(path for path in DOCS.rglob("*.rst")
               if not {"_build", "auto_examples", "generated"} & set(path.parts))
_DIRECTIVE = re.compile(r"^(\s*)\.\. code-block:: python\s*$")


def _python_blocks(text):
    """The source of every ``code-block:: python`` of a reST page, in order."""
    lines = text.splitlines()
    blocks, i = [], 0
    while i < len(lines):
        match = _DIRECTIVE.match(lines[i])
        i += 1
        if not match:
            continue
        indent = len(match.group(1))
        while i < len(lines) and lines[i].strip().startswith(":"):  # directive options
            i += 1
        body = []
        while i < len(lines) and (not lines[i].strip()
                                  or len(lines[i]) - len(lines[i].lstrip()) > indent):
            body.append(lines[i])
            i += 1
        if not any(line.strip() for line in body):
            continue  # an empty block
        width = min(len(line) - len(line.lstrip()) for line in body if line.strip())
        blocks.append("\n".join(line[width:] for line in body))
    return blocks


def _undefined_names(source):
    tree = ast.parse(source)
    bound, read = set(dir(builtins)), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
    return sorted(read - bound)


def test_the_checker_finds_an_undefined_name():
    page = """
Text.

.. code-block:: python

   from skae import AutoencoderOutlierDetector

   detector = AutoencoderOutlierDetector().fit(X_train)

More text.
"""
    blocks = _python_blocks(page)
    assert len(blocks) == 1
    assert _undefined_names("\n".join(blocks)) == ["X_train"]


@pytest.mark.parametrize("page", PAGES, ids=lambda path: str(path.relative_to(DOCS)))
def test_snippets_define_every_name_they_use(page):
    blocks = _python_blocks(page.read_text())
    assert _undefined_names("\n\n".join(blocks)) == []
