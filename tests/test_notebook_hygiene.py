"""Committed notebooks are clean, named and linked as the project expects."""
from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)|<img[^>]+src=[\"']([^\"']+)[\"']")
MAGIC = re.compile(r"^\s*[%!]", re.MULTILINE)


def test_notebooks_were_found():
    assert NOTEBOOKS, "no notebooks found: the glob or the layout is wrong"
    assert NOTEBOOKS[0].name == "00-start-here.ipynb"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_clean(path: Path):
    nb = json.loads(path.read_text())
    assert re.fullmatch(r"\d\d-[a-z0-9]+(-[a-z0-9]+)*\.ipynb", path.name), "name must be NN-kebab-title.ipynb"
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    assert "widgets" not in nb["metadata"], "widget state must be stripped"
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code":
            assert not cell.get("outputs"), f"cell {i} has outputs: run `make strip`"
            assert cell.get("execution_count") is None, f"cell {i} has an execution count: run `make strip`"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_nbstripout_would_change_nothing(path: Path):
    proc = subprocess.run([sys.executable, "-m", "nbstripout", "--verify", str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, f"{path.name} is not clean: run `make strip` ({proc.stdout}{proc.stderr})"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_local_links_and_images_exist(path: Path):
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        for match in LINK.finditer("".join(cell["source"])):
            target = (match.group(1) or match.group(2)).split("#")[0]
            if not target or re.match(r"^[a-z]+:", target):
                continue  # web links are checked by people, not CI (CI is offline)
            assert (path.parent / target).exists(), f"{path.name} links to missing {target}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_anatomy(path: Path):
    nb = json.loads(path.read_text())
    text = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    first = "".join(nb["cells"][0]["source"])
    assert first.startswith("# "), "open with the title"
    for heading in ("## Overview", "## Prerequisites", "**Time:**", "## Summary", "## What's next"):
        assert heading in text, f"missing {heading}"
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert "show_target()" in code, "every notebook shows the active-target banner"
    assert "input(" not in code, "never input() in a notebook"
    assert "Check your work" in text and "assert " in code, "needs 'check your work' assert cells"


def code_of(path: Path) -> str:
    """Return the notebook's code cells joined, IPython magics and shell lines commented out."""
    nb = json.loads(path.read_text())
    cells = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    return MAGIC.sub(lambda m: m.group(0)[:-1] + "#", "\n\n".join(cells))


def private_uses(code: str) -> list[str]:
    """Return what ``code`` reaches that is not the helpers' public API: a ``_private`` name imported from
    ``helpers``, a ``_private`` attribute of anything imported from ``helpers``, and raw ``/_sandbox/`` control
    paths (the helpers give each sandbox control a named function)."""
    tree = ast.parse(code)
    found = [f"raw control path {m.group(0)!r}" for m in re.finditer(r"/_sandbox/[\w/.-]*", code)]
    helper_names = {"helpers"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            helper_names |= {(a.asname or a.name).split(".")[0] for a in node.names if a.name.startswith("helpers")}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("helpers"):
            helper_names |= {a.asname or a.name for a in node.names}
            found += [f"from {node.module} import {a.name}" for a in node.names if a.name.startswith("_")]
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            chain, root = [node.attr], node.value
            while isinstance(root, ast.Attribute):
                chain.append(root.attr)
                root = root.value
            private = [a for a in chain if a.startswith("_") and not a.startswith("__")]
            if private and isinstance(root, ast.Name) and root.id in helper_names:
                found.append(f"{root.id}.{'.'.join(reversed(chain))} (line {node.lineno})")
    return found


def test_the_private_use_check_can_fail():
    code = ("from helpers import mitigation\nfrom helpers.audits import _check_task_id\n"
            "mitigation._iot().list_things()\nsandbox_control('POST', '/_sandbox/iot/crls')\nimport pandas as pd\n"
            "pd.DataFrame()._repr_html_()\n")
    found = private_uses(code)
    assert any("mitigation._iot" in f for f in found) and any("_check_task_id" in f for f in found)
    assert any("/_sandbox/iot/crls" in f for f in found) and not any("_repr_html_" in f for f in found)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_use_only_the_public_helpers(path: Path):
    """A notebook is what attendees copy: it calls named, documented helpers, never a private one or a raw control."""
    assert private_uses(code_of(path)) == [], "give the action a public helper with a docstring and call that"
