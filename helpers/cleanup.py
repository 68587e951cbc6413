"""Clean-up: find everything the workshop created in this target and region, list it as a table, and delete it in
dependency order, ending with a check that nothing of it is left.

Found through the local state file and on the target itself (every list paged): IoT, IAM, SNS and Cognito
resources tagged ``workshop=iot-audit-module2`` (and ``workshop-run=<run id>``), things carrying the same as
attributes (things cannot be tagged), certificates recorded in the state or attached to a workshop thing and issued
by the workshop's own CAs, suppressions recorded in the state or naming a resource being deleted. Nothing else is
ever deleted; a workshop policy attached to a foreign principal is only detached from it.

Deletion order: mitigation actions, scheduled audits, suppressions, the account audit configuration (given back as
it was before the workshop), policy attachments, thing attachments, certificates (deactivated, then deleted;
in the sandbox their simulated connection history is forgotten with them),
things, thing groups, policies (every version), CA certificates, role aliases, Cognito identity pools, IAM roles
(their policies first), SNS topics, the local key folders. A resource already gone counts as done.
"""
from __future__ import annotations

import json
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, TypeVar

import pandas as pd
from botocore.exceptions import ClientError

from . import certs, state, target
from .errors import WorkshopError, error_code
from .fleet_base import MODULE1_THINGS, ROLE_PATH, RUN_TAG, TAG_KEY, TAG_VALUE, account_id, is_gone, is_sandbox
from .fleet_plan import plan_fleet
from .safety import require_confirmation

KINDS = ("mitigation_actions", "scheduled_audits", "suppressions", "audit_configuration", "certificates", "things",
         "thing_groups", "policies", "ca_certificates", "role_aliases", "identity_pools", "roles", "topics",
         "key_files")
WORKSHOP_TRUSTED = ("iot.amazonaws.com", "credentials.iot.amazonaws.com", "cognito-identity.amazonaws.com")
T = TypeVar("T")
R = TypeVar("R")


@dataclass
class Item:
    """One resource the clean-up found: its kind, name (or id/ARN), run, how it was found, and what became of it."""

    kind: str
    name: str
    run: str = ""
    found_by: set[str] = field(default_factory=set)
    detail: dict[str, Any] = field(default_factory=dict)
    status: str = "found"  # found, deleted, already gone, restored, unchanged, failed: <code>


@dataclass
class CleanupReport:
    """What :func:`cleanup` found and, unless it was a dry run, what it deleted (``table`` shows both)."""

    items: list[Item]
    runs: list[str]
    dry_run: bool = True
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def done(self) -> bool:
        """Return True when the deletion ran (not a dry run)."""
        return not self.dry_run

    @property
    def planned(self) -> dict[str, list[str]]:
        """Return the names found, per kind."""
        out: dict[str, list[str]] = {}
        for item in self.items:
            out.setdefault(item.kind, []).append(item.name)
        return {k: sorted(v) for k, v in out.items()}

    def _with_status(self, *statuses: str) -> dict[str, list[str]]:
        """Return the names whose status is one of ``statuses``, per kind."""
        out: dict[str, list[str]] = {}
        for item in self.items:
            if item.status in statuses:
                out.setdefault(item.kind, []).append(item.name)
        return {k: sorted(v) for k, v in out.items()}

    @property
    def deleted(self) -> dict[str, list[str]]:
        """Return the names deleted (or, for the audit configuration, restored), per kind."""
        return self._with_status("deleted", "restored")

    @property
    def already_gone(self) -> dict[str, list[str]]:
        """Return the names that were gone before the clean-up reached them, per kind."""
        return self._with_status("already gone")

    @property
    def table(self) -> pd.DataFrame:
        """Return one row per resource: kind, name, run, found by, status (in deletion order)."""
        order = {k: i for i, k in enumerate(KINDS)}
        rows = [{"kind": i.kind, "name": i.name, "run": i.run or "(none)", "found by": ", ".join(sorted(i.found_by)),
                 "status": i.status} for i in sorted(self.items, key=lambda i: (order.get(i.kind, 99), i.name))]
        return pd.DataFrame(rows, columns=["kind", "name", "run", "found by", "status"])

    def summary(self) -> list[str]:
        """Return one line per kind: how many, and the first few names."""
        lines = []
        for kind in KINDS:
            names = self.planned.get(kind, [])
            if names:
                shown = ", ".join(names[:5]) + (f", ... ({len(names)} in all)" if len(names) > 5 else "")
                lines.append(f"{kind}: {shown}")
        return lines

    def __repr__(self) -> str:
        """Return a readable summary: what was found (dry run) or what became of it."""
        runs = ", ".join(self.runs) or "(none recorded)"
        if not self.items:
            return f"Nothing the workshop created was found here (runs {runs})."
        if self.dry_run:
            how = "cleanup(dry_run=False)" if is_sandbox() else "cleanup(dry_run=False, confirm=True)"
            head = f"Dry run: would delete {len(self.items)} resources (runs {runs}); call {how} to delete them:"
        else:
            done = sum(1 for i in self.items if i.status in ("deleted", "restored", "already gone"))
            head = f"Deleted {done} of {len(self.items)} resources (runs {runs}; already gone counts as deleted):"
        lines = [head, *(f"  {line}" for line in self.summary())]
        if self.errors:
            lines.append(f"  errors ({len(self.errors)}): " + "; ".join(self.errors[:5]))
        lines.extend(f"  note: {note}" for note in self.notes)
        return "\n".join(lines)

    __str__ = __repr__


