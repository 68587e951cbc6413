"""IAM's decision for one request of an identity: the identity's policy documents against the action, the resource
ARN and the request's condition context, as AWS evaluates identity-based policies (an explicit Deny wins, then any
Allow, else the implicit deny).

Conditions cover the operators the workshop's policies use and their common relatives: ``String*`` (``Equals``,
``NotEquals``, ``EqualsIgnoreCase``, ``Like``, ``NotLike``), ``Arn*`` (``Equals``, ``Like``, ``NotEquals``,
``NotLike``), ``Bool`` and ``Null``, each with the ``ForAllValues:``/``ForAnyValue:`` set prefixes and the
``IfExists`` suffix. An operator outside that list never matches, so a statement using it neither allows nor
denies: :func:`unsupported_operators` names them, so a rehearsal can record what it could not check.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from .policies import ALLOW, DENY, Statement, parse_policy, resource_matches

ALLOWED, EXPLICIT_DENY, IMPLICIT_DENY = "allowed", "explicitly denied", "implicitly denied"
_BASE_OPERATORS = frozenset({"stringequals", "stringnotequals", "stringequalsignorecase", "stringlike",
                             "stringnotlike", "arnequals", "arnlike", "arnnotequals", "arnnotlike", "bool", "null"})
_NEGATED = frozenset({"stringnotequals", "stringnotlike", "arnnotequals", "arnnotlike"})


@dataclass(frozen=True)
class Need:
    """One authorisation a request needs: an IAM action on a resource ARN, with the request's condition keys
    (lower-case key → values; a key absent from the request is absent here)."""

    action: str
    resource: str
    context: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)


def _split(operator: str) -> tuple[str, str, bool]:
    """Return (set prefix or "", base operator, IfExists) of a condition operator, all lower case."""
    op = operator.lower()
    prefix = ""
    for candidate in ("forallvalues:", "foranyvalue:"):
        if op.startswith(candidate):
            prefix, op = candidate[:-1], op[len(candidate):]
    if_exists = op.endswith("ifexists") and op != "ifexists"
    return prefix, op[: -len("ifexists")] if if_exists else op, if_exists


def _value_matches(base: str, pattern: str, value: str) -> bool:
    """Return True when one request ``value`` satisfies one condition ``pattern`` under a positive ``base``."""
    if base in ("stringequals", "arnequals"):
        return value == pattern if base == "stringequals" else resource_matches(pattern, value)
    if base == "stringequalsignorecase":
        return value.lower() == pattern.lower()
    if base in ("stringlike", "arnlike"):
        return resource_matches(pattern, value)
    if base == "bool":
        return value.lower() == pattern.lower()
    return False


def _condition_holds(operator: str, patterns: tuple[str, ...], values: tuple[str, ...] | None) -> bool:
    """Return True when one condition (operator, its values) holds for the request's ``values`` of its key."""
    prefix, base, if_exists = _split(operator)
    if base not in _BASE_OPERATORS:
        return False
    if base == "null":
        absent = not values
        return any(absent == (p.lower() == "true") for p in patterns)
    if not values:
        # IAM: a key the request lacks satisfies IfExists and ForAllValues (the empty set), and nothing else
        return if_exists or prefix == "forallvalues"
    positive = base.replace("not", "", 1) if base in _NEGATED else base

    def one(value: str) -> bool:
        hit = any(_value_matches(positive, p, value) for p in patterns)
        return not hit if base in _NEGATED else hit

    if prefix == "forallvalues":
        return all(one(v) for v in values)
    return any(one(v) for v in values)


def conditions_hold(statement: Statement, context: Mapping[str, tuple[str, ...]]) -> bool:
    """Return True when every condition of ``statement`` holds for the request ``context``."""
    for operator, keys in statement.conditions.items():
        for key, patterns in keys.items():
            if not _condition_holds(operator, patterns, context.get(key.lower())):
                return False
    return True


def _applies(statement: Statement, need: Need) -> bool:
    """Return True when ``statement`` applies to the need's action, resource and conditions."""
    if not statement.covers_action(need.action):
        return False
    if not statement.covers_resource(need.resource, grant_more=statement.effect == ALLOW):
        return False
    return conditions_hold(statement, need.context)


def decide(documents: Iterable[str | Mapping[str, Any]], need: Need) -> str:
    """Return :data:`ALLOWED`, :data:`EXPLICIT_DENY` or :data:`IMPLICIT_DENY` for ``need`` under the identity's
    policy ``documents``."""
    allowed = False
    for document in documents:
        for statement in parse_policy(document):
            if _applies(statement, need):
                if statement.effect == DENY:
                    return EXPLICIT_DENY
                allowed = True
    return ALLOWED if allowed else IMPLICIT_DENY


def unsupported_operators(documents: Iterable[str | Mapping[str, Any]]) -> list[str]:
    """Return, sorted, the condition operators in ``documents`` this evaluator cannot check (they never match)."""
    found = {op for document in documents for st in parse_policy(document) for op in st.conditions
             if _split(op)[1] not in _BASE_OPERATORS}
    return sorted(found)
