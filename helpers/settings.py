"""Module §1.1, audit settings: describe them as a table, validate them against what the workshop needs (with the
fix for each gap), enable and disable checks, turn SNS alerts on, and first-time setup — which, like the console, also
creates the daily scheduled audit ``AWSIoTDeviceDefenderDailyAudit``.

Writes (creating roles, changing settings) run directly; replacing or deleting something in a real account needs
``confirm=True`` (:func:`helpers.safety.require_confirmation`).
"""
from __future__ import annotations

import html
import json
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import pandas as pd
from botocore.exceptions import ClientError

from . import roles, target
from .checks import CHECK_NAMES, ORIGINAL_14, describe_check, resolve_check_names
from .errors import WorkshopError, aws_error, error_code
from .fleet_base import workshop_tags
from .safety import require_confirmation
from .spec.policies import missing_actions
from .tables import StyledTable, as_severity, style_table

__all__ = [
    "AUDIT_POLICY_NAME", "SNS_POLICY_NAME", "AUDIT_POLICY_ACTIONS", "DAILY_AUDIT_NAME", "DEFAULT_AUDIT_ROLE_NAME",
    "DEFAULT_SNS_ROLE_NAME", "DEFAULT_TOPIC_NAME", "WORKSHOP_TAG", "AuditSettings", "Outcome", "Requirement",
    "RoleReport", "Validation", "describe_audit_settings", "enabled_checks",
    "list_audit_settings", "audit_settings_table", "inspect_role", "validate_audit_settings", "create_audit_role",
    "create_sns_alert_role", "ensure_service_role", "set_audit_role", "enable_checks", "disable_checks",
    "configure_sns_alerts",
    "disable_sns_alerts", "configure_audit", "delete_audit_configuration", "managed_policy_arn",
]

AUDIT_POLICY_NAME = "AWSIoTDeviceDefenderAudit"
SNS_POLICY_NAME = "AWSIoTDeviceDefenderPublishFindingsToSNSMitigationAction"
# The actions of the AWS managed policy AWSIoTDeviceDefenderAudit (v3): an "equivalent" policy allows all of them.
AUDIT_POLICY_ACTIONS: tuple[str, ...] = (
    "iot:GetLoggingOptions", "iot:GetV2LoggingOptions", "iot:ListCACertificates", "iot:ListCertificates",
    "iot:DescribeCACertificate", "iot:DescribeCertificate", "iot:ListPolicies", "iot:GetPolicy",
    "iot:GetEffectivePolicies", "iot:ListRoleAliases", "iot:DescribeRoleAlias",
    "cognito-identity:GetIdentityPoolRoles", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies", "iam:GetRole",
    "iam:GetPolicy", "iam:GetPolicyVersion", "iam:GetRolePolicy", "iam:GenerateServiceLastAccessedDetails",
    "iam:GetServiceLastAccessedDetails",
)
DAILY_AUDIT_NAME = "AWSIoTDeviceDefenderDailyAudit"
DEFAULT_AUDIT_ROLE_NAME = "IoTDeviceDefenderAuditRole"
DEFAULT_SNS_ROLE_NAME = "IoTDeviceDefenderAuditSNSRole"
DEFAULT_TOPIC_NAME = "BadDevices"  # as the module says (the original stack created BadIoTDevices)
WORKSHOP_TAG = {"Key": "workshop", "Value": "iot-audit-module2"}
IOT_SERVICE = roles.IOT_SERVICE


# -- shared plumbing -----------------------------------------------------------------------------------------------
def _account() -> str:
    return target.client("sts").get_caller_identity()["Account"]


def _partition() -> str:
    arn = target.client("sts").get_caller_identity()["Arn"]
    return arn.split(":")[1] if arn.count(":") >= 2 else "aws"


def managed_policy_arn(name: str) -> str:
    """Return the ARN of the AWS managed service-role policy ``name`` in the caller's partition.

    AWS operation:
    [GetCallerIdentity](https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html).
    """
    return f"arn:{_partition()}:iam::aws:policy/service-role/{name}"


def _role_name(role_arn: str) -> str:
    if ":role/" not in role_arn:
        raise WorkshopError(f"{role_arn!r} is not an IAM role ARN.",
                            "Give the role's ARN, e.g. arn:aws:iam::123456789012:role/IoTDeviceDefenderAuditRole.")
    return role_arn.rsplit("/", 1)[-1]


@dataclass
class Outcome:
    """What a setup helper did, step by step (prints as a list, shows as one in a notebook)."""

    title: str
    steps: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return "\n".join([self.title, *(f"  • {s}" for s in self.steps)])

    __repr__ = __str__

    def _repr_html_(self) -> str:
        items = "".join(f"<li>{html.escape(s)}</li>" for s in self.steps)
        return f"<div><b>{html.escape(self.title)}</b><ul>{items}</ul></div>"


