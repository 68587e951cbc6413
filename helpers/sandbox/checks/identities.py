"""Checks on the IAM roles devices get credentials from: Cognito identity pool roles and IoT role aliases.

UNAUTHENTICATED_COGNITO_ROLE_OVERLY_PERMISSIVE_CHECK, AUTHENTICATED_COGNITO_ROLE_OVERLY_PERMISSIVE_CHECK,
IOT_ROLE_ALIAS_OVERLY_PERMISSIVE_CHECK and IOT_ROLE_ALIAS_ALLOWS_ACCESS_TO_UNUSED_SERVICES_CHECK (reference §1.4).

Choices (documented where the reference is silent or UNCONFIRMED):

* All permission policy documents of a role are evaluated together (a Deny in one removes an Allow in another).
  A document that does not parse is ignored; the role's other documents are still evaluated.
* Cognito checks audit only pools with ``connected_recently``. A pool without the role in question counts as a
  compliant resource; a pool (or role alias) whose role is missing from the snapshot is skipped and not counted,
  since there is nothing to evaluate.
* One finding per resource. When several reason codes apply, the finding carries the most serious one, in the
  order of the ``_*_ORDER`` tuples below (admin access before data-plane access; account-wide IoT admin before
  thing writes before broad thing reads; for role aliases, access to security auditing services first, since it
  lets a stolen credential hide its tracks, then service-wide grants on used services), and the reason text has
  one sentence per code, in that order.
* Every finding names the role as a related IAM_ROLE resource (``iamRoleArn``): UNCONFIRMED for AWS, helpful here.
* The authenticated check reports broad data-plane access (MQTT connect/publish/subscribe, shadow and job actions
  on other devices, judged exactly as for the unauthenticated role and the IoT policy check) with
  ALLOWS_BROAD_ACCESS_TO_IOT_DATA_PLANE_ACTIONS. AWS's check page (audit-chk-auth-cognito-role-permissive) counts
  that access as overly permissive but lists only the three admin reason codes; the data-plane code is the one AWS
  uses for the same condition on the unauthenticated-role, role-alias and IoT policy checks (UNCONFIRMED for this
  check). It ranks after the admin codes and before broad thing reads, as for role aliases.
* IoT actions are classified as data plane (:data:`.policies.DATA_PLANE_ACTIONS`, plus the retained-message reads),
  thing-admin write, thing-admin read, and non-thing admin = every other action of the botocore ``iot`` model
  (which is how ``iot:*`` or ``iot:Delete*`` expand). An ``iot:`` action unknown to the model counts as non-thing
  admin when named explicitly.
* Admin actions count when granted on any resource; a Deny removes a grant only when, without a Condition, it
  names the action and a resource pattern that matches the allowed one as written. Thing-admin reads are "broad"
  when they reach a thing other than the caller's (``thing/*`` yes, ``thing/MyThing*`` or a thing-name variable
  no), with the same probes as the IoT policy check.
* Services are the action prefixes (``dynamodb`` in ``dynamodb:PutItem``), compared with ``used_services`` without
  regard to case. "Broad access to a used service" = an Allow of ``<service>:*`` or ``*`` (or a NotAction Allow
  that does not exclude the whole service), on any resource. Security auditing services: iam, cloudtrail,
  guardduty, inspector (and its successor namespace inspector2), trustedadvisor. For unused services, ``*`` or a
  NotAction Allow is reported as ``*`` and a wildcard service prefix (``dynamo*``) as written.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Callable, Sequence

import botocore.session

from ...spec.policies import ALLOW, DENY, Statement, action_matches, resource_matches
from ..snapshot import RoleInfo, Snapshot
from .base import CheckResult, Finding
from .policies import DATA_PLANE_ACTIONS, broad_data_plane_actions, broad_thing_access, statements_of

THING_ADMIN_WRITE_ACTIONS = tuple(f"iot:{a}" for a in (
    "AddThingToThingGroup", "AttachThingPrincipal", "CreateThing", "DeleteThing", "DetachThingPrincipal",
    "ListThings", "ListThingsInThingGroup", "RegisterThing", "RemoveThingFromThingGroup", "UpdateThing",
    "UpdateThingGroupsForThing"))
THING_ADMIN_READ_ACTIONS = tuple(f"iot:{a}" for a in (
    "DescribeThing", "ListJobExecutionsForThing", "ListThingGroupsForThing", "ListThingPrincipals"))
_RETAINED_MESSAGE_READS = ("iot:GetRetainedMessage", "iot:ListRetainedMessages")
_NOT_ADMIN = frozenset(a.lower() for a in DATA_PLANE_ACTIONS + _RETAINED_MESSAGE_READS)
SECURITY_AUDITING_SERVICES = ("iam", "cloudtrail", "guardduty", "inspector", "inspector2", "trustedadvisor")

ADMIN = "ALLOWS_ACCESS_TO_IOT_ADMIN_ACTIONS"
DATA_PLANE = "ALLOWS_BROAD_ACCESS_TO_IOT_DATA_PLANE_ACTIONS"
NON_THING_ADMIN = "ALLOWS_ACCESS_TO_IOT_NON_THING_ADMIN_ACTIONS"
THING_WRITE = "ALLOWS_ACCESS_TO_IOT_THING_ADMIN_WRITE_ACTIONS"
THING_READ = "ALLOWS_BROAD_ACCESS_TO_IOT_THING_ADMIN_READ_ACTIONS"
USED_SERVICES = "ALLOWS_BROAD_ACCESS_TO_USED_SERVICES"
SECURITY_SERVICES = "ALLOWS_ACCESS_TO_SECURITY_AUDITING_SERVICES"
UNUSED_SERVICES = "ALLOWS_ACCESS_TO_UNUSED_SERVICES"

_UNAUTHENTICATED_ORDER = (ADMIN, DATA_PLANE)
_AUTHENTICATED_ORDER = (NON_THING_ADMIN, THING_WRITE, DATA_PLANE, THING_READ)
_ROLE_ALIAS_ORDER = (SECURITY_SERVICES, USED_SERVICES, NON_THING_ADMIN, THING_WRITE, DATA_PLANE, THING_READ)

_SENTENCES = {
    ADMIN: "Role allows access to IoT admin actions",
    DATA_PLANE: "Role allows broad access to IoT data plane actions",
    NON_THING_ADMIN: "Role allows access to IoT admin actions not related to things",
    THING_WRITE: "Role allows access to IoT thing admin write actions",
    THING_READ: "Role allows broad access to IoT thing admin read actions",
    USED_SERVICES: "Role allows broad access to services the role alias uses",
    SECURITY_SERVICES: "Role allows access to security auditing services",
    UNUSED_SERVICES: "Role allows access to services the role alias has not used in the last year",
}
_LISTED = 10  # items named per sentence before "... and N more"


# --- the checks -------------------------------------------------------------------------------------------------

def unauthenticated_cognito_role_overly_permissive(snap: Snapshot) -> CheckResult:
    """Return the recently connected pools whose unauthenticated role grants IoT admin or broad data-plane access."""
    return _cognito_check(snap, "unauthenticated_role_arn", _unauthenticated_codes, _UNAUTHENTICATED_ORDER)


def authenticated_cognito_role_overly_permissive(snap: Snapshot) -> CheckResult:
    """Return the recently connected pools whose authenticated role grants IoT admin, broad data-plane or broad
    thing-read access."""
    return _cognito_check(snap, "authenticated_role_arn", _authenticated_codes, _AUTHENTICATED_ORDER)


def iot_role_alias_overly_permissive(snap: Snapshot) -> CheckResult:
    """Return the role aliases whose role grants broad, security-auditing or IoT admin access."""
    total, findings = 0, []
    for alias in snap.role_aliases:
        role = snap.roles.get(alias.role_arn)
        if role is None:
            continue
        total += 1
        codes = dict(_iot_codes(role.policy_documents))
        codes.pop(ADMIN, None)
        codes.update(_service_codes(role.policy_documents, alias.used_services))
        if codes:
            findings.append(_role_alias_finding(alias.arn, role, codes, _ROLE_ALIAS_ORDER))
    return CheckResult(total, findings)


def iot_role_alias_allows_access_to_unused_services(snap: Snapshot) -> CheckResult:
    """Return the role aliases whose role grants permissions on services the alias did not use."""
    total, findings = 0, []
    for alias in snap.role_aliases:
        role = snap.roles.get(alias.role_arn)
        if role is None:
            continue
        total += 1
        unused = unused_services(_role_statements(role.policy_documents), _lower(alias.used_services))
        if unused:
            findings.append(_role_alias_finding(alias.arn, role, {UNUSED_SERVICES: unused}, (UNUSED_SERVICES,)))
    return CheckResult(total, findings)


def _cognito_check(snap: Snapshot, role_field: str, codes_of: Callable[[tuple[str, ...]], dict[str, tuple[str, ...]]],
                   order: tuple[str, ...]) -> CheckResult:
    """Return the result of a Cognito role check: ``codes_of(documents)`` gives each role's reason codes."""
    total, findings = 0, []
    for pool in snap.cognito_pools:
        if not pool.connected_recently:
            continue
        role_arn = getattr(pool, role_field)
        role = snap.roles.get(role_arn) if role_arn else None
        if role_arn and role is None:
            continue
        total += 1
        codes = codes_of(role.policy_documents) if role is not None else {}
        if codes:
            findings.append(_finding("COGNITO_IDENTITY_POOL", {"cognitoIdentityPoolId": pool.pool_id}, role,
                                     codes, order))
    return CheckResult(total, findings)