# -- discovery ----------------------------------------------------------------------------------------------------
def _parallel(fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """Return ``[fn(x) for x in items]``, 8 at once against AWS, one at a time against the sandbox endpoint (moto is
    not thread-safe)."""
    items = list(items)
    if target.get_target() == "sandbox" or len(items) < 2:
        return [fn(x) for x in items]
    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(fn, items))


def _tag_values(tags: Iterable[dict[str, str]] | dict[str, str]) -> dict[str, str]:
    """Return tags as a dict, from the ``[{"Key", "Value"}]`` or ``[{"key", "value"}]`` form or a dict."""
    if isinstance(tags, dict):
        return dict(tags)
    return {t.get("Key", t.get("key", "")): t.get("Value", t.get("value", "")) for t in tags}


class _Finder:
    """Collects the items of one discovery: what the target has that the workshop made, for runs in ``scope``."""

    def __init__(self, scope: set[str] | None, recorded: list[dict[str, Any]]) -> None:
        """Start a discovery for the runs in ``scope`` (None: all) with the recorded state entries."""
        self.scope = scope
        self.recorded = recorded
        self.items: dict[tuple[str, str], Item] = {}
        self.iot = target.client("iot")

    def recorded_ids(self, kind: str) -> dict[str, str]:
        """Return the ids of ``kind`` recorded in the state for runs in scope, with their run."""
        out: dict[str, str] = {}
        for run in self.recorded:
            for rid in run.get("resources", {}).get(kind, []):
                out[_key(rid)] = run["run_id"]
        return out

    def tagged(self, tags: Iterable[dict[str, str]] | dict[str, str]) -> str | None:
        """Return the run of a workshop tag set in scope ("" for a workshop tag without a run), else None."""
        values = _tag_values(tags)
        if values.get(TAG_KEY) != TAG_VALUE:
            return None
        run = values.get(RUN_TAG, "")
        return run if self.scope is None or run in self.scope else None

    def add(self, kind: str, name: str, run: str, how: str, **detail: Any) -> Item:
        """Add (or merge) an item and return it."""
        item = self.items.setdefault((kind, name), Item(kind, name, run))
        item.found_by.add(how)
        item.run = item.run or run
        item.detail.update(detail)
        return item

    def iot_tags(self, arn: str) -> list[dict[str, str]]:
        """Return the tags of an IoT resource (every page); none when it vanished meanwhile."""
        try:
            return [t for page in self.iot.get_paginator("list_tags_for_resource").paginate(resourceArn=arn)
                    for t in page.get("tags", [])]
        except ClientError as exc:
            if is_gone(exc):
                return []
            raise

    def listed(self, kind: str, entries: list[tuple[str, str]], extra: dict[str, dict[str, Any]] | None = None
               ) -> None:
        """Add the listed resources ``(name, arn)`` of ``kind`` that are recorded for, or tagged with, a run in
        scope (tags read only for those not recorded)."""
        recorded = self.recorded_ids(kind)
        for name, _ in entries:
            if name in recorded:
                self.add(kind, name, recorded[name], "state file", **(extra or {}).get(name, {}))
        unrecorded = [(n, a) for n, a in entries if n not in recorded]
        for (name, _), tags in zip(unrecorded, _parallel(lambda e: self.iot_tags(e[1]), unrecorded)):
            run = self.tagged(tags)
            if run is not None:
                self.add(kind, name, run, "tag", **(extra or {}).get(name, {}))

    # each kind --------------------------------------------------------------------------------------------------
    def things(self) -> None:
        """Add the things carrying the workshop attribute, or recorded."""
        recorded = self.recorded_ids("things")
        pages = self.iot.get_paginator("list_things").paginate(attributeName=TAG_KEY, attributeValue=TAG_VALUE)
        for page in pages:
            for thing in page["things"]:
                run = thing.get("attributes", {}).get(RUN_TAG, "")
                name = thing["thingName"]
                if name in recorded:
                    self.add("things", name, recorded[name], "state file")
                if self.scope is None or run in self.scope:
                    self.add("things", name, run, "thing attribute")

    def certificates(self) -> None:
        """Add the recorded certificates that exist, and those attached to unrecorded workshop things."""
        listed = {c["certificateId"]: c for page in self.iot.get_paginator("list_certificates").paginate(
            PaginationConfig={"PageSize": 250}) for c in page["certificates"]}
        recorded = self.recorded_ids("certificates")
        for cert_id, run in recorded.items():
            if cert_id in listed:
                c = listed[cert_id]
                self.add("certificates", cert_id, run, "state file", arn=c["certificateArn"], status=c["status"])
        hints = _attachment_hints(self.recorded)
        for cert_id, things in hints.items():
            if ("certificates", cert_id) in self.items:
                self.items[("certificates", cert_id)].detail["things"] = sorted(things)
        # things found by attribute only (their run is not recorded: the state file was lost): their certificates,
        # when the workshop issued them
        recorded_runs = {r["run_id"] for r in self.recorded}
        orphans = [i for (k, _), i in self.items.items() if k == "things" and i.run not in recorded_runs]

        def principals(thing: Item) -> list[str]:
            try:
                return [p for page in self.iot.get_paginator("list_thing_principals").paginate(thingName=thing.name)
                        for p in page["principals"]]
            except ClientError as exc:
                if is_gone(exc):
                    return []
                raise

        for thing, found in zip(orphans, _parallel(principals, orphans)):
            for arn in found:
                cert_id = arn.rsplit("/", 1)[-1]
                if ":cert/" not in arn or cert_id not in listed:
                    continue
                if ("certificates", cert_id) not in self.items and not _issued_by_workshop(cert_id):
                    continue
                item = self.add("certificates", cert_id, thing.run, "attached to a workshop thing", arn=arn,
                                status=listed[cert_id]["status"])
                item.detail.setdefault("things", [])
                if thing.name not in item.detail["things"]:
                    item.detail["things"].append(thing.name)

    def policies(self) -> None:
        """Add the IoT policies recorded or tagged."""
        entries = [(p["policyName"], p["policyArn"]) for page in self.iot.get_paginator("list_policies").paginate()
                   for p in page["policies"]]
        self.listed("policies", entries)

    def ca_certificates(self) -> None:
        """Add the CA certificates recorded or tagged."""
        entries = [(c["certificateId"], c["certificateArn"])
                   for page in self.iot.get_paginator("list_ca_certificates").paginate() for c in page["certificates"]]
        self.listed("ca_certificates", entries)

    def role_aliases(self) -> None:
        """Add the role aliases recorded or tagged."""
        names = [a for page in self.iot.get_paginator("list_role_aliases").paginate() for a in page["roleAliases"]]

        def arn(alias: str) -> str | None:
            try:  # the list has no ARNs
                return self.iot.describe_role_alias(roleAlias=alias)["roleAliasDescription"]["roleAliasArn"]
            except ClientError as exc:
                if is_gone(exc):
                    return None
                raise

        entries = [(n, a) for n, a in zip(names, _parallel(arn, names)) if a]
        self.listed("role_aliases", entries, {n: {"arn": a} for n, a in entries})

    def mitigation_actions(self) -> None:
        """Add the mitigation actions recorded or tagged."""
        entries = [(a["actionName"], a["actionArn"])
                   for page in self.iot.get_paginator("list_mitigation_actions").paginate()
                   for a in page["actionIdentifiers"]]
        self.listed("mitigation_actions", entries)

    def scheduled_audits(self) -> None:
        """Add the scheduled audits recorded or tagged."""
        entries = [(a["scheduledAuditName"], a["scheduledAuditArn"])
                   for page in self.iot.get_paginator("list_scheduled_audits").paginate()
                   for a in page["scheduledAudits"]]
        self.listed("scheduled_audits", entries)

    def thing_groups(self) -> None:
        """Add the thing groups recorded or tagged."""
        entries = [(g["groupName"], g["groupArn"]) for page in self.iot.get_paginator("list_thing_groups").paginate()
                   for g in page["thingGroups"]]
        self.listed("thing_groups", entries)

    def roles(self) -> None:
        """Add the IAM roles recorded or tagged (tags read for roles trusted by IoT or Cognito only)."""
        iam = target.client("iam")
        recorded = self.recorded_ids("roles")
        candidates = []
        for page in iam.get_paginator("list_roles").paginate():
            for role in page["Roles"]:
                name = role["RoleName"]
                if name in recorded:
                    self.add("roles", name, recorded[name], "state file", arn=role["Arn"])
                elif role.get("Path") == ROLE_PATH or any(s in str(role.get("AssumeRolePolicyDocument", ""))
                                                          for s in WORKSHOP_TRUSTED):
                    candidates.append(role)  # the workshop only makes roles trusted by these services

        def tags(role: dict[str, Any]) -> list[dict[str, str]]:
            try:
                return [t for page in iam.get_paginator("list_role_tags").paginate(RoleName=role["RoleName"])
                        for t in page["Tags"]]
            except ClientError as exc:
                if is_gone(exc):
                    return []
                raise

        for role, found in zip(candidates, _parallel(tags, candidates)):
            run = self.tagged(found)
            if run is not None:
                self.add("roles", role["RoleName"], run, "tag", arn=role["Arn"])

    def topics(self) -> None:
        """Add the SNS topics recorded or tagged."""
        sns = target.client("sns")
        recorded = self.recorded_ids("topics")
        arns = [t["TopicArn"] for page in sns.get_paginator("list_topics").paginate() for t in page["Topics"]]
        for arn in arns:
            if arn in recorded:
                self.add("topics", arn, recorded[arn], "state file")

        def tags(arn: str) -> list[dict[str, str]]:
            try:
                return sns.list_tags_for_resource(ResourceArn=arn).get("Tags", [])
            except ClientError as exc:
                if is_gone(exc):
                    return []
                raise

        unrecorded = [a for a in arns if a not in recorded]
        for arn, found in zip(unrecorded, _parallel(tags, unrecorded)):
            run = self.tagged(found)
            if run is not None:
                self.add("topics", arn, run, "tag")

    def identity_pools(self) -> None:
        """Add the Cognito identity pools recorded or tagged."""
        cognito = target.client("cognito-identity")
        recorded = self.recorded_ids("identity_pools")
        ids = [p["IdentityPoolId"] for page in cognito.get_paginator("list_identity_pools").paginate(MaxResults=60)
               for p in page["IdentityPools"]]
        for pool_id in ids:
            if pool_id in recorded:
                self.add("identity_pools", pool_id, recorded[pool_id], "state file")

        def tags(pool_id: str) -> dict[str, str]:
            try:  # the list has no tags; DescribeIdentityPool returns them
                return cognito.describe_identity_pool(IdentityPoolId=pool_id).get("IdentityPoolTags", {})
            except ClientError as exc:
                if is_gone(exc):
                    return {}
                raise

        unrecorded = [p for p in ids if p not in recorded]
        for pool_id, found in zip(unrecorded, _parallel(tags, unrecorded)):
            run = self.tagged(found)
            if run is not None:
                self.add("identity_pools", pool_id, run, "tag")

    def suppressions(self, related: set[str]) -> None:
        """Add the suppressions recorded, or naming one of the ``related`` resource ids."""
        recorded = self.recorded_ids("suppressions")
        for page in self.iot.get_paginator("list_audit_suppressions").paginate():
            for s in page["suppressions"]:
                key = {"checkName": s["checkName"], "resourceIdentifier": s["resourceIdentifier"]}
                name = f"{s['checkName']} {_identifier_text(s['resourceIdentifier'])}"
                if _key(key) in recorded:
                    self.add("suppressions", name, recorded[_key(key)], "state file", **key)
                elif _identifier_values(s["resourceIdentifier"]) & related:
                    self.add("suppressions", name, "", "names a resource being deleted", **key)

    def audit_configuration(self) -> None:
        """Add the account audit configuration when it uses a workshop role or sends alerts to a workshop topic."""
        config = self.iot.describe_account_audit_configuration()
        roles = {i.detail.get("arn") for (k, _), i in self.items.items() if k == "roles"}
        topics = {name for (k, name) in self.items if k == "topics"}
        sns = (config.get("auditNotificationTargetConfigurations") or {}).get("SNS") or {}
        role_used = config.get("roleArn") in roles
        sns_used = sns.get("targetArn") in topics or sns.get("roleArn") in roles
        if role_used or sns_used:
            runs = [r for r in self.recorded if r.get("previous_audit_configuration") is not None
                    or r.get("kind") == "module1"]
            previous = runs[0].get("previous_audit_configuration") if runs else None
            how = "uses a workshop role" if role_used else "sends alerts to a workshop topic"
            self.add("audit_configuration", "account", runs[0]["run_id"] if runs else "", how,
                     previous=previous, role_used=role_used, sns_used=sns_used)

    def key_files(self) -> None:
        """Add the local key folders of the runs found."""
        runs = {r["run_id"] for r in self.recorded} | {i.run for i in self.items.values() if i.run}
        for run in sorted(runs):
            folder = state.keys_dir(run)
            if folder.exists():
                self.add("key_files", str(folder), run, "local folder")


