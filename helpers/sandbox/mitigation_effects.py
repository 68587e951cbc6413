"""What each mitigation action type really changes in moto's state, for one finding.

An effect gets the account and region it acts in and the one Device Defender setting it may change (v2 logging) as
an :class:`EffectContext`: values and a callback, never the backend that runs the task.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable

from moto.iot.models import iot_backends
from moto.sns.models import sns_backends

from ..spec.actions import BLANK_POLICY
from .audit_tasks import AuditFinding
from .mitigation import MitigationAction
from .snapshot import iam_roles

MAX_GROUPS_PER_THING = 10


@dataclass(frozen=True)
class EffectContext:
    """Where an effect acts, and how it turns on v2 logging (role ARN, level)."""

    account_id: str
    region_name: str
    enable_logging: Callable[[str, str], None]


class ActionFailed(Exception):
    """An execution failed: ``code`` and ``message`` go into the execution record."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _device_certificate_ids(finding: AuditFinding) -> list[str]:
    ident = finding.resource_identifier
    if "deviceCertificateId" in ident:
        return [ident["deviceCertificateId"]]
    # intermediate CA finding: the affected device certificates are its related resources
    return [r["resourceIdentifier"]["deviceCertificateId"] for r in finding.related_resources
            if "deviceCertificateId" in r.get("resourceIdentifier", {})]


def update_device_certificate(ctx: EffectContext, action: MitigationAction,
                              finding: AuditFinding) -> None:
    """Deactivate the finding's device certificate(s)."""
    iot = iot_backends[ctx.account_id][ctx.region_name]
    ids = _device_certificate_ids(finding)
    if not ids:
        raise ActionFailed("INVALID_REQUEST", "The finding names no device certificate.")
    for cert_id in ids:
        if cert_id not in iot.certificates:
            raise ActionFailed("RESOURCE_NOT_FOUND", f"Device certificate {cert_id} no longer exists.")
        if iot.certificates[cert_id].status != "INACTIVE":
            iot.update_certificate(cert_id, "INACTIVE")


def update_ca_certificate(ctx: EffectContext, action: MitigationAction, finding: AuditFinding) -> None:
    """Deactivate the finding's CA certificate."""
    iot = iot_backends[ctx.account_id][ctx.region_name]
    ca_id = finding.resource_identifier.get("caCertificateId")
    if ca_id not in iot.ca_certificates:
        raise ActionFailed("RESOURCE_NOT_FOUND", f"CA certificate {ca_id} no longer exists.")
    iot.update_ca_certificate(ca_id, "INACTIVE", None)


def add_things_to_thing_group(ctx: EffectContext, action: MitigationAction,
                              finding: AuditFinding) -> None:
    """Add the things attached to the finding's certificate(s) to each of the action's thing groups."""
    iot = iot_backends[ctx.account_id][ctx.region_name]
    params = action.params["addThingsToThingGroupParams"]
    groups = {g.thing_group_name: g for g in iot.thing_groups.values()}
    missing = [name for name in params["thingGroupNames"] if name not in groups]
    if missing:
        raise ActionFailed("RESOURCE_NOT_FOUND", f"Thing group(s) {', '.join(missing)} do not exist.")
    arns = {f"arn:aws:iot:{ctx.region_name}:{ctx.account_id}:cert/{c}" for c in _device_certificate_ids(finding)}
    things = {thing.thing_name: thing for (principal, _), (_, thing) in list(iot.principal_things.items())
              if principal in arns}
    for thing in things.values():
        current = sum(1 for g in groups.values() if thing.arn in g.things)
        new = [name for name in params["thingGroupNames"] if thing.arn not in groups[name].things]
        # moto has no dynamic groups, so overrideDynamicGroups has nothing to evict
        if current + len(new) > MAX_GROUPS_PER_THING:
            raise ActionFailed("LIMIT_EXCEEDED", f"Thing {thing.thing_name} would be in more than "
                                                 f"{MAX_GROUPS_PER_THING} thing groups.")
        for name in new:
            iot.add_thing_to_thing_group(name, groups[name].arn, thing.thing_name, thing.arn)


def replace_default_policy_version(ctx: EffectContext, action: MitigationAction,
                                   finding: AuditFinding) -> None:
    """Create a blank policy version and make it the default (a policy keeps at most 5 versions)."""
    iot = iot_backends[ctx.account_id][ctx.region_name]
    name = finding.resource_identifier.get("policyVersionIdentifier", {}).get("policyName")
    policy = iot.policies.get(name)
    if policy is None:
        raise ActionFailed("RESOURCE_NOT_FOUND", f"Policy {name} no longer exists.")
    if len(policy.versions) >= 5:
        # UNCONFIRMED what AWS does here; the sandbox fails rather than delete a version on its own
        raise ActionFailed("LIMIT_EXCEEDED", f"Policy {name} already has 5 versions: delete one, then retry.")
    iot.create_policy_version(name, BLANK_POLICY, True)


def enable_iot_logging(ctx: EffectContext, action: MitigationAction, finding: AuditFinding) -> None:
    """Turn on v2 logging with the action's logging role and level."""
    params = action.params["enableIoTLoggingParams"]
    if params["roleArnForLogging"] not in iam_roles(ctx.account_id):
        raise ActionFailed("RESOURCE_NOT_FOUND", f"The logging role {params['roleArnForLogging']} does not exist.")
    # UNCONFIRMED whether AWS also clears disableAllLogs; without it the action would not enable anything
    ctx.enable_logging(params["roleArnForLogging"], params["logLevel"])


def finding_message(finding: AuditFinding) -> str:
    """Return the finding as AWS publishes it to SNS (times in epoch milliseconds)."""
    data = finding.to_dict()
    for key in ("findingTime", "taskStartTime"):
        data[key] = int(data[key].timestamp() * 1000)
    data.pop("relatedResources", None)
    data.pop("isSuppressed", None)
    return json.dumps(data)


def publish_finding_to_sns(ctx: EffectContext, action: MitigationAction, finding: AuditFinding) -> None:
    """Publish the finding to the action's SNS topic."""
    topic = action.params["publishFindingToSnsParams"]["topicArn"]
    sns = sns_backends[ctx.account_id][ctx.region_name]
    if topic not in sns.topics:
        raise ActionFailed("RESOURCE_NOT_FOUND", f"SNS topic {topic} does not exist.")
    sns.publish(finding_message(finding), arn=topic)


EFFECTS: dict[str, Any] = {
    "UPDATE_DEVICE_CERTIFICATE": update_device_certificate,
    "UPDATE_CA_CERTIFICATE": update_ca_certificate,
    "ADD_THINGS_TO_THING_GROUP": add_things_to_thing_group,
    "REPLACE_DEFAULT_POLICY_VERSION": replace_default_policy_version,
    "ENABLE_IOT_LOGGING": enable_iot_logging,
    "PUBLISH_FINDING_TO_SNS": publish_finding_to_sns,
}
