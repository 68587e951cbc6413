"""Committed notebooks are clean, named and linked as the project expects."""
from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Callable

import nbformat
import pytest

from helpers import api_reference
from tests.test_aws_operation_docs import reached_operations, snake_operations

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
    problems = anatomy_problems(nb, path.name[:2])
    assert problems == [], f"{path.name} departs from the notebook conventions:\n- " + "\n- ".join(problems)


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


# -- anatomy (the notebook conventions, items 2, 3, 6, 7 and 8) ------------------------------------------------------
FRONT_AND_CLOSING = ("Overview", "Prerequisites", "Summary", "What's next", "Resources and references")
CLOSING = ("Summary", "What's next", "Resources and references")
EXERCISE_NOTEBOOKS = ("02", "04", "05")
HEADING2 = re.compile(r"^## (.+?)\??\s*$", re.MULTILINE)
API_LINE = re.compile(r"^\*\*AWS API:\*\* (.+)$")
API_LINK = re.compile(r"\[(\w+)\]\((https://[^)\s]+)\)")
ADMONITION = re.compile(
    r'<div class="alert alert-block alert-info"><b>Sandbox only:</b> .+?</div>'
    r'|<div class="alert alert-block alert-warning"><b>(?:In a real account|Erratum):</b> .+?</div>', re.S)
PSEUDO_ADMONITION = re.compile(
    r"^\s*(?:>\s*)?(?:[*_]{1,2}(?:Sandbox only|In a real account|Erratum|Note|Warning|Tip|Important|Caution)\b"
    r"|:::\s*\{|\[!(?:NOTE|WARNING|TIP|IMPORTANT|CAUTION)\])", re.MULTILINE | re.IGNORECASE)
EXERCISE_SOURCE = "# your code here"
SOLUTION_METADATA = {"jupyter": {"source_hidden": True}, "tags": ["solution"]}
REQUIRED_IN_IMPORTS = ("%load_ext helpers.under_the_hood", "from helpers.needs import needs")


def source(cell: dict) -> str:
    """Return a cell's source as one string (nbformat allows a string or a list of lines)."""
    return cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])


def as_python(code: str) -> str:
    """Return ``code`` with IPython magics and shell lines commented out, so that ``ast`` can read it."""
    return MAGIC.sub(lambda m: m.group(0)[:-1] + "#", code)


def code_cells(nb: dict) -> list[tuple[int, dict]]:
    """Return the notebook's code cells with their indices."""
    return [(i, c) for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"]


def sections(nb: dict) -> list[tuple[str, str, list[str]]]:
    """Return the ``##`` sections in order: (title, the section's markdown text after the heading, its code)."""
    found: list[tuple[str, str, list[str]]] = []
    for cell in nb["cells"]:
        text = source(cell)
        if cell["cell_type"] == "code":
            if found:
                found[-1][2].append(text)
            continue
        pieces = HEADING2.split(text)  # [before, title1, after1, title2, after2, ...]
        if found:
            found[-1] = (found[-1][0], found[-1][1] + pieces[0], found[-1][2])
        for title, after in zip(pieces[1::2], pieces[2::2]):
            found.append((title.strip(), after, []))
    return found


def overview_problems(nb: dict) -> list[str]:
    """Item 1: the Overview's numbered list has one item per body section."""
    found = sections(nb)
    overview = next((text for title, text, _ in found if title == "Overview"), None)
    if overview is None:
        return ["no ## Overview"]
    items = len(re.findall(r"^\d+\. ", overview, re.MULTILINE))
    body = [title for title, _, _ in found if title not in FRONT_AND_CLOSING]
    return [] if items == len(body) else [f"the Overview lists {items} items for {len(body)} sections ({body})"]


def imports_problems(nb: dict) -> list[str]:
    """Item 2: one imports cell up front (the first code cell) with ``%load_ext helpers.under_the_hood`` and
    ``needs``; no import in any later cell."""
    cells = code_cells(nb)
    if not cells:
        return ["no code cell: the imports cell is missing"]
    first_index, first = cells[0]
    problems = [f"the imports cell (the first code cell) lacks `{line}`" for line in REQUIRED_IN_IMPORTS
                if line not in source(first)]
    body = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "markdown" and HEADING2.search(source(c))
            and HEADING2.search(source(c)).group(1).strip() not in FRONT_AND_CLOSING]
    if body and first_index > body[0]:
        problems.append(f"the imports cell (cell {first_index}) comes after the first section (cell {body[0]})")
    for i, cell in cells[1:]:
        code = source(cell)
        if "%load_ext" in code:
            problems.append(f"cell {i} loads an extension: `%load_ext` belongs in the imports cell")
        try:
            tree = ast.parse(as_python(code))
        except SyntaxError as exc:
            problems.append(f"cell {i} is not valid Python: {exc}")
            continue
        imports = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
        problems += [f"cell {i} imports ({ast.unparse(n)}): move it to the imports cell" for n in imports]
    return problems


