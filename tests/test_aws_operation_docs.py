"""Every public helper that calls AWS says which API operations in its docstring ("AWS operation:" with links to the
API reference), and every operation it names exists in the botocore model.

Which functions call AWS is found statically: a method call on a boto3 client from ``helpers.target`` (bound to a
name, an attribute, or called in place), a paginator or waiter of one, or a call to another helper that does.
A function's own direct operations must all be named; one that reaches AWS only through other helpers names at
least its main operation.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pytest
from botocore import xform_name

from helpers import api_reference

ROOT = Path(__file__).resolve().parent.parent
HELPERS = ROOT / "helpers"
SKIP_PACKAGES = ("sandbox", "spec")
SERVICES = ("iot", "iam", "sns", "sts", "cognito-identity", "sqs", "iot-data")
# names the helpers give their clients, when the binding is not visible (a parameter)
CLIENT_NAMES = {"iot": "iot", "iam": "iam", "sns": "sns", "sts": "sts", "cognito": "cognito-identity",
                "sqs": "sqs"}
# reached only through a reference the static analysis counts as a call
NOT_CALLING = {("cli", "build_parser"): "names each subcommand's function; main() runs it"}
MARKER = re.compile(r"AWS operations?:(.*?)(?:\n\s*\n|\Z)", re.S)
LINK = re.compile(r"\[(\w+)\]\((https://[^)\s]+)\)")


@lru_cache(maxsize=None)
def snake_operations(service: str) -> dict[str, str]:
    """Return boto3 method name -> operation name for ``service``."""
    return {xform_name(op): op for op in api_reference.service_model(service).operation_names}


@dataclass
class Function:
    module: str
    name: str
    node: ast.FunctionDef
    public: bool
    direct: set[str] = field(default_factory=set)  # "service:Operation"
    calls: set[tuple[str, str]] = field(default_factory=set)  # (module, function) of other helpers


def _client_service(node: ast.AST, bindings: dict[str, str]) -> str | None:
    """Return the service of the boto3 client expression ``node``, or None when it is not one."""
    if isinstance(node, ast.Call):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name == "client" and node.args and isinstance(node.args[0], ast.Constant):
            return node.args[0].value
        return bindings.get(f"{name}()")  # a local function returning a client
    if isinstance(node, ast.Name):
        return bindings.get(node.id) or CLIENT_NAMES.get(node.id)
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
        return bindings.get(node.attr) or CLIENT_NAMES.get(node.attr)
    return None


def _operation(service: str, method: str, args: list[ast.expr]) -> str | None:
    if service not in SERVICES:
        return None
    if method in ("get_paginator", "get_waiter") and args and isinstance(args[0], ast.Constant):
        if method == "get_waiter":
            waiter = api_reference._botocore_session().get_waiter_model(service).get_waiter(
                "".join(w.capitalize() for w in args[0].value.split("_")))
            return waiter.operation
        return snake_operations(service).get(args[0].value)
    return snake_operations(service).get(method)


def _module_functions(path: Path) -> tuple[str, list[Function], dict[str, str]]:
    """Return the module name, its functions (module level and methods), and names of imported helper modules."""
    module = path.stem
    tree = ast.parse(path.read_text())
    bindings: dict[str, str] = {}
    imported: dict[str, str] = {}  # local name -> helpers module (or module.function)
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            service = _client_service(node.value, {})
            if service:
                for t in node.targets:
                    if isinstance(t, ast.Name):
                        bindings[t.id] = service
                    elif isinstance(t, ast.Attribute):
                        bindings[t.attr] = service
        elif isinstance(node, ast.ImportFrom) and (node.level == 1 or node.module == "helpers" or
                                                   (node.module or "").startswith("helpers.")):
            base = (node.module or "").removeprefix("helpers").lstrip(".")
            for alias in node.names:
                if not base:
                    imported[alias.asname or alias.name] = alias.name
                elif "." not in base:
                    imported[alias.asname or alias.name] = f"{base}.{alias.name}"
    for node in tree.body:  # client factories (def _iot(): return target.client("iot")) and paging helpers
        if isinstance(node, ast.FunctionDef):
            for sub in ast.walk(node):
                if isinstance(sub, ast.Return) and sub.value is not None:
                    service = _client_service(sub.value, bindings)
                    if service:
                        bindings[f"{node.name}()"] = service
                if (isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute)
                        and sub.func.attr == "get_paginator" and sub.args and isinstance(sub.args[0], ast.Name)):
                    service = _client_service(sub.func.value, bindings)
                    if service:
                        bindings[f"{node.name}(paginator)"] = service
    functions = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            functions.append(Function(module, node.name, node, not node.name.startswith("_")))
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    functions.append(Function(module, f"{node.name}.{item.name}", item, False))
    for node in tree.body:  # dispatch tables (NAME = {key: function or lambda}): a call NAME[key](...) runs them
        name = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(node.value, ast.Dict) and isinstance(
                name, ast.Name):
            table = ast.FunctionDef(name=f"{name.id}[]", args=None, body=[ast.Expr(node.value)],
                                    decorator_list=[], lineno=node.lineno)
            functions.append(Function(module, table.name, table, False))
    local = {f.name for f in functions}
    classes = {f.name.split(".")[0] for f in functions if "." in f.name}
    for fn in functions:
        for ref in (n for n in ast.walk(fn.node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)):
            if ref.id in local and ref.id != fn.name:  # a helper passed as a callback, or held in a table
                fn.calls.add((module, ref.id))
        for call in (n for n in ast.walk(fn.node) if isinstance(n, ast.Call)):
            func = call.func
            if isinstance(func, ast.Attribute):
                service = _client_service(func.value, bindings)
                op = _operation(service, func.attr, call.args) if service else None
                if op:
                    fn.direct.add(f"{service}:{op}")
                elif isinstance(func.value, ast.Name) and func.value.id in imported and "." not in imported[
                        func.value.id]:
                    fn.calls.add((imported[func.value.id], func.attr))
                elif isinstance(func.value, ast.Name) and func.value.id == "self" and "." in fn.name:
                    fn.calls.add((module, f"{fn.name.split('.')[0]}.{func.attr}"))
            elif isinstance(func, ast.Subscript) and isinstance(func.value, ast.Name):
                fn.calls.add((module, f"{func.value.id}[]"))
            elif isinstance(func, ast.Name):
                pager = bindings.get(f"{func.id}(paginator)")
                if pager and call.args and isinstance(call.args[0], ast.Constant):
                    op = _operation(pager, "get_paginator", call.args[:1])
                    if op:
                        fn.direct.add(f"{pager}:{op}")
                if func.id in local:
                    fn.calls.add((module, func.id))
                elif func.id in classes:  # an instance's methods run on its behalf
                    fn.calls.update((module, f.name) for f in functions if f.name.startswith(f"{func.id}."))
                elif func.id in imported and "." in imported[func.id]:
                    fn.calls.add(tuple(imported[func.id].split(".", 1)))
    return module, functions, imported


@lru_cache(maxsize=1)
def helper_functions() -> dict[tuple[str, str], Function]:
    """Return every function of helpers/ outside sandbox/ and spec/, with what it calls."""
    table = {}
    for path in sorted(HELPERS.glob("*.py")):
        _, functions, _ = _module_functions(path)
        table.update({(f.module, f.name): f for f in functions})
    return table


@lru_cache(maxsize=1)
def reached_operations() -> dict[tuple[str, str], frozenset[str]]:
    """Return, per function, every operation it reaches directly or through other helpers (a fixed point)."""
    table = helper_functions()
    reached = {key: set(f.direct) for key, f in table.items()}
    changed = True
    while changed:
        changed = False
        for key, f in table.items():
            for callee in f.calls:
                extra = reached.get(callee, set()) - reached[key]
                if extra:
                    reached[key] |= extra
                    changed = True
    return {key: frozenset(ops) for key, ops in reached.items()}


def documented(docstring: str) -> list[tuple[str, str]] | None:
    """Return the (operation, url) links of the docstring's "AWS operation:" paragraph, or None without one."""
    match = MARKER.search(docstring or "")
    return LINK.findall(match.group(1)) if match else None


