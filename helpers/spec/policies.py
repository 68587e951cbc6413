"""Parse IAM / AWS IoT policy documents and match their actions and resources, with wildcards and policy variables.

A document becomes a tuple of :class:`Statement` (Action/NotAction, Resource/NotResource and Condition values
always as tuples). Matching follows the IAM conventions both policy languages share:

* actions: ``*`` and ``?`` wildcards, case-insensitive (``iot:*``, ``iot:Get*``, ``*``);
* resources: ``*`` and ``?`` wildcards, case-sensitive, ``*`` crossing ``/`` and ``:``; MQTT's ``+`` and ``#`` are
  ordinary characters in a policy;
* policy variables ``${...}``: ``${*}``, ``${?}`` and ``${$}`` stand for the literal characters; any other variable
  takes the value given in the bindings, where ``None`` means "any value" (a wildcard); a variable without a
  binding takes ``unresolved`` (``None`` = wildcard, or a literal string).

Matching never backtracks (:mod:`helpers.spec.wildcards`): a hostile pattern such as ``*a*a*a…!`` costs
O(len(resource) × len(pattern)), not exponential time. Compiled patterns are cached, so evaluating many copies of
the same document stays cheap.

Role-level questions a service asks before acting (does the trust policy let it assume the role, does the role
allow an action) are answered here too, with the same parser: :func:`trusts_service`, :func:`allows`.
"""
from __future__ import annotations

import json
import re
import urllib.parse
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Callable, Iterable, Mapping

from .wildcards import ANY, ONE, Glob, GlobSet, Token

ALLOW = "Allow"
DENY = "Deny"

# name (lower case) -> value; None = the variable can take any value
Bindings = tuple[tuple[str, str | None], ...]

_VARIABLE_OR_WILDCARD = re.compile(r"\$\{([^}]*)\}|[*?]")
_LITERAL_VARIABLES = {"*": "*", "?": "?", "$": "$"}
_NEVER = "\x00unresolved\x00"  # a value no resource contains: a variable bound to it never matches
UNMATCHABLE = _NEVER  # for callers whose unresolved variables must match nothing (AWS IoT Core at run time)


class PolicyDocumentError(ValueError):
    """A policy document that is not valid JSON or not shaped like a policy."""


@dataclass(frozen=True)
class Statement:
    """One policy statement. ``not_action``/``not_resource`` say that ``actions``/``resources`` are the exclusions."""

    effect: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    not_action: bool = False
    not_resource: bool = False
    # operator -> condition key -> values (all strings, booleans as "true"/"false")
    conditions: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict, hash=False)
    # trust policies only: principal type ("Service", "AWS", "*", ...) -> values
    principals: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)

    def covers_action(self, action: str) -> bool:
        """Return True when this statement applies to ``action`` (NotAction taken into account)."""
        hit = any(action_matches(p, action) for p in self.actions)
        return hit != self.not_action

    def covers_resource(self, resource: str, bindings: Bindings = (), *, grant_more: bool = True) -> bool:
        """Return True when this statement applies to ``resource`` (NotResource taken into account).

        Unbound variables are read in the direction ``grant_more`` asks for: for an Allow (True) they widen what
        the statement covers, for a Deny (False) they narrow it, so both readings err towards "permitted".
        """
        return self.resource_test(bindings, grant_more=grant_more)(resource)

    def resource_test(self, bindings: Bindings = (), *, grant_more: bool = True) -> Callable[[str], bool]:
        """Return a function telling whether this statement applies to a resource (see :meth:`covers_resource`)."""
        widen = grant_more != self.not_resource
        matcher = _compile_any(self.resources, bindings, None if widen else _NEVER)
        if self.not_resource:
            return lambda resource: not matcher.matches(resource)
        return matcher.matches

    def condition_values(self, operator: str, key: str) -> tuple[str, ...]:
        """Return the values of condition ``operator``/``key`` (both case-insensitive), or () when absent."""
        for op, keys in self.conditions.items():
            if op.lower() == operator.lower():
                for k, values in keys.items():
                    if k.lower() == key.lower():
                        return values
        return ()


def parse_policy(document: str | Mapping[str, Any], *, trust: bool = False) -> tuple[Statement, ...]:
    """Return the statements of a policy document (JSON text, URL-encoded JSON text as IAM returns it, or a dict).

    Raises :class:`PolicyDocumentError` (a ``ValueError``) when the text is not JSON or not shaped like a policy.
    """
    data = _load(document) if isinstance(document, str) else document
    if not isinstance(data, Mapping):
        raise PolicyDocumentError("a policy document must be a JSON object")
    if "Statement" not in data:
        raise PolicyDocumentError("a policy document needs a Statement")
    raw = data["Statement"]
    items = [raw] if isinstance(raw, Mapping) else raw
    if not isinstance(items, list):
        raise PolicyDocumentError("Statement must be an object or a list of objects")
    return tuple(_statement(item, i, trust) for i, item in enumerate(items))