# -- reading the settings ------------------------------------------------------------------------------------------
@dataclass
class AuditSettings:
    """The account's audit configuration: role, SNS target, and each check's enabled flag and configuration."""

    role_arn: str | None
    sns: dict[str, Any] | None
    checks: dict[str, dict[str, Any]]

    @property
    def configured(self) -> bool:
        """Return True once an audit role has been set (the account has been configured)."""
        return bool(self.role_arn)

    @property
    def enabled_checks(self) -> list[str]:
        """Return the enabled checks' names, sorted."""
        return sorted(n for n, c in self.checks.items() if c.get("enabled"))


def describe_audit_settings() -> AuditSettings:
    """Return the account's audit settings (DescribeAccountAuditConfiguration).

    AWS operation:
    [DescribeAccountAuditConfiguration](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeAccountAuditConfiguration.html).
    """
    resp = target.client("iot").describe_account_audit_configuration()
    sns = (resp.get("auditNotificationTargetConfigurations") or {}).get("SNS")
    return AuditSettings(role_arn=resp.get("roleArn"), sns=dict(sns) if sns else None,
                         checks={k: dict(v) for k, v in (resp.get("auditCheckConfigurations") or {}).items()})


def enabled_checks() -> list[str]:
    """Return the names of the checks enabled in the account.

    AWS operation:
    [DescribeAccountAuditConfiguration](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeAccountAuditConfiguration.html).
    """
    return describe_audit_settings().enabled_checks


def list_audit_settings() -> pd.DataFrame:
    """Return one row per check: check, title, severity, enabled, resource type, configuration.

    AWS operation:
    [DescribeAccountAuditConfiguration](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeAccountAuditConfiguration.html).
    """
    current = describe_audit_settings().checks
    rows = []
    for name in CHECK_NAMES:
        info = describe_check(name)
        cfg = current.get(name, {})
        rows.append({"check": name, "title": info.title, "severity": info.severity, "enabled": bool(cfg.get("enabled")),
                     "resource type": info.resource_type,
                     "configuration": ", ".join(f"{k}={v}" for k, v in (cfg.get("configuration") or {}).items())})
    frame = pd.DataFrame(rows)
    frame["severity"] = as_severity(frame["severity"])
    return frame.sort_values(["enabled", "severity", "title"], ascending=[False, True, True]).reset_index(drop=True)


def audit_settings_table() -> StyledTable:
    """Return :func:`list_audit_settings` styled by severity, enabled checks first.

    AWS operation:
    [DescribeAccountAuditConfiguration](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeAccountAuditConfiguration.html).
    """
    settings = describe_audit_settings()
    caption = f"Audit role: {settings.role_arn or 'none'} · SNS alerts: " + (
        f"on → {settings.sns.get('targetArn')}" if settings.sns and settings.sns.get("enabled") else "off")
    return style_table(list_audit_settings(), mark_columns=["enabled"], caption=caption)


# -- roles ---------------------------------------------------------------------------------------------------------
def _trusts(doc: Any, service: str = IOT_SERVICE) -> bool:
    """Return True when the trust policy lets ``service`` assume the role (see :func:`helpers.roles.trusts_service`)."""
    return roles.trusts_service(doc, service)


@dataclass
class RoleReport:
    """What IAM says about a role Device Defender is to assume."""

    role_arn: str
    exists: bool
    trusted: bool = False
    managed_policies: list[str] = field(default_factory=list)
    missing_actions: list[str] = field(default_factory=list)
    problem: str = ""  # set when IAM could not be read (e.g. AccessDenied)
    # what the trust policy allows beyond "iot.amazonaws.com for this account only" (helpers.roles.trust_problems)
    trust_problems: list[str] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        """Return True when the role exists, trusts IoT and allows every required action."""
        return self.exists and self.trusted and not self.missing_actions and not self.problem

    @property
    def name(self) -> str:
        """Return the role's name (the last part of its ARN)."""
        return self.role_arn.rsplit("/", 1)[-1]

    def rows(self) -> list[tuple[str, bool | None, str]]:
        """Return (question, ✓/✗/None, detail) rows: exists, trusted by IoT, policies, required actions."""
        if self.problem:
            return [("can be read", None, self.problem)]
        if not self.exists:
            return [("exists", False, "IAM has no such role")]
        trust = f"trusts {IOT_SERVICE}" if self.trusted else f"does not trust {IOT_SERVICE}"
        if self.trust_problems:  # a warning: the role works, but trusts more than it needs to
            trust += f" (warning: {'; '.join(self.trust_problems)})"
        return [("exists", True, self.role_arn),
                ("trusted by IoT", self.trusted, trust),
                ("managed policies", None, ", ".join(self.managed_policies) or "none"),
                ("required actions allowed", not self.missing_actions,
                 "all" if not self.missing_actions else "missing " + ", ".join(self.missing_actions))]

    def __str__(self) -> str:
        marks = {True: "✓", False: "✗", None: "·"}
        head = f"Role {self.name}: {'usable' if self.usable else 'NOT usable'} by Device Defender"
        return "\n".join([head, *(f"  {marks[ok]} {q}: {detail}" for q, ok, detail in self.rows())])

    __repr__ = __str__

    def _repr_html_(self) -> str:
        marks = {True: "✓", False: "✗", None: ""}
        frame = pd.DataFrame([{"ok": marks[ok], "check": q, "detail": detail} for q, ok, detail in self.rows()])
        verdict = "usable" if self.usable else "NOT usable"
        return style_table(frame, severity_column=None, mark_columns=["ok"],
                           caption=f"Role {self.name}: {verdict} by Device Defender").to_html()


