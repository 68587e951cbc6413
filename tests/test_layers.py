"""The layers of ../shared/DESIGN.md hold: imports point down only, with no cycle anywhere inside ``helpers/``.

Every import counts, at module level, inside functions and under ``TYPE_CHECKING`` alike: an import hidden inside a
function still ties two modules together.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HELPERS = ROOT / "helpers"


def _module_name(path: Path) -> str:
    """Return the dotted module name of a file under the repository root."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    """Return every module under helpers/ by dotted name."""
    return {_module_name(p): p for p in sorted(HELPERS.rglob("*.py"))}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Return the helpers modules that module ``name`` imports (anywhere in its body)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # ``from . import x`` imports the module x; ``from .m import x`` imports m
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def _graph() -> dict[str, set[str]]:
    """Return module -> imported helpers modules, for every module under helpers/."""
    modules = _modules()
    known = set(modules)
    return {name: _imports(name, path, known) for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Return the strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_inside_helpers() -> None:
    assert _cycles(_graph()) == []


def test_spec_is_a_leaf() -> None:
    graph = _graph()
    outside = {m: sorted(d for d in deps if not d.startswith("helpers.spec"))
               for m, deps in graph.items() if m.startswith("helpers.spec")}
    assert {m: d for m, d in outside.items() if d} == {}


def test_the_sandbox_imports_only_itself_and_spec() -> None:
    graph = _graph()
    upward = {m: sorted(d for d in deps if not d.startswith(("helpers.sandbox", "helpers.spec")))
              for m, deps in graph.items() if m.startswith("helpers.sandbox")}
    assert {m: d for m, d in upward.items() if d} == {}


@pytest.mark.parametrize("package", ["helpers", "helpers.spec"])
def test_aws_mode_modules_do_not_load_the_sandbox(package: str) -> None:
    names = sorted(m for m in _modules() if (m.rpartition(".")[0] == package or m == package)
                   and not m.startswith("helpers.sandbox"))
    code = ("import importlib, sys\n"
            f"for name in {names!r}:\n"
            "    importlib.import_module(name)\n"
            "loaded = sorted(m for m in sys.modules if m.startswith(('helpers.sandbox', 'moto', 'werkzeug')))\n"
            "print(','.join(loaded))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"importing {package} loaded {result.stdout.strip()}"
