"""The trust policy of every IAM role the workshop creates for AWS IoT, and the reading of a role's trust policy.

One builder, :func:`trust_policy`, makes the trust policy of every role AWS IoT / Device Defender assumes (audit
role, SNS alert role, mitigation action roles, the IoT logging role): only ``iot.amazonaws.com`` may assume it, and
only on behalf of this account and region — the confused-deputy conditions AWS documents:

* "Cross-service confused deputy prevention" for Device Defender
  (https://docs.aws.amazon.com/iot/latest/developerguide/dd-cross-service-confused-deputy-prevention.html):
  ``aws:SourceArn`` is ``arn:{partition}:iot:{region}:{account}:`` for the roles passed to
  UpdateAccountAuditConfiguration (audit role, SNS notification role) and
  ``arn:{partition}:iot:{region}:{account}:mitigationaction/{name}`` for a mitigation action's role; when one role
  serves several resources, the page says to use the key with a wildcard.
* The same page for AWS IoT Core
  (https://docs.aws.amazon.com/iot/latest/developerguide/cross-service-confused-deputy-prevention.html): the
  ``aws:SourceArn`` of AWS IoT has the form ``arn:aws:iot:region:account-id:*``, used with ``ArnLike`` next to
  ``StringEquals`` ``aws:SourceAccount``.

The workshop reuses one role per job (one mitigation role serves every action of its type), so it uses the
documented wildcard form ``arn:{partition}:iot:{region}:{account}:*``, which also matches the audit form (``*``
matches the empty string).

The fleet's device-side roles (role-alias roles trusted by ``credentials.iot.amazonaws.com``, Cognito identity-pool
roles, made only by :func:`helpers.fleet.build_fleet`) are data for the audit checks, not roles IoT assumes for the
workshop: :func:`service_trust_policy` gives them a plain trust policy (no condition keys are documented for those
services here).
"""
from __future__ import annotations

from typing import Any, Mapping

from . import target
from .spec.policies import (ALLOW, PolicyDocumentError, Statement, parse_trust_policy,  # noqa: F401
                            trusts_service)
from .spec.wildcards import glob

IOT_SERVICE = "iot.amazonaws.com"
ASSUME_ROLE = "sts:AssumeRole"


def source_arn(account: str, region: str, partition: str = "aws") -> str:
    """Return the ``aws:SourceArn`` pattern of AWS IoT in ``account`` and ``region`` (``arn:…:iot:region:account:*``)."""
    return f"arn:{partition}:iot:{region}:{account}:*"


def _statement(service: str) -> dict[str, Any]:
    """Return an Allow sts:AssumeRole statement for the service principal ``service`` (no condition)."""
    return {"Effect": "Allow", "Principal": {"Service": service}, "Action": ASSUME_ROLE}


def trust_policy(account: str, region: str, partition: str = "aws") -> dict[str, Any]:
    """Return the trust policy of a role AWS IoT assumes: iot.amazonaws.com only, for ``account`` in ``region``."""
    statement = _statement(IOT_SERVICE)
    statement["Condition"] = {"StringEquals": {"aws:SourceAccount": account},
                              "ArnLike": {"aws:SourceArn": source_arn(account, region, partition)}}
    return {"Version": "2012-10-17", "Statement": [statement]}


def service_trust_policy(service: str) -> dict[str, Any]:
    """Return a plain trust policy letting ``service`` assume a role (the fleet's device-side roles only)."""
    return {"Version": "2012-10-17", "Statement": [_statement(service)]}


def partition_of(region: str) -> str:
    """Return the AWS partition of ``region`` ("aws", "aws-cn", "aws-us-gov", ...; "aws" when unknown)."""
    import boto3

    try:
        return boto3.Session().get_partition_for_region(region) or "aws"
    except Exception:  # an unknown region: the sandbox refuses it anyway
        return "aws"


def current_trust_policy(account: str | None = None) -> dict[str, Any]:
    """Return :func:`trust_policy` for ``account`` (default: the active target's) in the active region.

    AWS operation:
    [GetCallerIdentity](https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html).
    """
    region = target.get_region()
    return trust_policy(account or target.caller_identity()["account"], region, partition_of(region))


# -- reading a trust policy -----------------------------------------------------------------------------------------
def _granting(doc: Any) -> list[Statement]:
    """Return the statements of a trust policy (dict, JSON or URL-encoded JSON, as IAM returns it) that let someone
    assume the role; [] when it does not parse."""
    try:
        statements = parse_trust_policy(doc if isinstance(doc, (str, Mapping)) else "")
    except PolicyDocumentError:
        return []
    return [st for st in statements if st.effect == ALLOW and st.covers_action(ASSUME_ROLE)]


def _principals(statement: Statement) -> list[str]:
    """Return a statement's principals as "Service:x", "AWS:y", "Federated:z" or "*"."""
    return ["*" if kind == "*" else f"{kind}:{p}" for kind, values in statement.principals.items() for p in values]


def _condition(statement: Statement, operators: tuple[str, ...], key: str) -> list[str]:
    """Return the values of condition ``key`` under any of ``operators`` (both case-insensitive)."""
    return [v for op in operators for v in statement.condition_values(op, key)]


def trust_problems(doc: Any, account: str, region: str | None = None, partition: str = "aws") -> list[str]:
    """Return what is wrong with a trust policy for a role IoT assumes for ``account`` ([] when it is as expected).

    Expected: every statement granting sts:AssumeRole names only ``iot.amazonaws.com`` and carries
    ``aws:SourceAccount`` = ``account``; an ``aws:SourceArn`` condition, when present, names IoT in this account
    (and ``region``, when given).
    """
    granting = _granting(doc)
    if not granting:
        return ["no statement lets anyone assume it"]
    problems: list[str] = []
    if not trusts_service(doc):
        problems.append(f"{IOT_SERVICE} cannot assume it")
    others = sorted({p for st in granting for p in _principals(st) if p != f"Service:{IOT_SERVICE}"})
    if others:
        problems.append("it also trusts " + ", ".join(others))
    for st in granting:
        accounts = _condition(st, ("stringequals", "stringlike"), "aws:SourceAccount")
        if accounts != [account]:
            problems.append("no aws:SourceAccount condition limits it to this account (confused deputy)"
                            if not accounts else f"aws:SourceAccount is {', '.join(accounts)}, not this account")
        arns = _condition(st, ("arnlike", "arnequals", "stringlike", "stringequals"), "aws:SourceArn")
        expected = f"arn:{partition}:iot:{region or '*'}:{account}:"
        wrong = [a for a in arns if not glob(expected + "*").matches(a)]
        if wrong:
            problems.append(f"aws:SourceArn {', '.join(wrong)} is not AWS IoT in this account"
                            + (f" and region {region}" if region else ""))
    return list(dict.fromkeys(problems))