def helper_names(nb: dict) -> dict[str, tuple[str, str | None]]:
    """Return the names the imports cell binds from ``helpers``: name -> (module, function or None for a module)."""
    cells = code_cells(nb)
    bound: dict[str, tuple[str, str | None]] = {}
    if not cells:
        return bound
    for node in ast.walk(ast.parse(as_python(source(cells[0][1])))):
        if isinstance(node, ast.ImportFrom) and node.module == "helpers":
            bound.update({a.asname or a.name: (a.name, None) for a in node.names})
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("helpers."):
            module = node.module.split(".")[1]
            bound.update({a.asname or a.name: (module, a.name) for a in node.names})
    return bound


def aws_calls(code: str, bound: dict[str, tuple[str, str | None]]) -> set[str]:
    """Return the AWS operations ("service:Operation") the code reaches through helpers (per the static analysis of
    tests/test_aws_operation_docs.py) or through boto3 clients from ``target.client(...)`` bound to a name; not
    ``needs()``, whose look-ups check the cell's preconditions rather than do the section's work."""
    reached = reached_operations()
    try:
        tree = ast.parse(as_python(code))
    except SyntaxError:
        return set()
    clients = {n.targets[0].id: n.value.args[0].value for n in ast.walk(tree)
               if isinstance(n, ast.Assign) and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name)
               and isinstance(n.value, ast.Call) and isinstance(n.value.func, ast.Attribute)
               and n.value.func.attr == "client" and n.value.args and isinstance(n.value.args[0], ast.Constant)}
    operations: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in bound and bound[func.id][1] and func.id != "needs":
            operations |= reached.get(bound[func.id], frozenset())
        elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            owner = func.value.id
            if owner in bound and bound[owner][1] is None:
                operations |= reached.get((bound[owner][0], func.attr), frozenset())
            elif owner in clients:
                service = clients[owner]
                operation = snake_operations(service).get(func.attr)
                if operation:
                    operations.add(f"{service}:{operation}")
                elif func.attr == "get_paginator" and node.args and isinstance(node.args[0], ast.Constant) \
                        and node.args[0].value in snake_operations(service):
                    operations.add(f"{service}:{snake_operations(service)[node.args[0].value]}")
    return operations


def api_line_problems(nb: dict) -> list[str]:
    """Item 3: each ``##`` section whose code reaches AWS starts with an ``**AWS API:**`` line whose links name
    operations of the botocore model, link to their API reference page, and include one the section calls."""
    problems = []
    bound = helper_names(nb)
    for title, text, code in sections(nb):
        if title in FRONT_AND_CLOSING:
            continue
        reached = aws_calls("\n\n".join(code), bound)
        first_line = next((line for line in text.splitlines() if line.strip()), "")
        match = API_LINE.match(first_line)
        if not match:
            if reached:
                problems.append(f"section {title!r} calls AWS ({', '.join(sorted(reached)[:4])}…) but its first "
                                "line is not `**AWS API:** [Operation](url), ...`")
            continue
        links = API_LINK.findall(match.group(1))
        if not links:
            problems.append(f"section {title!r}: its AWS API line has no [Operation](url) link")
        named = set()
        for operation, url in links:
            services = [s for s in api_reference.DOC_BASES if api_reference.doc_url(s, operation) == url]
            if not services or not api_reference.has_operation(services[0], operation):
                problems.append(f"section {title!r}: {operation} ({url}) is not an operation of the botocore model "
                                "at its API reference URL (use helpers.api_reference.doc_url)")
            named |= {f"{s}:{operation}" for s in services}
        if reached and not named & reached:
            problems.append(f"section {title!r}: its AWS API line names none of the operations its code calls "
                            f"({', '.join(sorted(reached)[:6])})")
    return problems


def admonition_problems(nb: dict) -> list[str]:
    """Item 6: side notes only as the three admonition forms (Sandbox only, In a real account, Erratum)."""
    problems = []
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "markdown":
            continue
        text = source(cell)
        rest = ADMONITION.sub("", text)
        if "<div" in rest or "</div>" in rest:
            problems.append(f"cell {i}: a <div> that is not one of the three admonition forms")
        problems += [f"cell {i}: {m.group(0).strip()!r}… is a side note outside the three admonition forms"
                     for m in PSEUDO_ADMONITION.finditer(rest)]
    return problems