def aws_functions() -> list[Function]:
    reached = reached_operations()
    return [f for key, f in helper_functions().items() if f.public and reached[key] and key not in NOT_CALLING]


def test_the_analysis_finds_the_helpers_that_call_aws():
    reached = reached_operations()
    assert "iot:StartOnDemandAuditTask" in reached[("audits", "start_on_demand_audit")]
    assert "iot:DescribeAuditTask" in reached[("audits", "run_on_demand_audit")]  # through wait_for_audit
    assert "iot:ListAuditFindings" in reached[("findings", "list_findings")]
    assert "sts:GetCallerIdentity" in reached[("target", "caller_identity")]
    assert not reached[("target", "mask_account")]
    assert len(aws_functions()) > 40


@pytest.mark.parametrize("fn", aws_functions(), ids=lambda f: f"{f.module}.{f.name}")
def test_helper_docstring_names_its_aws_operations(fn):
    links = documented(ast.get_docstring(fn.node) or "")
    reached = sorted(reached_operations()[(fn.module, fn.name)])
    assert links is not None, (f"helpers/{fn.module}.py: {fn.name}() calls AWS ({', '.join(reached)}) but its "
                               "docstring has no 'AWS operation: [Name](link)' line; add one.")
    assert links, f"{fn.name}(): the 'AWS operation:' line links no operation ([Name](reference URL))."
    for op, url in links:
        services = [s for s in SERVICES if api_reference.has_operation(s, op)]
        assert services, f"{fn.name}(): {op} is not an operation of {', '.join(SERVICES)} in the botocore model."
        assert url in {api_reference.doc_url(s, op) for s in services}, (
            f"{fn.name}(): the link of {op} should be {api_reference.doc_url(services[0], op)}")
    named = {op for op, _ in links}
    missing = sorted(d.split(":")[1] for d in fn.direct if d.split(":")[1] not in named)
    assert not missing, f"{fn.name}() calls {', '.join(missing)} itself; name them on its 'AWS operation:' line."