def _key(resource_id: Any) -> str:
    """Return a resource id as recorded-state key: the string itself, or canonical JSON (a suppression is recorded
    as ``{"checkName", "resourceIdentifier"}``)."""
    return resource_id if isinstance(resource_id, str) else json.dumps(resource_id, sort_keys=True)


def _issued_by_workshop(cert_id: str) -> bool:
    """Return True when the certificate's subject names the workshop's organisation (helpers.certs made it)."""
    try:
        pem = target.client("iot").describe_certificate(certificateId=cert_id)["certificateDescription"][
            "certificatePem"]
    except ClientError:
        return False
    return f"O={certs.ORGANIZATION}" in certs.load_certificate(pem).subject.rfc4514_string()


def _identifier_values(identifier: Any) -> set[str]:
    """Return every string inside a resource identifier."""
    if isinstance(identifier, dict):
        return set().union(*(_identifier_values(v) for v in identifier.values())) if identifier else set()
    return {identifier} if isinstance(identifier, str) else set()


def _identifier_text(identifier: dict[str, Any]) -> str:
    """Return a short readable form of a resource identifier."""
    return ", ".join(sorted(_identifier_values(identifier)))


def _attachment_hints(recorded: list[dict[str, Any]]) -> dict[str, set[str]]:
    """Return, per certificate id the workshop recorded, the things it attached it to (from the state and the
    deterministic fleet plan). Only a hint: DeleteCertificate refuses while any thing is still attached."""
    out: dict[str, set[str]] = {}
    for run in recorded:
        env = run.get("environment")
        if env:
            out.setdefault(env["certificate_id"], set()).update(env.get("things", MODULE1_THINGS))
        ids = run.get("certificate_ids")
        if run.get("kind") == "fleet" and ids and run.get("devices") and run.get("seed") is not None:
            try:
                plan = plan_fleet(int(run["devices"]), int(run["seed"]), run["run_id"])
            except WorkshopError:
                continue
            for device in plan.devices:
                if device.cert in ids:
                    out.setdefault(ids[device.cert], set()).add(device.thing_name)
    return out


