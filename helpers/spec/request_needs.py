"""What an AWS API request needs from IAM: its own action on the resource it acts on, plus what IAM asks for besides
(``iam:PassRole`` for every role ARN handed to a service, the tagging action for tags given on create), each with
the condition keys AWS sets (``iam:PassedToService``, ``iam:PolicyARN``, ``aws:TagKeys``, ``aws:RequestTag/...``).

Resource ARNs follow the Service Authorization Reference for the operations whose permissions the workshop scopes
(things, IoT policies, thing groups, mitigation actions, scheduled audits, IAM roles, SNS topics); any other
operation is checked on ``*``, which only a statement whose Resource covers every resource allows, so an
operation this table misses shows up as a denial, never as a silent grant.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from .authorization import Need

Operation = tuple[str, str]  # (botocore signing service name, operation name)

# Signing names whose IAM service prefix differs.
SERVICE_PREFIXES: dict[str, str] = {"iotdata": "iot", "iot-data": "iot", "iot-jobs-data": "iotjobsdata",
                                    "monitoring": "cloudwatch", "email": "ses"}

# Operations whose IAM action is not named after them (botocore iot model: "Requires permission to access the ...").
OPERATION_ACTIONS: dict[Operation, str] = {
    ("iot", "ListThingPrincipalsV2"): "iot:ListThingPrincipals",
    ("iot", "ListPrincipalThingsV2"): "iot:ListPrincipalThings",
    ("iot", "DisassociateSbomFromPackageVersion"): "iot:DisassociateSbomWithPackageVersion",
}

# Operations that need no permission at all.
NO_PERMISSION: frozenset[Operation] = frozenset({("sts", "GetCallerIdentity")})

# The service a role is passed to, per signing service (the value of iam:PassedToService).
PASSED_TO = {"iot": "iot.amazonaws.com", "cognito-identity": "cognito-identity.amazonaws.com"}

# IoT operations → (resource type, parameter naming it), for the resource types the workshop's policy scopes.
IOT_RESOURCES: dict[str, tuple[str, str]] = {
    **{op: ("thing", "thingName") for op in ("CreateThing", "DeleteThing", "DescribeThing", "UpdateThing",
                                              "ListThingPrincipals", "ListThingPrincipalsV2")},
    **{op: ("policy", "policyName") for op in ("CreatePolicy", "DeletePolicy", "GetPolicy", "CreatePolicyVersion",
                                               "DeletePolicyVersion", "SetDefaultPolicyVersion", "GetPolicyVersion",
                                               "ListPolicyVersions", "ListTargetsForPolicy")},
    **{op: ("thinggroup", "thingGroupName") for op in ("CreateThingGroup", "DeleteThingGroup", "DescribeThingGroup",
                                                       "UpdateThingGroup", "ListThingsInThingGroup")},
    **{op: ("mitigationaction", "actionName") for op in ("CreateMitigationAction", "DeleteMitigationAction",
                                                         "DescribeMitigationAction", "UpdateMitigationAction")},
    **{op: ("scheduledaudit", "scheduledAuditName") for op in ("CreateScheduledAudit", "DeleteScheduledAudit",
                                                               "DescribeScheduledAudit", "UpdateScheduledAudit")},
}
# IoT operations that create a resource with tags (the tags need iot:TagResource on it).
IOT_TAGGED_CREATES = frozenset({"CreateThingGroup", "CreatePolicy", "CreateMitigationAction", "CreateScheduledAudit",
                                "CreateRoleAlias", "RegisterCACertificate"})
IAM_ROLE_OPERATIONS = frozenset({"CreateRole", "GetRole", "DeleteRole", "TagRole", "UntagRole", "ListRoleTags",
                                 "AttachRolePolicy", "DetachRolePolicy", "PutRolePolicy", "DeleteRolePolicy",
                                 "GetRolePolicy", "ListRolePolicies", "ListAttachedRolePolicies",
                                 "UpdateAssumeRolePolicy"})
SNS_TOPIC_OPERATIONS = frozenset({"GetTopicAttributes", "DeleteTopic", "SetTopicAttributes", "Publish", "Subscribe",
                                  "ListSubscriptionsByTopic"})

RoleArnOf = Callable[[str], str | None]  # role name → its ARN (with its path), None when there is no such role


def iam_action(service: str, operation: str) -> str:
    """Return the IAM action of a botocore (signing service, operation) pair, e.g. ("iot", "ListThings") →
    "iot:ListThings"."""
    special = OPERATION_ACTIONS.get((service, operation))
    if special is not None:
        return special
    return f"{SERVICE_PREFIXES.get(service, service)}:{operation}"


def _partition(region: str) -> str:
    """Return the ARN partition of ``region``."""
    return "aws-cn" if region.startswith("cn-") else "aws-us-gov" if region.startswith("us-gov-") else "aws"


def _tag_context(tags: Any) -> dict[str, tuple[str, ...]]:
    """Return aws:TagKeys and aws:RequestTag/<key> of the tags a request carries ({} without tags)."""
    if isinstance(tags, Mapping):  # SNS/IoT maps, if ever
        pairs = [(str(k), str(v)) for k, v in tags.items()]
    elif isinstance(tags, list):
        pairs = [(str(t.get("Key", t.get("key", ""))), str(t.get("Value", t.get("value", ""))))
                 for t in tags if isinstance(t, Mapping)]
    else:
        return {}
    if not pairs:
        return {}
    context: dict[str, tuple[str, ...]] = {"aws:tagkeys": tuple(k for k, _ in pairs)}
    for key, value in pairs:
        context[f"aws:requesttag/{key.lower()}"] = (value,)
    return context


def _role_arns(service: str, operation: str, params: Mapping[str, Any]) -> list[str]:
    """Return every role ARN the request hands to a service (each needs iam:PassRole)."""
    found: list[str] = []

    def walk(value: Any, key: str = "") -> None:
        if isinstance(value, Mapping):
            for k, v in value.items():
                walk(v, k)
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif isinstance(value, str) and key.lower().startswith("rolearn") and ":role/" in value:
            found.append(value)

    if service == "iot" and operation.startswith(("Create", "Update", "Set", "Start")):
        walk(params)
    if (service, operation) == ("cognito-identity", "SetIdentityPoolRoles"):
        walk(params.get("Roles", {}), "roleArn")
    return found


def _resource(service: str, operation: str, params: Mapping[str, Any], account: str, region: str,
              role_arn_of: RoleArnOf) -> str:
    """Return the ARN the request's own action acts on, or ``*`` when this table does not know it."""
    part = _partition(region)
    if service == "iot" and operation in IOT_RESOURCES:
        kind, name = IOT_RESOURCES[operation]
        if isinstance(params.get(name), str):
            return f"arn:{part}:iot:{region}:{account}:{kind}/{params[name]}"
    if service == "iot" and operation in ("TagResource", "UntagResource", "ListTagsForResource"):
        return str(params.get("resourceArn") or "*")
    if service == "iam" and operation in IAM_ROLE_OPERATIONS and isinstance(params.get("RoleName"), str):
        if operation == "CreateRole":
            path = params.get("Path") or "/"
            return f"arn:{part}:iam::{account}:role{path}{params['RoleName']}"
        return role_arn_of(params["RoleName"]) or f"arn:{part}:iam::{account}:role/{params['RoleName']}"
    if service == "iam" and operation in ("GetPolicy", "GetPolicyVersion"):
        return str(params.get("PolicyArn") or "*")
    if service == "sns" and operation == "CreateTopic" and isinstance(params.get("Name"), str):
        return f"arn:{part}:sns:{region}:{account}:{params['Name']}"
    if service == "sns" and operation in SNS_TOPIC_OPERATIONS:
        return str(params.get("TopicArn") or "*")
    if service == "sns" and operation in ("TagResource", "UntagResource", "ListTagsForResource"):
        return str(params.get("ResourceArn") or "*")
    return "*"