def inspect_role(role_arn: str, *, required_actions: Iterable[str] = AUDIT_POLICY_ACTIONS) -> RoleReport:
    """Return whether ``role_arn`` exists, trusts iot.amazonaws.com, and which ``required_actions`` it lacks.

    AWS operations: [GetRole](https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetRole.html),
    [ListAttachedRolePolicies](https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListAttachedRolePolicies.html),
    [GetPolicy](https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetPolicy.html),
    [GetPolicyVersion](https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetPolicyVersion.html),
    [ListRolePolicies](https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListRolePolicies.html),
    [GetRolePolicy](https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetRolePolicy.html),
    and those of the helpers it uses.
    """
    iam = target.client("iam")
    name = _role_name(role_arn)
    try:
        role = iam.get_role(RoleName=name)["Role"]
        attached = [p for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=name)
                    for p in page["AttachedPolicies"]]
        docs: list[Any] = []
        for policy in attached:
            version = iam.get_policy(PolicyArn=policy["PolicyArn"])["Policy"]["DefaultVersionId"]
            docs.append(iam.get_policy_version(PolicyArn=policy["PolicyArn"], VersionId=version)
                        ["PolicyVersion"]["Document"])
        for page in iam.get_paginator("list_role_policies").paginate(RoleName=name):
            for policy_name in page["PolicyNames"]:
                docs.append(iam.get_role_policy(RoleName=name, PolicyName=policy_name)["PolicyDocument"])
    except ClientError as exc:
        if error_code(exc) == "NoSuchEntity":
            return RoleReport(role_arn, exists=False)
        err = exc.response.get("Error", {})
        return RoleReport(role_arn, exists=True, problem=f"IAM refused to describe it ({err.get('Code')}: "
                                                         f"{err.get('Message', '')})")
    trust = role.get("AssumeRolePolicyDocument")
    return RoleReport(role_arn, exists=True, trusted=_trusts(trust),
                      managed_policies=[p["PolicyName"] for p in attached],
                      missing_actions=missing_actions(docs, required_actions),
                      trust_problems=_trust_problems(role["Arn"], trust))


def _trust_problems(role_arn: str, trust: Any) -> list[str]:
    """Return :func:`helpers.roles.trust_problems` for a role, in the account and partition of its ARN."""
    parts = role_arn.split(":")
    account, partition = (parts[4], parts[1]) if len(parts) > 5 else (_account(), "aws")
    return roles.trust_problems(trust, account, target.get_region(), partition)


def ensure_service_role(role_name: str, policy_name: str, description: str) -> tuple[str, list[str]]:
    """Create (or reuse) a role trusted by IoT (this account only) carrying the AWS managed service-role policy
    ``policy_name``; return (ARN, the steps done as sentences).

    AWS operations: [CreateRole](https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html),
    [GetRole](https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetRole.html),
    [ListAttachedRolePolicies](https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListAttachedRolePolicies.html),
    [AttachRolePolicy](https://docs.aws.amazon.com/IAM/latest/APIReference/API_AttachRolePolicy.html),
    [GetCallerIdentity](https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html).
    """
    iam = target.client("iam")
    steps: list[str] = []
    try:
        arn = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=json.dumps(roles.current_trust_policy()),
                              Description=description, Tags=workshop_tags())["Role"]["Arn"]
        steps.append(f"Created IAM role {role_name}, trusted by {IOT_SERVICE} for this account and region only "
                     "(aws:SourceAccount and aws:SourceArn conditions).")
    except ClientError as exc:
        if error_code(exc) != "EntityAlreadyExists":
            raise aws_error(exc, f"Could not create the IAM role {role_name}.",
                            "Your credentials need iam:CreateRole, iam:AttachRolePolicy and iam:PassRole.") from None
        role = iam.get_role(RoleName=role_name)["Role"]
        arn = role["Arn"]
        if not _trusts(role.get("AssumeRolePolicyDocument")):
            raise WorkshopError(f"The IAM role {role_name} already exists but does not trust {IOT_SERVICE}.",
                                "Pass another role_name to create a new role, or add iot.amazonaws.com to the "
                                "role's trust policy.")
        steps.append(f"Reused the existing IAM role {role_name} (trusted by {IOT_SERVICE}).")
        problems = _trust_problems(arn, role.get("AssumeRolePolicyDocument"))
        if problems:
            steps.append(f"Warning: the trust policy of {role_name} is wider than the workshop's: "
                         f"{'; '.join(problems)}. helpers.roles.current_trust_policy() is the one it would use.")
    policy_arn = managed_policy_arn(policy_name)
    attached = {p["PolicyArn"] for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=role_name)
                for p in page["AttachedPolicies"]}
    if policy_arn not in attached:
        iam.attach_role_policy(RoleName=role_name, PolicyArn=policy_arn)
        steps.append(f"Attached the AWS managed policy {policy_name} to {role_name}.")
    return arn, steps