def _role_alias_finding(alias_arn: str, role: RoleInfo, codes: dict[str, tuple[str, ...]],
                        order: tuple[str, ...]) -> Finding:
    """Return the finding on a role alias."""
    return _finding("ROLE_ALIAS", {"roleAliasArn": alias_arn}, role, codes, order)


def _finding(resource_type: str, identifier: dict[str, str], role: RoleInfo, codes: dict[str, tuple[str, ...]],
             order: tuple[str, ...]) -> Finding:
    """Return one finding carrying the most serious of ``codes`` and a sentence for each of them."""
    present = [c for c in order if c in codes]
    reason = " ".join(f"{_SENTENCES[c]}: [{_listing(codes[c])}]." for c in present)
    related = [{"resourceType": "IAM_ROLE", "resourceIdentifier": {"iamRoleArn": role.arn}}]
    return Finding(resource_type, identifier, present[0], reason, related_resources=related)


def _listing(items: Sequence[str]) -> str:
    """Return the items joined by commas, cut after the first few."""
    shown = ", ".join(items[:_LISTED])
    return shown if len(items) <= _LISTED else f"{shown}, ... and {len(items) - _LISTED} more"


def _lower(names: frozenset[str]) -> frozenset[str]:
    """Return the service names in lower case."""
    return frozenset(n.lower() for n in names)