def exercise_problems(nb: dict, number: str) -> list[str]:
    """Item 7: in 02, 04 and 05 exactly one exercise (task, empty cell tagged exercise, hidden boto3 solution with
    asserts, questions to consider); none elsewhere."""
    cells = nb["cells"]
    starts = [i for i, c in enumerate(cells) if c["cell_type"] == "markdown"
              and source(c).startswith("### Your turn: ")]
    tagged = [i for i, c in enumerate(cells) if {"exercise", "solution"} & set(c.get("metadata", {}).get("tags", []))]
    if number not in EXERCISE_NOTEBOOKS:
        return [f"cells {starts + tagged}: an exercise outside 02, 04 and 05"] if starts or tagged else []
    if len(starts) != 1:
        return [f"{len(starts)} cells start with '### Your turn: <title>' (exactly one expected)"]
    i = starts[0]
    if i + 3 >= len(cells):
        return ["the exercise is cut short: task, exercise cell, solution and questions expected"]
    task, exercise, solution, questions = cells[i:i + 4]
    problems = []
    if len(source(task).splitlines()) < 2:
        problems.append("the exercise's task is only a title: say what to do")
    if exercise["cell_type"] != "code" or source(exercise) != EXERCISE_SOURCE \
            or exercise.get("metadata", {}).get("tags") != ["exercise"]:
        problems.append(f"after the task: a code cell of exactly {EXERCISE_SOURCE!r}, tagged exercise, left empty")
    elif exercise.get("outputs"):
        problems.append("the exercise cell has outputs")
    if solution["cell_type"] != "code" or solution.get("metadata") != SOLUTION_METADATA:
        problems.append(f"then the solution: a code cell with metadata {SOLUTION_METADATA}")
    else:
        tree = ast.parse(as_python(source(solution)))
        bound = helper_names(nb)
        if not any(isinstance(n, ast.Assert) for n in ast.walk(tree)):
            problems.append("the solution checks nothing: end it with asserts")
        if ".client(" not in source(solution):
            problems.append("the solution uses plain boto3: `iot = target.client(\"iot\")`")
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id in bound and node.id not in ("target", "needs"):
                problems.append(f"the solution uses the helper {node.id!r}: plain boto3 only (and needs())")
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "target" \
                    and node.attr != "client":
                problems.append(f"the solution uses target.{node.attr}: only target.client(...)")
    bullets = [line for line in source(questions).splitlines() if re.match(r"^\s*[-*] ", line)]
    if questions["cell_type"] != "markdown" or not source(questions).startswith("**Questions to consider**") \
            or not 2 <= len(bullets) <= 3:
        problems.append("then a markdown cell starting '**Questions to consider**' with 2-3 bullets")
    return problems


def closing_problems(nb: dict) -> list[str]:
    """Item 8: Summary, What's next, and Resources and references (with links to AWS pages) are the last sections,
    in that order."""
    found = sections(nb)
    titles = [title for title, _, _ in found]
    if tuple(titles[-3:]) != CLOSING:
        return [f"the last sections are {titles[-3:]}, not {list(CLOSING)}"]
    problems = [f"section {title!r} has code: the closing sections are text" for title, _, code in found[-3:] if code]
    if "https://docs.aws.amazon.com/" not in found[-1][1]:
        problems.append("'Resources and references' links no AWS page (https://docs.aws.amazon.com/...)")
    return problems


def check_cell_problems(nb: dict) -> list[str]:
    """Item 9: every code cell under a "Check your work" heading prints what it confirmed."""
    problems, checking = [], False
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "markdown":
            checking = "Check your work" in source(cell)
        elif checking and "print(" not in source(cell):
            problems.append(f"cell {i} checks your work silently: print what it confirmed")
    return problems


def anatomy_problems(nb: dict, number: str) -> list[str]:
    """Return every way the notebook departs from the conventions' items 1 (the Overview), 2, 3, 6, 7, 8 and 9."""
    return (overview_problems(nb) + imports_problems(nb) + api_line_problems(nb) + admonition_problems(nb) + exercise_problems(nb, number)
            + closing_problems(nb) + check_cell_problems(nb))


# -- the anatomy checks can fail: one conforming synthetic notebook, then one breach per rule ---------------------
AUDIT_API = f"**AWS API:** {api_reference.doc_link('iot', 'StartOnDemandAuditTask')}"