_ensure_service_role = ensure_service_role  # the name helpers.mitigation imports


def create_audit_role(role_name: str = DEFAULT_AUDIT_ROLE_NAME) -> str:
    """Create (or reuse and complete) the audit role: trusted by IoT, with AWSIoTDeviceDefenderAudit; return its ARN.

    AWS operations: [AttachRolePolicy](https://docs.aws.amazon.com/IAM/latest/APIReference/API_AttachRolePolicy.html),
    [CreateRole](https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html),
    [GetCallerIdentity](https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html),
    [GetRole](https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetRole.html),
    [ListAttachedRolePolicies](https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListAttachedRolePolicies.html).
    """
    return ensure_service_role(role_name, AUDIT_POLICY_NAME, "Lets AWS IoT Device Defender audit this account.")[0]


def create_sns_alert_role(role_name: str = DEFAULT_SNS_ROLE_NAME) -> str:
    """Create (or reuse and complete) the role that lets Device Defender publish audit alerts to SNS; return its ARN.

    AWS operations: [AttachRolePolicy](https://docs.aws.amazon.com/IAM/latest/APIReference/API_AttachRolePolicy.html),
    [CreateRole](https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html),
    [GetCallerIdentity](https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html),
    [GetRole](https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetRole.html),
    [ListAttachedRolePolicies](https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListAttachedRolePolicies.html).
    """
    return ensure_service_role(role_name, SNS_POLICY_NAME, "Lets AWS IoT Device Defender publish audit alerts.")[0]


def _role_fix(report: RoleReport, kind: str) -> str | None:
    """Return a sentence on what is wrong with ``report`` for a ``kind`` role, or None when it is usable."""
    name = report.role_arn.rsplit("/", 1)[-1]
    if report.problem:
        return f"The {kind} role {name} could not be checked: {report.problem}."
    if not report.exists:
        return f"The {kind} role {report.role_arn} does not exist."
    if not report.trusted:
        return f"The {kind} role {name} does not trust {IOT_SERVICE}."
    if report.missing_actions:
        return f"The {kind} role {name} does not allow {', '.join(report.missing_actions)}."
    return None


def _checked_role(role_arn: str, kind: str, required: Iterable[str], create_hint: str) -> None:
    report = inspect_role(role_arn, required_actions=required)
    problem = _role_fix(report, kind)
    if problem:
        raise WorkshopError(problem, f"Let the workshop make a correct one: {create_hint}, or fix the role in IAM.")


def _first_configuration_needed(settings: AuditSettings) -> None:
    if not settings.configured:
        raise WorkshopError("Device Defender audit is not configured in this account and region yet.",
                            "Run settings.configure_audit() first (it creates the audit role and enables the "
                            "checks).")


def set_audit_role(role_arn: str, *, confirm: bool = False) -> Outcome:
    """Make ``role_arn`` the audit role after checking it (replacing another role needs ``confirm`` on AWS).

    AWS operations:
    [UpdateAccountAuditConfiguration](https://docs.aws.amazon.com/iot/latest/apireference/API_UpdateAccountAuditConfiguration.html),
    and those of the helpers it uses.
    """
    _checked_role(role_arn, "audit", AUDIT_POLICY_ACTIONS, "settings.create_audit_role()")
    current = describe_audit_settings()
    _first_configuration_needed(current)
    if current.role_arn != role_arn:
        require_confirmation("Not done: this step", [f"replacing the audit role {current.role_arn} with {role_arn}"],
                             confirm)
    target.client("iot").update_account_audit_configuration(roleArn=role_arn)
    return Outcome("Audit role set", [f"Device Defender now audits as {role_arn}."], {"roleArn": role_arn})