def _recorded(kind: str | None, run_id: str | None) -> list[dict[str, Any]]:
    """Return the recorded runs of this target, region and account (of ``kind``, or only ``run_id``)."""
    account = account_id()
    return [r for r in state.runs(kind) if r.get("account") == account and (run_id is None or r["run_id"] == run_id)]


def _scope(kind: str | None, run_id: str | None, recorded: list[dict[str, Any]]) -> set[str] | None:
    """Return the runs to clean up: the one named; else in a real account (which other attendees or machines may
    share) only the runs recorded in this machine's state file; else (the sandbox is yours) None, every workshop
    resource here whatever its run."""
    if run_id is not None:
        return {run_id}
    if kind is not None or not is_sandbox():
        return {r["run_id"] for r in recorded}
    return None


def discover(scope: set[str] | None, recorded: list[dict[str, Any]], related: set[str] | None = None) -> list[Item]:
    """Return every existing resource of the runs in ``scope`` (all workshop resources when None), found through
    ``recorded`` state entries, tags and thing attributes; ``related`` ids pull in suppressions naming them.

    AWS operations: [ListThings](https://docs.aws.amazon.com/iot/latest/apireference/API_ListThings.html),
    [ListCertificates](https://docs.aws.amazon.com/iot/latest/apireference/API_ListCertificates.html),
    [ListPolicies](https://docs.aws.amazon.com/iot/latest/apireference/API_ListPolicies.html),
    [ListMitigationActions](https://docs.aws.amazon.com/iot/latest/apireference/API_ListMitigationActions.html),
    [ListRoles](https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListRoles.html),
    [ListTopics](https://docs.aws.amazon.com/sns/latest/api/API_ListTopics.html),
    [ListIdentityPools](https://docs.aws.amazon.com/cognitoidentity/latest/APIReference/API_ListIdentityPools.html),
    among others (``helpers.under_the_hood.show_calls()`` lists every call).
    """
    finder = _Finder(scope, recorded)
    finder.things()
    finder.certificates()
    for kind in ("policies", "ca_certificates", "role_aliases", "mitigation_actions", "scheduled_audits",
                 "thing_groups", "roles", "topics", "identity_pools"):
        getattr(finder, kind)()
    ids = {name for (k, name) in finder.items if k != "things"}
    ids |= {i.detail["arn"] for i in finder.items.values() if i.kind == "role_aliases" and "arn" in i.detail}
    finder.suppressions(ids | (related or set()))
    finder.audit_configuration()
    finder.key_files()
    return list(finder.items.values())