def request_needs(service: str, operation: str, params: Mapping[str, Any], account: str, region: str,
                  role_arn_of: RoleArnOf = lambda name: None) -> list[Need]:
    """Return what IAM must allow for the request (own action first), empty for an operation needing no
    permission; ``role_arn_of`` finds an existing role's ARN, path included, by its name."""
    if (service, operation) in NO_PERMISSION:
        return []
    action = iam_action(service, operation)
    resource = _resource(service, operation, params, account, region, role_arn_of)
    context: dict[str, tuple[str, ...]] = {}
    if (service, operation) == ("iam", "AttachRolePolicy") and isinstance(params.get("PolicyArn"), str):
        context["iam:policyarn"] = (params["PolicyArn"],)
    tag_context = _tag_context(params.get("tags", params.get("Tags")))
    if operation in ("TagResource", "TagRole"):
        context.update(tag_context)
    needs = [Need(action, resource, context)]
    for role_arn in _role_arns(service, operation, params):
        needs.append(Need("iam:PassRole", role_arn, {"iam:passedtoservice": (PASSED_TO.get(service, service),)}))
    if tag_context and operation not in ("TagResource", "TagRole"):
        tagging = {"iot": "iot:TagResource", "sns": "sns:TagResource", "iam": "iam:TagRole"}.get(service)
        if tagging and (service != "iot" or operation in IOT_TAGGED_CREATES):
            needs.append(Need(tagging, resource, tag_context))
    return needs