def parse_trust_policy(document: str | Mapping[str, Any]) -> tuple[Statement, ...]:
    """Return the statements of a role's trust policy (Principal kept, Resource optional); see :func:`parse_policy`."""
    return parse_policy(document, trust=True)


def _load(text: str) -> Any:
    """Return the decoded JSON of ``text``, URL-decoding it first when it is URL-encoded."""
    stripped = text.strip()
    if stripped.startswith("%7B") or stripped.startswith("%7b"):
        stripped = urllib.parse.unquote(stripped)
    try:
        return json.loads(stripped)
    except json.JSONDecodeError as exc:
        raise PolicyDocumentError(f"a policy document must be valid JSON: {exc}") from None


def _statement(item: Any, index: int, trust: bool = False) -> Statement:
    """Return the normalised statement ``item`` (number ``index`` in the document; ``trust`` for trust policies)."""
    where = f"Statement[{index}]"
    if not isinstance(item, Mapping):
        raise PolicyDocumentError(f"{where} must be an object")
    effect = item.get("Effect")
    if effect not in (ALLOW, DENY):
        raise PolicyDocumentError(f"{where}.Effect must be 'Allow' or 'Deny', got {effect!r}")
    actions, not_action = _either(item, "Action", "NotAction", where)
    if trust and "Resource" not in item and "NotResource" not in item:
        resources, not_resource = (), False
    else:
        resources, not_resource = _either(item, "Resource", "NotResource", where)
    principals = _principals(item.get("Principal"), where) if trust else {}
    return Statement(effect, actions, resources, not_action, not_resource, _conditions(item.get("Condition"), where),
                     principals)


def _principals(value: Any, where: str) -> dict[str, tuple[str, ...]]:
    """Return a trust statement's Principal as type -> values (``"*"`` becomes ``{"*": ("*",)}``)."""
    if value is None:
        return {}
    if value == "*":
        return {"*": ("*",)}
    if not isinstance(value, Mapping):
        raise PolicyDocumentError(f"{where}.Principal must be \"*\" or an object such as {{\"Service\": ...}}")
    return {kind: _strings(v, f"{where}.Principal.{kind}") for kind, v in value.items()}


def _either(item: Mapping[str, Any], name: str, not_name: str, where: str) -> tuple[tuple[str, ...], bool]:
    """Return the values of exactly one of ``name``/``not_name`` and whether it was the ``not_name`` one."""
    if (name in item) == (not_name in item):
        raise PolicyDocumentError(f"{where} needs exactly one of {name} and {not_name}")
    key = name if name in item else not_name
    return _strings(item[key], f"{where}.{key}"), key == not_name


def _strings(value: Any, where: str) -> tuple[str, ...]:
    """Return ``value`` (a string or a list of strings) as a tuple of strings."""
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise PolicyDocumentError(f"{where} must be a string or a list of strings")
    return tuple(values)


def _conditions(value: Any, where: str) -> dict[str, dict[str, tuple[str, ...]]]:
    """Return a Condition block with every value as a tuple of strings."""
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(keys, Mapping) for keys in value.values()):
        raise PolicyDocumentError(f"{where}.Condition must map operators to objects of condition keys")
    return {op: {key: _condition_values(v, f"{where}.Condition.{op}.{key}") for key, v in keys.items()}
            for op, keys in value.items()}


def _condition_values(value: Any, where: str) -> tuple[str, ...]:
    """Return condition values as strings (JSON booleans as "true"/"false", numbers as their text)."""
    values = value if isinstance(value, list) else [value]
    out = []
    for v in values:
        if isinstance(v, bool):
            out.append("true" if v else "false")
        elif isinstance(v, (str, int, float)):
            out.append(str(v))
        else:
            raise PolicyDocumentError(f"{where} must be a string, number, boolean or a list of them")
    return tuple(out)


def action_matches(pattern: str, action: str) -> bool:
    """Return True when the action pattern (``iot:*``, ``iot:Get*``, ``*``) matches ``action``, ignoring case."""
    return _compile(pattern, (), None, True).matches(action)


def resource_matches(pattern: str, resource: str, bindings: Bindings = (), *, unresolved: str | None = None) -> bool:
    """Return True when the resource pattern matches ``resource`` (variables per ``bindings``/``unresolved``)."""
    return _compile(pattern, bindings, unresolved, False).matches(resource)