def cleanup_plan(*, run_id: str | None = None, kind: str | None = None) -> CleanupReport:
    """Return the dry-run report: what :func:`cleanup` would delete here (``report.table`` lists it).

    AWS operations: [ListThings](https://docs.aws.amazon.com/iot/latest/apireference/API_ListThings.html),
    [ListCertificates](https://docs.aws.amazon.com/iot/latest/apireference/API_ListCertificates.html),
    [ListPolicies](https://docs.aws.amazon.com/iot/latest/apireference/API_ListPolicies.html),
    [ListMitigationActions](https://docs.aws.amazon.com/iot/latest/apireference/API_ListMitigationActions.html),
    [ListRoles](https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListRoles.html),
    [ListTopics](https://docs.aws.amazon.com/sns/latest/api/API_ListTopics.html),
    [ListIdentityPools](https://docs.aws.amazon.com/cognitoidentity/latest/APIReference/API_ListIdentityPools.html),
    among others (``helpers.under_the_hood.show_calls()`` lists every call).
    """
    recorded = _recorded(kind, run_id)
    items = discover(_scope(kind, run_id, recorded), recorded)
    runs = sorted({r["run_id"] for r in recorded} | {i.run for i in items if i.run})
    report = CleanupReport(items, runs)
    if not is_sandbox() and run_id is None:
        report.notes.append("in a real account only the runs recorded in this machine's state file are cleaned up; "
                            "workshop resources of other runs (another attendee's, or a lost state file) are left "
                            "alone: name one with cleanup(run_id=..., dry_run=False, confirm=True) to delete it")
    return report


