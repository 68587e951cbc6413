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

from .policies import ALLOW, DENY, UNMATCHABLE, Bindings, Statement, parse_policy, resource_matches

ALLOWED, EXPLICIT_DENY, IMPLICIT_DENY = "allowed", "explicitly denied", "implicitly denied"
_BASE_OPERATORS = frozenset({"stringequals", "stringnotequals", "stringequalsignorecase", "stringnotequalsignorecase",
                             "stringlike", "stringnotlike", "arnequals", "arnlike", "arnnotequals", "arnnotlike", "bool", "null"})
_NEGATED = frozenset({"stringnotequals", "stringnotequalsignorecase", "stringnotlike", "arnnotequals", "arnnotlike"})


@dataclass(frozen=True)
class Need:
    """One authorisation a request needs: an IAM action on a resource ARN, with the request's condition keys
    (lower-case key → values; a key absent from the request is absent here)."""

    action: str
    resource: str
    context: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)
    bindings: Bindings = ()  # policy variables (lower-case name -> value)
    # True: a variable without a binding matches nothing (AWS IoT Core authorising a device); False: it is read
    # the way that grants more, as for the question "could this identity ever do it"
    strict_variables: bool = False

    @property
    def unresolved(self) -> str | None:
        """Return what an unbound variable stands for in patterns: nothing (strict), or anything (None)."""
        return UNMATCHABLE if self.strict_variables else None


def _split(operator: str) -> tuple[str, str, bool]:
    """Return (set prefix or "", base operator, IfExists) of a condition operator, all lower case."""
    op = operator.lower()
    prefix = ""
    for candidate in ("forallvalues:", "foranyvalue:"):
        if op.startswith(candidate):
            prefix, op = candidate[:-1], op[len(candidate):]
    if_exists = op.endswith("ifexists") and op != "ifexists"
    return prefix, op[: -len("ifexists")] if if_exists else op, if_exists


def _value_matches(base: str, pattern: str, value: str, need: Need) -> bool:
    """Return True when one request ``value`` satisfies one condition ``pattern`` under a positive ``base``."""
    if base == "stringequals":
        return value == pattern
    if base == "stringequalsignorecase":
        return value.lower() == pattern.lower()
    if base in ("stringlike", "arnlike", "arnequals"):
        return resource_matches(pattern, value, need.bindings, unresolved=need.unresolved)
    if base == "bool":
        return value.lower() == pattern.lower()
    return False


def _condition_holds(operator: str, patterns: tuple[str, ...], values: tuple[str, ...] | None, need: Need) -> bool:
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
        hit = any(_value_matches(positive, p, value, need) for p in patterns)
        return not hit if base in _NEGATED else hit

    if prefix == "forallvalues":
        return all(one(v) for v in values)
    return any(one(v) for v in values)


def conditions_hold(statement: Statement, need: Need) -> bool:
    """Return True when every condition of ``statement`` holds for the request's context."""
    for operator, keys in statement.conditions.items():
        for key, patterns in keys.items():
            if not _condition_holds(operator, patterns, need.context.get(key.lower()), need):
                return False
    return True


def _applies(statement: Statement, need: Need) -> bool:
    """Return True when ``statement`` applies to the need's action, resource and conditions."""
    if not statement.covers_action(need.action):
        return False
    # strict: covers_resource reads unbound variables as matching nothing when grant_more equals not_resource
    grant_more = statement.not_resource if need.strict_variables else statement.effect == ALLOW
    if not statement.covers_resource(need.resource, need.bindings, grant_more=grant_more):
        return False
    return conditions_hold(statement, need)


def decide_statements(statements: Iterable[Statement], need: Need) -> str:
    """Return :data:`ALLOWED`, :data:`EXPLICIT_DENY` or :data:`IMPLICIT_DENY` for ``need`` under parsed policy
    ``statements`` (a Deny that applies wins, then any Allow that applies)."""
    allowed = False
    for statement in statements:
        if _applies(statement, need):
            if statement.effect == DENY:
                return EXPLICIT_DENY
            allowed = True
    return ALLOWED if allowed else IMPLICIT_DENY


def decide(documents: Iterable[str | Mapping[str, Any]], need: Need) -> str:
    """Return :func:`decide_statements` for the identity's policy ``documents``."""
    return decide_statements((st for document in documents for st in parse_policy(document)), need)


def unsupported_operators(documents: Iterable[str | Mapping[str, Any]]) -> list[str]:
    """Return, sorted, the condition operators in ``documents`` this evaluator cannot check (they never match)."""
    found = {op for document in documents for st in parse_policy(document) for op in st.conditions
             if _split(op)[1] not in _BASE_OPERATORS}
    return sorted(found)
