"""What the fleet modules share: the workshop's tags and names, and small creation helpers that record every resource
in the local state as soon as it exists (the aws-mode confirmation is :mod:`helpers.safety`'s).

``helpers.fleet`` (the public API), ``helpers.fleet_plan``, ``helpers.fleet_build`` and ``helpers.cleanup`` import
from here. The target is read at call time through :mod:`helpers.target` (``target.is_sandbox()``), so one switch
decides the mode for all of them.
"""
from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any, Callable, Iterator

from botocore.exceptions import ClientError

from . import certs, roles, state, target
from .errors import WorkshopError, error_code

TAG_KEY = "workshop"
TAG_VALUE = "iot-audit-module2"
RUN_TAG = "workshop-run"
ROLE_PATH = "/iot-audit-workshop/"
MODULE1_THINGS = ("SensorDevice01", "SensorDevice02")
MODULE1_TOPICS = {"SensorDevice01": "temperature-device-01", "SensorDevice02": "temperature-device-02"}
MODULE1_NON_COMPLIANT = ("DEVICE_CERTIFICATE_SHARED_CHECK", "IOT_POLICY_OVERLY_PERMISSIVE_CHECK",
                         "LOGGING_DISABLED_CHECK")
TOPIC_NAME = "BadDevices"  # the module's text; the original stack made "BadIoTDevices" (an erratum)
MANAGED = "arn:aws:iam::aws:policy/service-role/"
AUDIT_POLICY_ARN = MANAGED + "AWSIoTDeviceDefenderAudit"
SNS_POLICY_ARN = MANAGED + "AWSIoTDeviceDefenderPublishFindingsToSNSMitigationAction"
PERMISSIVE_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iot:*", "Resource": "*"}]}
CONNECTION_LOOKBACK_GAP_HOURS = 2  # the connection checks ignore the last 2 hours before an audit
GONE_CODES = ("ResourceNotFoundException", "NoSuchEntity", "NotFound", "NotFoundException")


def is_sandbox() -> bool:
    """Return True when the active target is the sandbox (read at call time, so one switch covers every module)."""
    return target.is_sandbox()


def account_id() -> str:
    """Return the account id of the active target.

    AWS operation:
    [GetCallerIdentity](https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html).
    """
    return target.caller_identity()["account"]


def iot_tags(run_id: str) -> list[dict[str, str]]:
    """Return the workshop tags in the ``[{"Key", "Value"}]`` form IoT, IAM and SNS take."""
    return [{"Key": TAG_KEY, "Value": TAG_VALUE}, {"Key": RUN_TAG, "Value": run_id}]


def workshop_tags(extra: dict[str, str] | None = None) -> list[dict[str, str]]:
    """Return the tags of a Module 2 resource (audit role, scheduled audit, mitigation action, thing group): the
    workshop tag, the run of the Module 1 environment recorded on this machine for this target and region (so a
    real account's clean-up, which touches only this machine's runs, finds it), and ``extra``."""
    module1 = state.runs("module1")
    base = iot_tags(module1[-1]["run_id"]) if module1 else [{"Key": TAG_KEY, "Value": TAG_VALUE}]
    return base + [{"Key": k, "Value": v} for k, v in (extra or {}).items() if k not in (TAG_KEY, RUN_TAG)]


def thing_attributes(run_id: str, **extra: str) -> dict[str, str]:
    """Return the attributes that mark a thing as the workshop's (things cannot be tagged)."""
    return {TAG_KEY: TAG_VALUE, RUN_TAG: run_id, **extra}


def is_gone(exc: ClientError) -> bool:
    """Return True when ``exc`` says the resource does not exist."""
    return error_code(exc) in GONE_CODES


def target_now() -> float:
    """Return the current time of the target (the sandbox clock may have been advanced) in epoch seconds."""
    if not is_sandbox():
        return time.time()
    now = target.sandbox_control("GET", "/_sandbox/clock")["now"]
    return datetime.fromisoformat(now).timestamp()


def advance_sandbox_clock(seconds: float) -> float:
    """Return the sandbox's time (epoch seconds) after moving its clock ``seconds`` forward; the scheduled audits that
    fall due run. Sandbox only: a real account's clock is the wall clock (the workshop then waits, or says when).

    Sandbox control: ``POST /_sandbox/clock`` with ``{"advanceSeconds": seconds}``.
    """
    now = target.sandbox_control("POST", "/_sandbox/clock", {"advanceSeconds": seconds})["now"]
    return datetime.fromisoformat(now).timestamp()


def chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    """Return successive slices of ``items`` of at most ``size`` elements."""
    for i in range(0, len(items), size):
        yield items[i:i + size]