def cleanup(*, dry_run: bool = True, confirm: bool = False, run_id: str | None = None,
            kind: str | None = None) -> CleanupReport:
    """Return the clean-up report: with ``dry_run`` (the default) only what would be deleted; otherwise after
    deleting it (in aws mode only with ``confirm=True``) and checking that nothing of it is left.

    AWS operations: [DeleteThing](https://docs.aws.amazon.com/iot/latest/apireference/API_DeleteThing.html),
    [UpdateCertificate](https://docs.aws.amazon.com/iot/latest/apireference/API_UpdateCertificate.html),
    [DeleteCertificate](https://docs.aws.amazon.com/iot/latest/apireference/API_DeleteCertificate.html),
    [DeletePolicy](https://docs.aws.amazon.com/iot/latest/apireference/API_DeletePolicy.html),
    [DeleteMitigationAction](https://docs.aws.amazon.com/iot/latest/apireference/API_DeleteMitigationAction.html),
    [DeleteRole](https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteRole.html),
    [DeleteTopic](https://docs.aws.amazon.com/sns/latest/api/API_DeleteTopic.html),
    among others (``helpers.under_the_hood.show_calls()`` lists every call).
    """
    report = cleanup_plan(run_id=run_id, kind=kind)
    if dry_run:
        return report
    if report.items:
        require_confirmation(f"Deleting {len(report.items)} workshop resources", report.summary(), confirm)
    recorded = _recorded(kind, run_id)
    by_kind: dict[str, list[Item]] = {}
    for item in report.items:
        by_kind.setdefault(item.kind, []).append(item)
    report.dry_run = False
    if by_kind.get("policies"):
        _detach_policies(by_kind["policies"], report)
    for resource_kind in KINDS:
        items = by_kind.get(resource_kind, [])
        if resource_kind == "roles":  # never delete the role an audit configuration that had to stay still uses
            keep = {i.detail.get("keep_role") for i in by_kind.get("audit_configuration", [])} - {None}
            for item in items:
                if item.detail.get("arn") in keep:
                    item.status = "kept: still the account's audit role"
            items = [i for i in items if i.status == "found"]
        if items:
            _DELETERS[resource_kind](items, report)
    related = {i.name for i in report.items if i.kind != "things"}
    left = _leftovers(_scope(kind, run_id, recorded), recorded, related)
    if left or report.errors:
        listing = "\n".join(f"  - {i.kind}: {i.name} (run {i.run or 'none'})" for i in left[:30])
        more = f"\n  ... {len(left) - 30} more" if len(left) > 30 else ""
        errors = "\n".join(f"  ! {e}" for e in report.errors[:10])
        head = (f"The clean-up left {len(left)} workshop resources behind:\n{listing}{more}" if left
                else "The clean-up deleted everything it found, with errors:")
        err = WorkshopError(head + (f"\nErrors:\n{errors}" if errors else ""),
                            "Read the errors (a resource may be in use by something the workshop did not create), "
                            "fix what they name, then run cleanup(dry_run=False) again: it only deletes what is "
                            "left.")
        err.report = report  # type: ignore[attr-defined]
        raise err
    for run in {r["run_id"] for r in recorded} | set(report.runs):
        state.forget_run(run)
    return report


def _leftovers(scope: set[str] | None, recorded: list[dict[str, Any]], related: set[str]) -> list[Item]:
    """Return what a fresh discovery still finds (AWS lists can lag a deletion by seconds: asked up to 3 times)."""
    for wait in (0, 2, 5, 10):
        if wait and is_sandbox():
            break
        time.sleep(wait)
        left = [i for i in discover(scope, recorded, related) if i.kind != "audit_configuration"]
        if not left:
            return []
    return left


# -- deletion -----------------------------------------------------------------------------------------------------
def _each(items: list[Item], report: CleanupReport, delete: Callable[[Item], None]) -> None:
    """Run ``delete`` on every item (8 at once against AWS), setting its status: deleted, already gone, failed."""
    def one(item: Item) -> None:
        try:
            delete(item)
            if item.status == "found":
                item.status = "deleted"
        except ClientError as exc:
            if is_gone(exc):
                item.status = "already gone"
            else:
                item.status = f"failed: {error_code(exc)}"
                report.errors.append(f"{item.kind} {item.name}: {error_code(exc)} "
                                     f"{exc.response.get('Error', {}).get('Message', '')}".strip())

    _parallel(one, items)


def _ignore_gone(call: Callable[[], Any]) -> None:
    """Run ``call``; a resource (or attachment) already gone is fine."""
    try:
        call()
    except ClientError as exc:
        if not is_gone(exc):
            raise