# -- checks --------------------------------------------------------------------------------------------------------
def _scheduled_audits_using(names: Iterable[str]) -> dict[str, list[str]]:
    """Return check name -> scheduled audits that run it, for the given checks."""
    iot = target.client("iot")
    wanted = set(names)
    out: dict[str, list[str]] = {}
    for page in iot.get_paginator("list_scheduled_audits").paginate():
        for row in page["scheduledAudits"]:
            name = row["scheduledAuditName"]
            for check in iot.describe_scheduled_audit(scheduledAuditName=name)["targetCheckNames"]:
                if check in wanted:
                    out.setdefault(check, []).append(name)
    return out


def _update_checks(changes: dict[str, dict[str, Any]]) -> None:
    try:
        target.client("iot").update_account_audit_configuration(auditCheckConfigurations=changes)
    except ClientError as exc:
        raise aws_error(exc, "Device Defender refused to change the checks.",
                        "Read AWS's message above; settings.validate_audit_settings() shows what is missing.") from None


def enable_checks(check_names: Iterable[str] | str) -> Outcome:
    """Enable the given checks (names validated first); return what changed.

    AWS operations:
    [DescribeAccountAuditConfiguration](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeAccountAuditConfiguration.html),
    [UpdateAccountAuditConfiguration](https://docs.aws.amazon.com/iot/latest/apireference/API_UpdateAccountAuditConfiguration.html).
    """
    names = resolve_check_names(check_names)
    current = describe_audit_settings()
    _first_configuration_needed(current)
    already = [n for n in names if n in current.enabled_checks]
    todo = [n for n in names if n not in already]
    if todo:
        _update_checks({n: {"enabled": True} for n in todo})
    steps = [f"Enabled {len(todo)} check(s): {', '.join(todo)}."] if todo else []
    if already:
        steps.append(f"Already enabled: {', '.join(already)}.")
    return Outcome("Audit checks enabled", steps, {"enabled": todo})


def disable_checks(check_names: Iterable[str] | str) -> Outcome:
    """Disable the given checks, refusing (with the fix) those a scheduled audit still runs; return what changed.

    AWS operations:
    [DescribeAccountAuditConfiguration](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeAccountAuditConfiguration.html),
    [DescribeScheduledAudit](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeScheduledAudit.html),
    [ListScheduledAudits](https://docs.aws.amazon.com/iot/latest/apireference/API_ListScheduledAudits.html),
    [UpdateAccountAuditConfiguration](https://docs.aws.amazon.com/iot/latest/apireference/API_UpdateAccountAuditConfiguration.html).
    """
    names = resolve_check_names(check_names)
    current = describe_audit_settings()
    _first_configuration_needed(current)
    todo = [n for n in names if n in current.enabled_checks]
    in_use = _scheduled_audits_using(todo)
    if in_use:
        detail = "; ".join(f"{c} by {', '.join(a)}" for c, a in sorted(in_use.items()))
        first_check, audits_ = next(iter(sorted(in_use.items())))
        raise WorkshopError(f"Scheduled audits still run these checks: {detail}.",
                            f"Remove them from the scheduled audit first, e.g. audits.update_scheduled_audit("
                            f"{audits_[0]!r}, check_names=[...without {first_check}...]), or delete it with "
                            f"audits.delete_scheduled_audit({audits_[0]!r}).")
    if todo:
        _update_checks({n: {"enabled": False} for n in todo})
    steps = [f"Disabled {len(todo)} check(s): {', '.join(todo)}."] if todo else ["Nothing to do: already disabled."]
    return Outcome("Audit checks disabled", steps, {"disabled": todo})


# -- SNS alerts ----------------------------------------------------------------------------------------------------
def _topic_exists(topic_arn: str) -> bool:
    try:
        target.client("sns").get_topic_attributes(TopicArn=topic_arn)
        return True
    except ClientError as exc:
        if error_code(exc) in ("NotFound", "NotFoundException", "InvalidParameter"):
            return False
        raise aws_error(exc, f"Could not check the SNS topic {topic_arn}.", "Your credentials need "
                        "sns:GetTopicAttributes.") from None