def synthetic_notebook() -> dict:
    """Return a small notebook that follows every anatomy rule, with an exercise (as in 02, 04 and 05)."""
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    cells = [
        md("# 05 · Title\n\n## Overview\n1. audit\n\n## Prerequisites\n| a | b |\n\n**Time:** 5 minutes."),
        code("%load_ext helpers.under_the_hood\nfrom helpers import audits, target\nfrom helpers.needs import needs\n"
             "from helpers.target import show_target\n\nshow_target()"),
        md(f"## 1. Audit\n{AUDIT_API}\n\n"
           '<div class="alert alert-block alert-info"><b>Sandbox only:</b> the clock moves.</div>'),
        code('%%calls\nneeds("environment")\ntask_id = audits.start_on_demand_audit(["LOGGING_DISABLED_CHECK"])'),
        md("### Your turn: count the findings\nList the findings of the audit with a paginator."),
        code(EXERCISE_SOURCE, metadata={"tags": ["exercise"]}),
        code('iot = target.client("iot")\npages = iot.get_paginator("list_audit_findings").paginate(taskId=task_id)\n'
             "found = [f for p in pages for f in p['findings']]\nassert found\nprint(len(found), 'findings')",
             metadata=SOLUTION_METADATA),
        md("**Questions to consider**\n- why page?\n- what else?"),
        md("### ✅ Check your work"),
        code('assert task_id\nprint("audit", task_id)'),
        md("## Summary\nDone.\n\n## What's next?\n99.\n\n## Resources and references\n"
           f"- {api_reference.doc_link('iot', 'StartOnDemandAuditTask')}"),
    ]
    return nbformat.v4.new_notebook(cells=cells)


def breach(change: Callable[[list], None]) -> list[str]:
    """Return the anatomy problems of the synthetic notebook after ``change`` edited it."""
    nb = synthetic_notebook()
    change(nb["cells"])
    return anatomy_problems(nb, "05")


def test_the_synthetic_notebook_conforms():
    assert anatomy_problems(synthetic_notebook(), "05") == []


def test_each_anatomy_rule_can_fail():
    def edit(index: int, old: str, new: str) -> Callable[[list], None]:
        """Return a change that replaces ``old`` by ``new`` in cell ``index``."""
        def change(cells: list) -> None:
            assert old in cells[index]["source"], old
            cells[index]["source"] = cells[index]["source"].replace(old, new)
        return change

    # 1: the Overview lists the sections
    assert any("Overview lists 2 items" in p for p in breach(edit(0, "1. audit", "1. audit\n2. more")))
    # 2: the imports cell, and no import later
    assert any("%load_ext" in p for p in breach(edit(1, "%load_ext helpers.under_the_hood\n", "")))
    assert any("imports (import os)" in p for p in breach(edit(3, "needs(", "import os\nneeds(")))
    # 3: the AWS API line, its operations, and that it names what the section calls
    assert any("first line is not" in p for p in breach(edit(2, AUDIT_API, "Audit now.")))
    assert any("not an operation" in p for p in breach(edit(2, "StartOnDemandAuditTask", "StartAuditNow")))
    assert any("names none" in p for p in breach(
        edit(2, "StartOnDemandAuditTask", "DeleteScheduledAudit")))
    # 6: admonitions only in the three forms
    assert any("admonition" in p for p in breach(edit(2, "<b>Sandbox only:</b>", "<b>Note:</b>")))
    assert any("side note" in p for p in breach(edit(2, '<div class="alert alert-block alert-info"><b>Sandbox only:'
                                                        "</b> the clock moves.</div>", "*Erratum:* wrong.")))
    # 7: exactly one exercise, empty, tagged; a hidden boto3 solution with asserts; questions
    assert any("# your code here" in p for p in breach(edit(5, EXERCISE_SOURCE, "print(1)")))
    assert any("checks nothing" in p for p in breach(edit(6, "assert found\n", "")))
    assert any("helper 'audits'" in p for p in breach(edit(6, "print(len(found)", "print(audits.x(), len(found)")))
    assert any("Questions to consider" in p for p in breach(edit(7, "- what else?", "")))
    assert any("exactly one" in p for p in breach(lambda cells: cells.insert(4, nbformat.v4.new_markdown_cell(
        "### Your turn: again\ntask"))))
    assert any("outside 02, 04 and 05" in p for p in anatomy_problems(synthetic_notebook(), "03"))

    def hide_nothing(cells: list) -> None:
        cells[6]["metadata"] = {"tags": ["solution"]}
    assert any("metadata" in p for p in breach(hide_nothing))
    # 8: Summary, What's next, Resources and references, last and in order
    assert any("last sections" in p for p in breach(edit(10, "## Summary", "## Wrap-up")))
    assert any("links no AWS page" in p for p in breach(
        edit(10, api_reference.doc_link("iot", "StartOnDemandAuditTask"), "the AWS docs")))
    # 9: a check cell prints what it confirmed
    assert any("silently" in p for p in breach(edit(9, 'print("audit", task_id)', "task_id")))