def _detach_policies(policies: list[Item], report: CleanupReport) -> None:
    """Detach every target of the workshop's policies (one paged list per policy, one call per target)."""
    iot = target.client("iot")

    def detach(policy: Item) -> None:
        targets = [t for page in iot.get_paginator("list_targets_for_policy").paginate(policyName=policy.name)
                   for t in page["targets"]]
        _parallel(lambda t: _ignore_gone(lambda: iot.detach_policy(policyName=policy.name, target=t)), targets)

    for policy in policies:
        try:
            detach(policy)
        except ClientError as exc:
            if not is_gone(exc):
                report.errors.append(f"detaching policy {policy.name}: {error_code(exc)}")


def _delete_certificates(items: list[Item], report: CleanupReport) -> None:
    """Detach each certificate from its things (known from the state; listed when DeleteCertificate says more are
    attached), then deactivate and delete it."""
    iot = target.client("iot")
    def detach_known(item: Item) -> None:
        for thing in item.detail.get("things", []):
            try:
                _ignore_gone(lambda t=thing: iot.detach_thing_principal(thingName=t, principal=item.detail["arn"]))
            except ClientError:
                pass  # DeleteCertificate then says what is still attached: listed and detached below

    # Every detachment first: AWS detaches asynchronously, so they settle while the others run.
    _parallel(detach_known, items)

    def detach_all(arn: str) -> None:
        for page in iot.get_paginator("list_principal_things").paginate(principal=arn):
            for thing in page["things"]:
                _ignore_gone(lambda t=thing: iot.detach_thing_principal(thingName=t, principal=arn))
        for page in iot.get_paginator("list_attached_policies").paginate(target=arn):
            for policy in page["policies"]:
                _ignore_gone(lambda p=policy: iot.detach_policy(policyName=p["policyName"], target=arn))

    def delete(item: Item) -> None:
        cert_id, arn = item.name, item.detail["arn"]
        if item.detail.get("status") == "ACTIVE":
            iot.update_certificate(certificateId=cert_id, newStatus="INACTIVE")
        for attempt in range(6):
            try:
                iot.delete_certificate(certificateId=cert_id)
                return
            except ClientError as exc:
                if error_code(exc) not in ("DeleteConflictException", "CertificateStateException") or attempt == 5:
                    raise
                if error_code(exc) == "CertificateStateException":
                    iot.update_certificate(certificateId=cert_id, newStatus="INACTIVE")
                else:
                    detach_all(arn)  # something the hint did not know is attached, or AWS is still detaching
                if attempt and not is_sandbox():
                    time.sleep(2 ** attempt)

    _each(items, report, delete)
    gone = [i.name for i in items if i.status in ("deleted", "already gone")]
    if gone and is_sandbox():  # simulated devices go with their certificates: no findings from their history remain
        target.sandbox_control("DELETE", "/_sandbox/iot/connections", {"certificateIds": gone})


def _delete_detaching(delete: Callable[[], Any], conflict: str, attached: Callable[[], Iterable[Any]],
                      detach: Callable[[Any], Any]) -> None:
    """Call ``delete``; when AWS refuses it with ``conflict`` (something is still attached), detach each of
    ``attached()`` (one already gone is fine) and delete again."""
    try:
        delete()
    except ClientError as exc:
        if error_code(exc) != conflict:
            raise
        for each in attached():
            _ignore_gone(lambda each=each: detach(each))
        delete()


def _delete_things(items: list[Item], report: CleanupReport) -> None:
    """Delete each thing (its principals, if any are left, are detached first)."""
    iot = target.client("iot")

    def delete(item: Item) -> None:
        _delete_detaching(
            lambda: iot.delete_thing(thingName=item.name), "InvalidRequestException",
            lambda: (p for page in iot.get_paginator("list_thing_principals").paginate(thingName=item.name)
                     for p in page["principals"]),
            lambda principal: iot.detach_thing_principal(thingName=item.name, principal=principal))

    _each(items, report, delete)


def _delete_policies(items: list[Item], report: CleanupReport) -> None:
    """Delete each policy with all its versions (targets attached since the first pass are detached too)."""
    iot = target.client("iot")

    def delete(item: Item) -> None:
        for version in iot.list_policy_versions(policyName=item.name)["policyVersions"]:  # at most 5, no paging
            if not version["isDefaultVersion"]:
                iot.delete_policy_version(policyName=item.name, policyVersionId=version["versionId"])
        _delete_detaching(
            lambda: iot.delete_policy(policyName=item.name), "DeleteConflictException",
            lambda: (t for page in iot.get_paginator("list_targets_for_policy").paginate(policyName=item.name)
                     for t in page["targets"]),
            lambda policy_target: iot.detach_policy(policyName=item.name, target=policy_target))

    _each(items, report, delete)