def configure_sns_alerts(topic_arn: str | None = None, role_arn: str | None = None, *,
                         topic_name: str = DEFAULT_TOPIC_NAME, role_name: str = DEFAULT_SNS_ROLE_NAME,
                         confirm: bool = False) -> Outcome:
    """Turn on SNS alerts for audits: use (or create) the topic and the publishing role; return what was done.

    AWS operations: [CreateTopic](https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html),
    [UpdateAccountAuditConfiguration](https://docs.aws.amazon.com/iot/latest/apireference/API_UpdateAccountAuditConfiguration.html),
    and those of the helpers it uses.
    """
    current = describe_audit_settings()
    _first_configuration_needed(current)
    steps: list[str] = []
    if topic_arn is None:
        # No tags here: CreateTopic on an existing topic with different tags is refused.
        topic_arn = target.client("sns").create_topic(Name=topic_name)["TopicArn"]
        steps.append(f"Using SNS topic {topic_name} ({topic_arn}); created if it did not exist.")
    elif not _topic_exists(topic_arn):
        raise WorkshopError(f"The SNS topic {topic_arn} does not exist in this account and region.",
                            "Pass the ARN of an existing topic, or leave topic_arn out to create "
                            f"{DEFAULT_TOPIC_NAME}.")
    if role_arn is None:
        role_arn, role_steps = ensure_service_role(role_name, SNS_POLICY_NAME,
                                                    "Lets AWS IoT Device Defender publish audit alerts.")
        steps.extend(role_steps or [f"Using role {role_name}."])
    else:
        _checked_role(role_arn, "SNS alert", ["sns:Publish"], "settings.configure_sns_alerts(topic_arn) without "
                                                              "role_arn")
    old = current.sns or {}
    if old.get("enabled") and (old.get("targetArn"), old.get("roleArn")) != (topic_arn, role_arn):
        require_confirmation("Not done: this step", [f"replacing the SNS alert target {old.get('targetArn')}"], confirm)
    target.client("iot").update_account_audit_configuration(auditNotificationTargetConfigurations={
        "SNS": {"targetArn": topic_arn, "roleArn": role_arn, "enabled": True}})
    steps.append(f"SNS alerts enabled: every finished audit is published to {topic_arn} using {role_arn}.")
    return Outcome("SNS alerts on", steps, {"targetArn": topic_arn, "roleArn": role_arn})


def disable_sns_alerts() -> Outcome:
    """Turn SNS alerts off (the topic and role are kept); return what was done.

    AWS operations:
    [UpdateAccountAuditConfiguration](https://docs.aws.amazon.com/iot/latest/apireference/API_UpdateAccountAuditConfiguration.html),
    [DescribeAccountAuditConfiguration](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeAccountAuditConfiguration.html).
    """
    current = describe_audit_settings()
    if not current.sns or not current.sns.get("enabled"):
        return Outcome("SNS alerts off", ["SNS alerts were already off."])
    target.client("iot").update_account_audit_configuration(auditNotificationTargetConfigurations={
        "SNS": {**current.sns, "enabled": False}})
    return Outcome("SNS alerts off", [f"Audits no longer publish to {current.sns.get('targetArn')}."])


# -- validation ----------------------------------------------------------------------------------------------------
@dataclass
class Requirement:
    """One thing the workshop needs, whether it holds, and how to fix it when it does not."""

    requirement: str
    ok: bool | None  # None: could not be checked
    detail: str
    fix: str = ""


@dataclass
class Validation:
    """The result of :func:`validate_audit_settings`: one row per requirement with ✓/✗ and the fix."""

    requirements: list[Requirement]

    @property
    def ok(self) -> bool:
        """Return True when every requirement holds."""
        return all(r.ok for r in self.requirements)

    @property
    def failures(self) -> list[Requirement]:
        """Return the requirements that do not hold (or could not be checked)."""
        return [r for r in self.requirements if not r.ok]

    def frame(self) -> pd.DataFrame:
        """Return the requirements as a DataFrame (columns: ok, requirement, detail, fix)."""
        marks = {True: "✓", False: "✗", None: "?"}
        return pd.DataFrame([{"ok": marks[r.ok], "requirement": r.requirement, "detail": r.detail, "fix": r.fix}
                             for r in self.requirements], columns=["ok", "requirement", "detail", "fix"])

    def table(self) -> StyledTable:
        """Return the requirements styled (✓ green, ✗ vermillion)."""
        verdict = "ready for the workshop" if self.ok else f"{len(self.failures)} thing(s) to fix"
        return style_table(self.frame(), severity_column=None, mark_columns=["ok"],
                           caption=f"Audit settings: {verdict}")

    def __str__(self) -> str:
        lines = [f"{'✓' if r.ok else '✗' if r.ok is False else '?'} {r.requirement}: {r.detail}"
                 + (f"\n    fix: {r.fix}" if r.fix and not r.ok else "") for r in self.requirements]
        head = "Audit settings are ready for the workshop." if self.ok else "Audit settings need fixing:"
        return "\n".join([head, *lines])

    __repr__ = __str__

    def _repr_html_(self) -> str:
        return self.table().to_html()