def has_wildcard(pattern: str) -> bool:
    """Return True when ``pattern`` contains a ``*`` or ``?`` wildcard outside ``${...}``."""
    return any(m.group(1) is None for m in _VARIABLE_OR_WILDCARD.finditer(pattern))


def example_match(pattern: str, bindings: Bindings = (), filler: str = "x") -> str:
    """Return one concrete string the pattern matches: wildcards and unbound variables become ``filler``."""
    values = dict(bindings)

    def fill(m: re.Match[str]) -> str:
        name = m.group(1)
        if name is None:
            return filler
        if name in _LITERAL_VARIABLES:
            return _LITERAL_VARIABLES[name]
        value = values.get(name.lower())
        return filler if value is None else value

    return _VARIABLE_OR_WILDCARD.sub(fill, pattern)


def widen_location(pattern: str) -> str:
    """Return an ARN pattern with its partition, region and account replaced by ``*`` (other patterns unchanged)."""
    parts = pattern.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn" or any("${" in part for part in parts[:5]):
        return pattern
    return ":".join(["arn", "*", parts[2], "*", "*", parts[5]])


def widen_statement(statement: Statement) -> Statement:
    """Return the statement with every resource pattern passed through :func:`widen_location`."""
    return replace(statement, resources=tuple(widen_location(p) for p in statement.resources))


def arn_resource(pattern: str) -> str | None:
    """Return the resource part of an ARN pattern (``client/x`` in ``arn:aws:iot:r:a:client/x``), or None."""
    parts = pattern.split(":", 5)
    return parts[5] if len(parts) == 6 and parts[0] == "arn" else None


@lru_cache(maxsize=16384)
def _compile_any(patterns: tuple[str, ...], bindings: Bindings, unresolved: str | None) -> GlobSet:
    """Return a matcher for what any of the resource ``patterns`` matches."""
    return GlobSet([_compile(p, bindings, unresolved, False) for p in patterns])


@lru_cache(maxsize=16384)
def _compile(pattern: str, bindings: Bindings, unresolved: str | None, ignore_case: bool) -> Glob:
    """Return the glob for a pattern with ``*``/``?`` wildcards and ``${...}`` variables resolved per ``bindings``."""
    values = dict(bindings)
    tokens: list[Token] = []
    pos = 0
    for m in _VARIABLE_OR_WILDCARD.finditer(pattern):
        tokens.append(pattern[pos:m.start()])
        pos = m.end()
        name = m.group(1)
        if name is None:
            tokens.append(ANY if m.group(0) == "*" else ONE)
        elif name in _LITERAL_VARIABLES:
            tokens.append(_LITERAL_VARIABLES[name])
        else:
            value = values[name.lower()] if name.lower() in values else unresolved
            tokens.append(ANY if value is None else value)
    tokens.append(pattern[pos:])
    return Glob(tokens, ignore_case)


@lru_cache(maxsize=4096)
def _lenient(document: str) -> tuple[Statement, ...]:
    """Return the statements of a permission policy, or () when it does not parse (it then grants nothing)."""
    try:
        return parse_policy(document)
    except PolicyDocumentError:
        return ()


def trusts_service(assume_role_policy: str | Mapping[str, Any], service: str = "iot.amazonaws.com") -> bool:
    """Return True when the trust policy lets ``service`` call sts:AssumeRole (conditions are not evaluated)."""
    try:
        statements = parse_trust_policy(assume_role_policy)
    except PolicyDocumentError:
        return False
    return any(st.effect == ALLOW and st.covers_action("sts:AssumeRole")
               and ("*" in st.principals or service in st.principals.get("Service", ()))
               for st in statements)


def allows(policy_documents: Iterable[str | Mapping[str, Any]], action: str) -> bool:
    """Return True when some statement allows ``action`` and none denies it on every resource (resources are not
    narrowed: this is the question "may the role call this action at all"). Documents are JSON text (URL-encoded or
    not) or already decoded, as boto3 returns IAM's."""
    allowed = False
    for document in policy_documents:
        text = document if isinstance(document, str) else json.dumps(document, sort_keys=True)
        for st in _lenient(text):
            if not st.covers_action(action):
                continue
            if st.effect == DENY and not st.not_resource and "*" in st.resources:
                return False
            allowed = allowed or st.effect == ALLOW
    return allowed


def missing_actions(policy_documents: Iterable[str | Mapping[str, Any]], actions: Iterable[str]) -> list[str]:
    """Return the actions of ``actions`` that the policy documents do not allow."""
    documents = tuple(policy_documents)
    return [a for a in actions if not allows(documents, a)]