def _restore_audit_configuration(items: list[Item], report: CleanupReport) -> None:
    """Give the account back the audit configuration it had before the workshop (or none, when it had none)."""
    iot = target.client("iot")
    item = items[0]

    def foreign_schedules() -> list[str]:
        return [a["scheduledAuditName"] for page in iot.get_paginator("list_scheduled_audits").paginate()
                for a in page["scheduledAudits"]]

    def restore(item: Item) -> None:
        previous = item.detail.get("previous")
        if item.detail.get("role_used"):
            if previous and previous.get("roleArn"):
                kwargs: dict[str, Any] = {"roleArn": previous["roleArn"]}
                targets = previous.get("auditNotificationTargetConfigurations")
                if targets or item.detail.get("sns_used"):
                    kwargs["auditNotificationTargetConfigurations"] = targets or {"SNS": {"enabled": False}}
                iot.update_account_audit_configuration(**kwargs)
                item.status = "restored"
                checks = {name: {k: v for k, v in cfg.items() if k in ("enabled", "configuration")}
                          for name, cfg in (previous.get("auditCheckConfigurations") or {}).items()}
                try:
                    iot.update_account_audit_configuration(auditCheckConfigurations=checks)
                except ClientError as exc:
                    if error_code(exc) != "InvalidRequestException":
                        raise
                    report.notes.append("The previous audit role is back, but the checks the workshop enabled stay "
                                        f"enabled: scheduled audits use them ({', '.join(foreign_schedules())}).")
            else:
                try:
                    iot.delete_account_audit_configuration(deleteScheduledAudits=False)
                    item.status = "deleted"
                except ClientError as exc:
                    if error_code(exc) != "InvalidRequestException":
                        raise
                    names = foreign_schedules()
                    item.status = "kept"
                    item.detail["keep_role"] = iot.describe_account_audit_configuration().get("roleArn")
                    report.errors.append(
                        "audit configuration: kept, with its audit role, because the account has scheduled audits "
                        f"the workshop did not create ({', '.join(names)}) and resetting the configuration would "
                        "delete them. Fix: delete them (helpers.audits.delete_scheduled_audit(name)) or give the "
                        "audit your own role (helpers.settings.configure_audit(role_arn=...)), then run "
                        "cleanup(dry_run=False) again.")
        elif item.detail.get("sns_used"):
            iot.update_account_audit_configuration(auditNotificationTargetConfigurations={"SNS": {"enabled": False}})
            item.status = "restored"

    _each([item], report, restore)


def _simple(call: Callable[[Item], Any]) -> Callable[[list[Item], CleanupReport], None]:
    """Return a deleter that makes one call per item."""
    return lambda items, report: _each(items, report, call)


def _delete_ca(item: Item) -> None:
    """Deactivate, then delete, a CA certificate."""
    iot = target.client("iot")
    iot.update_ca_certificate(certificateId=item.name, newStatus="INACTIVE")
    iot.delete_ca_certificate(certificateId=item.name)


def _delete_role(item: Item) -> None:
    """Detach and delete the role's policies (every page), then delete the role."""
    iam = target.client("iam")
    for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=item.name):
        for policy in page["AttachedPolicies"]:
            iam.detach_role_policy(RoleName=item.name, PolicyArn=policy["PolicyArn"])
    for page in iam.get_paginator("list_role_policies").paginate(RoleName=item.name):
        for policy_name in page["PolicyNames"]:
            iam.delete_role_policy(RoleName=item.name, PolicyName=policy_name)
    iam.delete_role(RoleName=item.name)


def _delete_topic(item: Item) -> None:
    """Delete an SNS topic."""
    sns = target.client("sns")
    sns.get_topic_attributes(TopicArn=item.name)  # DeleteTopic succeeds on a missing topic: say "already gone"
    sns.delete_topic(TopicArn=item.name)


def _delete_key_folder(item: Item) -> None:
    """Delete a local key folder."""
    folder = Path(item.name)
    if not folder.exists():
        item.status = "already gone"
        return
    shutil.rmtree(folder)


_DELETERS: dict[str, Callable[[list[Item], CleanupReport], None]] = {
    "mitigation_actions": _simple(lambda i: target.client("iot").delete_mitigation_action(actionName=i.name)),
    "scheduled_audits": _simple(lambda i: target.client("iot").delete_scheduled_audit(scheduledAuditName=i.name)),
    "suppressions": _simple(lambda i: target.client("iot").delete_audit_suppression(
        checkName=i.detail["checkName"], resourceIdentifier=i.detail["resourceIdentifier"])),
    "audit_configuration": _restore_audit_configuration,
    "certificates": _delete_certificates,
    "things": _delete_things,
    "thing_groups": _simple(lambda i: target.client("iot").delete_thing_group(thingGroupName=i.name)),
    "policies": _delete_policies,
    "ca_certificates": _simple(_delete_ca),
    "role_aliases": _simple(lambda i: target.client("iot").delete_role_alias(roleAlias=i.name)),
    "identity_pools": _simple(lambda i: target.client("cognito-identity").delete_identity_pool(
        IdentityPoolId=i.name)),
    "roles": _simple(_delete_role),
    "topics": _simple(_delete_topic),
    "key_files": _simple(_delete_key_folder),
}