def _role_requirements(role_arn: str | None, kind: str, policy_name: str, required: list[str],
                       fix_create: str) -> list[Requirement]:
    label = f"{kind} role"
    if not role_arn:
        return [Requirement(f"{label} is set", False, "no role is configured", fix_create)]
    report = inspect_role(role_arn, required_actions=required)
    name = role_arn.rsplit("/", 1)[-1]
    if report.problem:
        return [Requirement(f"{label} can be read", None, report.problem,
                            "Give your credentials iam:GetRole, iam:ListAttachedRolePolicies, iam:GetPolicy, "
                            "iam:GetPolicyVersion, iam:ListRolePolicies and iam:GetRolePolicy.")]
    rows = [Requirement(f"{label} exists", report.exists, role_arn if report.exists else f"{role_arn} not found",
                        fix_create)]
    if not report.exists:
        return rows
    wider = [p for p in report.trust_problems if IOT_SERVICE not in p]  # a warning: the role still works
    rows.append(Requirement(f"{label} is trusted by IoT", report.trusted,
                            f"{name} {'trusts' if report.trusted else 'does not trust'} {IOT_SERVICE}"
                            + (f" (warning: {'; '.join(wider)})" if report.trusted and wider else ""),
                            f"Add {IOT_SERVICE} to {name}'s trust policy, or {fix_create}"))
    has_policy = policy_name in report.managed_policies
    ok = not report.missing_actions
    detail = (f"{name} carries {policy_name}" if has_policy else
              f"{name} allows everything {policy_name} allows" if ok else
              f"{name} lacks {', '.join(report.missing_actions[:4])}"
              + (f" and {len(report.missing_actions) - 4} more" if len(report.missing_actions) > 4 else ""))
    rows.append(Requirement(f"{label} carries {policy_name}", ok, detail,
                            f"Attach the AWS managed policy {policy_name} to {name}."))
    return rows


def validate_audit_settings(*, check_names: Iterable[str] = ORIGINAL_14, sns_alerts: bool = True) -> Validation:
    """Return ✓/✗ with a fix for each of the workshop's needs: audit role, enabled checks, SNS alerts.

    AWS operations:
    [DescribeAccountAuditConfiguration](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeAccountAuditConfiguration.html),
    [GetRole](https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetRole.html),
    [ListAttachedRolePolicies](https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListAttachedRolePolicies.html),
    [GetPolicyVersion](https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetPolicyVersion.html),
    [GetTopicAttributes](https://docs.aws.amazon.com/sns/latest/api/API_GetTopicAttributes.html),
    among others (``helpers.under_the_hood.show_calls()`` lists every call).
    """
    names = resolve_check_names(check_names)
    settings = describe_audit_settings()
    rows = _role_requirements(settings.role_arn, "audit", AUDIT_POLICY_NAME, list(AUDIT_POLICY_ACTIONS),
                              "run settings.configure_audit() (creates the role) or settings.create_audit_role()")
    missing = [n for n in names if n not in settings.enabled_checks]
    rows.append(Requirement(f"{len(names)} audit checks are enabled", not missing,
                            f"all {len(names)} enabled" if not missing else
                            f"{len(missing)} disabled: {', '.join(missing)}",
                            f"settings.enable_checks({missing!r})" if missing else ""))
    if sns_alerts:
        sns = settings.sns or {}
        enabled = bool(sns.get("enabled"))
        fix = "settings.configure_sns_alerts() (creates the topic and the role if needed)"
        rows.append(Requirement("SNS alerts are enabled", enabled,
                                f"on → {sns.get('targetArn')}" if enabled else "off", fix))
        if enabled:
            topic = sns.get("targetArn") or ""
            exists = bool(topic) and _topic_exists(topic)
            rows.append(Requirement("SNS topic exists", exists, topic if exists else f"{topic or 'no topic'} not found",
                                    fix))
            rows.extend(_role_requirements(sns.get("roleArn"), "SNS alert", SNS_POLICY_NAME, ["sns:Publish"], fix))
    return Validation(rows)


# -- first-time configuration --------------------------------------------------------------------------------------
def _with_new_role_retry(call: Callable[[], Any], role_is_new: bool, attempts: int = 6) -> Any:
    """Run ``call``, retrying while a role created seconds ago is not yet visible to IoT (IAM is eventually
    consistent)."""
    for attempt in range(attempts):
        try:
            return call()
        except ClientError as exc:
            retry = (role_is_new and error_code(exc) == "InvalidRequestException"
                     and "role" in str(exc).lower() and attempt < attempts - 1)
            if not retry:
                raise
            time.sleep(2 * (attempt + 1))
    return None  # pragma: no cover - the loop either returns or raises


def _ensure_daily_audit(names: list[str]) -> str:
    iot = target.client("iot")
    try:
        iot.describe_scheduled_audit(scheduledAuditName=DAILY_AUDIT_NAME)
        return (f"The daily scheduled audit {DAILY_AUDIT_NAME} already exists and was left as it is "
                "(audits.list_scheduled_audits() shows it).")
    except ClientError as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise aws_error(exc, "Could not look up the daily scheduled audit.",
                            "Check your IoT permissions.") from None
    try:
        iot.create_scheduled_audit(scheduledAuditName=DAILY_AUDIT_NAME, frequency="DAILY", targetCheckNames=names,
                                   tags=workshop_tags())
    except ClientError as exc:
        if error_code(exc) == "LimitExceededException":
            return ("The daily scheduled audit was NOT created: the account already has 5 scheduled audits "
                    "(the quota). Delete one with audits.delete_scheduled_audit(name) if you want it.")
        raise aws_error(exc, f"Could not create the scheduled audit {DAILY_AUDIT_NAME}.",
                        "Read AWS's message; audits.create_scheduled_audit() can create it later.") from None
    return (f"Created the scheduled audit {DAILY_AUDIT_NAME}: it runs the {len(names)} enabled checks every day. "
            "The console creates this same audit on first setup. Remove it with "
            f"audits.delete_scheduled_audit({DAILY_AUDIT_NAME!r}) if you only want on-demand audits.")