def trust_policy(service: str, account: str | None = None) -> str:
    """Return the trust policy (JSON) of a workshop role assumed by ``service``: for iot.amazonaws.com the one of
    :func:`helpers.roles.trust_policy` (``account``, default the target's, in this region only), otherwise a plain
    service trust (the fleet's device-side roles).

    AWS operation:
    [GetCallerIdentity](https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html).
    """
    if service == roles.IOT_SERVICE:
        return json.dumps(roles.current_trust_policy(account))
    return json.dumps(roles.service_trust_policy(service))


def create_role(name: str, trust_service: str, run_id: str, *, managed: str | None = None,
                inline: dict[str, Any] | None = None, account: str | None = None) -> str:
    """Return the ARN of a new tagged IAM role under the workshop path with ``managed`` and/or ``inline`` attached.

    AWS operations: [CreateRole](https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html),
    [AttachRolePolicy](https://docs.aws.amazon.com/IAM/latest/APIReference/API_AttachRolePolicy.html),
    [PutRolePolicy](https://docs.aws.amazon.com/IAM/latest/APIReference/API_PutRolePolicy.html),
    [GetCallerIdentity](https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html).
    """
    iam = target.client("iam")
    try:
        arn = iam.create_role(RoleName=name, Path=ROLE_PATH,
                              AssumeRolePolicyDocument=trust_policy(trust_service, account),
                              Description="Created by the IoT audit workshop (Module 2)",
                              Tags=iot_tags(run_id))["Role"]["Arn"]
    except ClientError as exc:
        if error_code(exc) == "EntityAlreadyExists":
            raise WorkshopError(f"An IAM role named {name} already exists.",
                                "Run helpers.fleet.cleanup(dry_run=False) to remove earlier workshop resources, or "
                                "delete that role.") from None
        raise
    state.add_resources(run_id, "roles", [name])
    if managed:
        iam.attach_role_policy(RoleName=name, PolicyArn=managed)
    if inline:
        iam.put_role_policy(RoleName=name, PolicyName=f"{name}-permissions", PolicyDocument=json.dumps(inline))
    return arn


def after_role_propagation(call: Callable[[], Any], seconds: float = 30.0) -> Any:
    """Return ``call()``, retried while AWS does not yet see a just-created IAM role (IAM is eventually consistent)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return call()
        except ClientError as exc:
            retryable = error_code(exc) in ("InvalidRequestException", "InvalidParameterException")
            if not retryable or is_sandbox() or time.monotonic() > deadline:
                raise
            time.sleep(3)


def create_policy(name: str, document: dict[str, Any], run_id: str) -> str:
    """Return the name of a new tagged IoT policy.

    AWS operation: [CreatePolicy](https://docs.aws.amazon.com/iot/latest/apireference/API_CreatePolicy.html).
    """
    target.client("iot").create_policy(policyName=name, policyDocument=json.dumps(document), tags=iot_tags(run_id))
    state.add_resources(run_id, "policies", [name])
    return name


def register_ca(ca: certs.Issued, run_id: str) -> str:
    """Return the id of ``ca`` registered the way AWS asks (verification certificate signed by the CA), tagged.

    AWS operations:
    [GetRegistrationCode](https://docs.aws.amazon.com/iot/latest/apireference/API_GetRegistrationCode.html),
    [RegisterCACertificate](https://docs.aws.amazon.com/iot/latest/apireference/API_RegisterCACertificate.html).
    """
    iot = target.client("iot")
    code = iot.get_registration_code()["registrationCode"]
    resp = iot.register_ca_certificate(caCertificate=ca.pem,
                                       verificationCertificate=certs.verification_certificate(ca, code),
                                       setAsActive=True, allowAutoRegistration=False, tags=iot_tags(run_id))
    state.add_resources(run_id, "ca_certificates", [resp["certificateId"]])
    return resp["certificateId"]


def logging_enabled() -> bool:
    """Return True when IoT logging is on in v2 (not disableAllLogs, level not DISABLED) or v1 (level not DISABLED).

    AWS operations:
    [GetV2LoggingOptions](https://docs.aws.amazon.com/iot/latest/apireference/API_GetV2LoggingOptions.html),
    [GetLoggingOptions](https://docs.aws.amazon.com/iot/latest/apireference/API_GetLoggingOptions.html).
    """
    iot = target.client("iot")
    try:
        v2 = iot.get_v2_logging_options()
        if not v2.get("disableAllLogs", False) and v2.get("defaultLogLevel", "DISABLED") != "DISABLED":
            return True
    except ClientError as exc:
        if error_code(exc) != "NotConfiguredException":
            raise
    return iot.get_logging_options().get("logLevel", "DISABLED") != "DISABLED"