# --- reason codes per role (cached per distinct set of documents) -------------------------------------------

@lru_cache(maxsize=4096)
def _role_statements(documents: tuple[str, ...]) -> tuple[Statement, ...]:
    """Return the statements of all the role's documents that parse."""
    return tuple(s for d in documents for s in (statements_of(d) or ()))


def _iot_codes(documents: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """Return IoT reason code -> offending actions for a role (every IoT code; each check keeps its own)."""
    return dict(_iot_code_items(documents))


@lru_cache(maxsize=4096)
def _iot_code_items(documents: tuple[str, ...]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Return the (code, actions) pairs of :func:`_iot_codes`, as an immutable value for the cache."""
    statements = _role_statements(documents)
    write, read, other = iot_admin_actions(statements)
    codes = {ADMIN: tuple(sorted(set(write + read + other))), NON_THING_ADMIN: other, THING_WRITE: write,
             THING_READ: broad_thing_access(statements, THING_ADMIN_READ_ACTIONS),
             DATA_PLANE: broad_data_plane_actions(statements)}
    return tuple((code, actions) for code, actions in codes.items() if actions)


def _unauthenticated_codes(documents: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """Return the unauthenticated-role codes: any admin action, or broad data-plane access."""
    return {c: a for c, a in _iot_codes(documents).items() if c in _UNAUTHENTICATED_ORDER}


def _authenticated_codes(documents: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """Return the authenticated-role codes: non-thing admin, thing writes, broad data plane, broad thing reads."""
    return {c: a for c, a in _iot_codes(documents).items() if c in _AUTHENTICATED_ORDER}


def _service_codes(documents: tuple[str, ...], used: frozenset[str]) -> dict[str, tuple[str, ...]]:
    """Return the service-level role-alias codes: security auditing services and broad access to used ones."""
    statements = _role_statements(documents)
    codes = {SECURITY_SERVICES: tuple(s for s in SECURITY_AUDITING_SERVICES if grants_service(statements, s)),
             USED_SERVICES: tuple(s for s in sorted(_lower(used)) if grants_whole_service(statements, s))}
    return {code: services for code, services in codes.items() if services}


# --- IoT actions ----------------------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def iot_actions() -> tuple[str, ...]:
    """Return every IoT IAM action: the botocore ``iot`` operations plus the data-plane actions."""
    operations = botocore.session.get_session().get_service_model("iot").operation_names
    names = {f"iot:{op}" for op in operations} | set(DATA_PLANE_ACTIONS) | set(_RETAINED_MESSAGE_READS)
    return tuple(sorted(names | set(THING_ADMIN_WRITE_ACTIONS) | set(THING_ADMIN_READ_ACTIONS)))


def iot_admin_actions(statements: Sequence[Statement]) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """Return the IoT admin actions granted on any resource: (thing writes, thing reads, non-thing admin)."""
    known = iot_actions()
    named = {p for s in statements if s.effect == ALLOW and not s.not_action for p in s.actions
             if p.lower().startswith("iot:") and "*" not in p and "?" not in p}
    known_lower = {a.lower() for a in known}
    candidates = list(known) + sorted(p for p in named if p.lower() not in known_lower)
    granted = [a for a in candidates if a.lower() not in _NOT_ADMIN and granted_somewhere(statements, a)]
    write = tuple(a for a in granted if a in THING_ADMIN_WRITE_ACTIONS)
    read = tuple(a for a in granted if a in THING_ADMIN_READ_ACTIONS)
    other = tuple(a for a in granted if a not in THING_ADMIN_WRITE_ACTIONS and a not in THING_ADMIN_READ_ACTIONS)
    return write, read, other


def granted_somewhere(statements: Sequence[Statement], action: str) -> bool:
    """Return True when an Allow grants ``action`` (or action pattern, e.g. ``iam:*``) on some resource."""
    denies = [s for s in statements if s.effect == DENY and not s.conditions and not s.not_resource
              and s.covers_action(action)]
    return any(s.effect == ALLOW and s.covers_action(action) and _survives(s, denies) for s in statements)


def _survives(allow: Statement, denies: Sequence[Statement]) -> bool:
    """Return True when some resource of ``allow`` is not matched, as written, by a resource of ``denies``."""
    patterns = ("*",) if allow.not_resource else allow.resources
    return any(not any(q == p or resource_matches(q, p) for d in denies for q in d.resources) for p in patterns)


# --- services -------------------------------------------------------------------------------------------------

def _service_of(pattern: str) -> str:
    """Return the service prefix of an action pattern (``*`` for the bare ``*``)."""
    return pattern.split(":", 1)[0] if ":" in pattern else pattern


def grants_service(statements: Sequence[Statement], service: str) -> bool:
    """Return True when some Allow grants any action of ``service`` and no Deny of ``<service>:*`` removes it."""
    return _grants(statements, service, whole=False)


def grants_whole_service(statements: Sequence[Statement], service: str) -> bool:
    """Return True when some Allow grants ``<service>:*`` (or ``*``, or all but a few via NotAction)."""
    return _grants(statements, service, whole=True)


def _grants(statements: Sequence[Statement], service: str, *, whole: bool) -> bool:
    """Return True when an Allow grants ``service`` (all of it when ``whole``) and survives the Denies of it."""
    deny_statements = [s for s in statements
                       if s.effect == DENY and not s.conditions and not s.not_resource and not s.not_action]
    for s in statements:
        if s.effect != ALLOW:
            continue
        for granted in _granted_patterns(s, service, whole):
            if _survives(s, [d for d in deny_statements if d.covers_action(granted)]):
                return True
    return False


def _granted_patterns(allow: Statement, service: str, whole: bool) -> list[str]:
    """Return the action patterns of ``service`` an Allow grants (``<service>:*`` alone when ``whole``)."""
    everything = f"{service}:*"
    if allow.not_action:
        # all actions but the listed ones: counted as the whole service unless the whole service is excluded
        return [] if any(action_matches(p, everything) for p in allow.actions) else [everything]
    if whole:
        return [everything] if any(action_matches(p, everything) for p in allow.actions) else []
    return [f"{service}:{p.split(':', 1)[1]}" if ":" in p else everything
            for p in allow.actions if action_matches(_service_of(p), service)]


def unused_services(statements: Sequence[Statement], used: frozenset[str]) -> tuple[str, ...]:
    """Return the services (lower case, sorted) the statements grant that are not in ``used`` (lower case)."""
    named: set[str] = set()
    for s in statements:
        if s.effect == ALLOW:
            named.update({"*"} if s.not_action else {_service_of(p).lower() for p in s.actions})
    out = []
    for service in sorted(named):
        if service in used:
            continue
        wildcard = "*" in service or "?" in service
        if wildcard or grants_service(statements, service):
            out.append(service)
    return tuple(out)