def configure_audit(*, role_arn: str | None = None, role_name: str = DEFAULT_AUDIT_ROLE_NAME,
                    check_names: Iterable[str] = ORIGINAL_14, sns_alerts: bool = False,
                    sns_topic_arn: str | None = None, sns_role_arn: str | None = None, daily_audit: bool = True,
                    confirm: bool = False) -> Outcome:
    """Set up Device Defender audit like the console's first-time setup; return every step taken.

    Uses ``role_arn`` (checked first) or creates/reuses the role ``role_name``; enables ``check_names`` (other checks
    keep their state; see :func:`disable_checks`); optionally
    turns on SNS alerts; and, like the console, creates the daily scheduled audit ``AWSIoTDeviceDefenderDailyAudit``
    (``daily_audit=False`` skips it). Replacing an existing audit role in a real account needs ``confirm=True``.

    AWS operations:
    [UpdateAccountAuditConfiguration](https://docs.aws.amazon.com/iot/latest/apireference/API_UpdateAccountAuditConfiguration.html),
    and those of the helpers it uses.
    """
    names = resolve_check_names(check_names)
    current = describe_audit_settings()
    steps: list[str] = []
    role_is_new = False
    if role_arn is None:
        role_arn, role_steps = ensure_service_role(role_name, AUDIT_POLICY_NAME,
                                                    "Lets AWS IoT Device Defender audit this account.")
        role_is_new = any(s.startswith("Created") for s in role_steps)
        steps.extend(role_steps)
    else:
        _checked_role(role_arn, "audit", AUDIT_POLICY_ACTIONS, "settings.configure_audit() without role_arn")
        steps.append(f"Using the audit role {role_arn} (exists, trusted by IoT, has the audit permissions).")
    if current.role_arn and current.role_arn != role_arn:
        require_confirmation("Not done: this step", [f"replacing the audit role {current.role_arn} with {role_arn}"],
                             confirm)
    iot = target.client("iot")
    try:
        _with_new_role_retry(lambda: iot.update_account_audit_configuration(
            roleArn=role_arn, auditCheckConfigurations={n: {"enabled": True} for n in names}), role_is_new)
    except ClientError as exc:
        raise aws_error(exc, "Device Defender refused the audit configuration.",
                        "Check the role (settings.inspect_role(arn)) and that your credentials allow "
                        "iot:UpdateAccountAuditConfiguration and iam:PassRole.") from None
    if current.role_arn and current.role_arn != role_arn:
        steps.append(f"Replaced the previous audit role {current.role_arn}.")
    newly = [n for n in names if n not in current.enabled_checks]
    steps.append(f"Audit role set; {len(names)} checks enabled ({len(newly)} newly): {', '.join(names)}.")
    if sns_alerts or sns_topic_arn or sns_role_arn:
        steps.extend(configure_sns_alerts(sns_topic_arn, sns_role_arn, confirm=confirm).steps)
    if daily_audit:
        steps.append(_ensure_daily_audit(names))
    return Outcome("Device Defender audit configured", steps,
                   {"roleArn": role_arn, "checkNames": names, "dailyAudit": DAILY_AUDIT_NAME if daily_audit else None})


def delete_audit_configuration(*, delete_scheduled_audits: bool = False, confirm: bool = False) -> Outcome:
    """Reset the account's audit configuration (and its scheduled audits if asked); needs ``confirm`` on AWS.

    AWS operations:
    [DeleteAccountAuditConfiguration](https://docs.aws.amazon.com/iot/latest/apireference/API_DeleteAccountAuditConfiguration.html),
    [GetCallerIdentity](https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html).
    """
    require_confirmation("Not done: this step", ["deleting the account's audit configuration"
                                                 + (" and all scheduled audits" if delete_scheduled_audits else "")],
                         confirm)
    try:
        target.client("iot").delete_account_audit_configuration(deleteScheduledAudits=delete_scheduled_audits)
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return Outcome("Audit configuration deleted", ["Nothing to delete: audit was never configured."])
        raise aws_error(exc, "Device Defender refused to delete the audit configuration.",
                        "If scheduled audits exist, pass delete_scheduled_audits=True.") from None
    return Outcome("Audit configuration deleted", ["The audit role, SNS target and enabled checks were reset."
                                                   + (" Scheduled audits were deleted." if delete_scheduled_audits
                                                      else "")])
