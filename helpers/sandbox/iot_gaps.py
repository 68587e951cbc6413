"""Gaps in moto's IoT that the workshop needs filled: paging that pages, ListCACertificates, IoT tagging, and
certificate validity read from the PEM (moto hard-codes creation ± 1 day, which makes every certificate expiring)."""
from __future__ import annotations

from datetime import timezone
from typing import Any, Callable
from urllib.parse import unquote

from cryptography import x509
from moto.core.responses import ActionResult, EmptyResult
from moto.iot import models as iot_models
from moto.iot.exceptions import CertificateStateException
from moto.iot.exceptions import InvalidRequestException as MotoInvalidRequest
from moto.iot.responses import IoTResponse

from . import data_endpoint
from .exceptions import (CertificateValidationException, InvalidRequestException, MalformedPolicyException,
                         ResourceNotFoundException)
from ..spec.policies import PolicyDocumentError, parse_policy
from .paging import paginate
from .validation import validated_tags


def _marker_page(self: Any, items: list[Any]) -> tuple[list[Any], str | None]:
    """Return a page for the operations that use pageSize/marker (AWS's older paging style)."""
    return paginate(items, self._get_param("pageSize"), self._get_param("marker"),
                    cap=self.dd_backend.page_cap(), fingerprint=self._get_param("policyName") or "")


def _token_page(self: Any, items: list[Any], default: int = 25, maximum: int = 250) -> tuple[list[Any], str | None]:
    """Return a page for the operations that use maxResults/nextToken."""
    return paginate(items, self._get_param("maxResults"), self._get_param("nextToken"), default=default,
                    maximum=maximum, cap=self.dd_backend.page_cap())


def _ascending(self: Any, items: list[Any], key: Callable[[Any], Any]) -> list[Any]:
    descending = str(self._get_param("ascendingOrder", "false")).lower() != "true"
    return sorted(items, key=key, reverse=descending)


# -- overrides of moto operations that ignore paging ---------------------------------------------------------------
def list_certificates(self: Any) -> ActionResult:
    certs = _ascending(self, list(self.iot_backend.certificates.values()), lambda c: (c.creation_date, c.certificate_id))
    page, marker = _marker_page(self, certs)
    return ActionResult({"certificates": [c.to_dict() for c in page], "nextMarker": marker})


def list_certificates_by_ca(self: Any) -> ActionResult:
    ca_id = self._get_param("caCertificateId")
    if ca_id not in self.iot_backend.ca_certificates:
        raise ResourceNotFoundException(f"CA certificate {ca_id} does not exist.")
    certs = [c for c in self.iot_backend.certificates.values() if c.ca_certificate_id == ca_id]
    page, marker = _marker_page(self, _ascending(self, certs, lambda c: (c.creation_date, c.certificate_id)))
    return ActionResult({"certificates": [c.to_dict() for c in page], "nextMarker": marker})


def list_ca_certificates(self: Any) -> ActionResult:
    cas = _ascending(self, list(self.iot_backend.ca_certificates.values()), lambda c: (c.creation_date, c.certificate_id))
    page, marker = _marker_page(self, cas)
    return ActionResult({"certificates": [{"certificateArn": c.arn, "certificateId": c.certificate_id,
                                           "status": c.status, "creationDate": c.creation_date} for c in page],
                         "nextMarker": marker})


def list_policies(self: Any) -> ActionResult:
    policies = _ascending(self, list(self.iot_backend.policies.values()), lambda p: p.name)
    page, marker = _marker_page(self, policies)
    return ActionResult({"policies": [p.to_dict() for p in page], "nextMarker": marker})


def list_targets_for_policy(self: Any) -> ActionResult:
    # moto's backend raises AWS's ResourceNotFoundException wording ("Policy not found")
    targets = sorted(self.iot_backend.list_targets_for_policy(unquote(self._get_param("policyName"))))
    page, marker = _marker_page(self, targets)
    return ActionResult({"targets": page, "nextMarker": marker})


def list_attached_policies(self: Any) -> ActionResult:
    target = unquote(self._get_param("target"))
    names = sorted(p for (t, p) in self.iot_backend.principal_policies if t == target)
    page, marker = _marker_page(self, names)
    policies = [self.iot_backend.policies[n].to_dict() for n in page if n in self.iot_backend.policies]
    return ActionResult({"policies": policies, "nextMarker": marker})


def list_principal_things(self: Any) -> ActionResult:
    principal = self.headers.get("x-amzn-principal")
    things = sorted(t for (p, t) in self.iot_backend.principal_things if p == principal)
    page, token = _token_page(self, things)
    return ActionResult({"things": page, "nextToken": token})


def list_thing_principals(self: Any) -> ActionResult:
    # moto's backend raises AWS's wording ("Failed to list principals for thing ... does not exist in your account")
    principals = sorted(self.iot_backend.list_thing_principals(unquote(self._get_param("thingName"))))
    page, token = _token_page(self, principals)
    return ActionResult({"principals": page, "nextToken": token})


def list_things(self: Any) -> ActionResult:
    name, value = self._get_param("attributeName"), self._get_param("attributeValue")
    thing_type = self._get_param("thingTypeName")
    things = [t for t in self.iot_backend.things.values()
              if (thing_type is None or (t.thing_type is not None and t.thing_type.thing_type_name == thing_type))
              and (name is None or (name in t.attributes and t.attributes[name] == value))]
    things.sort(key=lambda t: t.thing_name)
    page, token = _token_page(self, things)
    return ActionResult({"things": [t.to_dict() for t in page], "nextToken": token})


def list_role_aliases(self: Any) -> ActionResult:
    aliases = _ascending(self, [a.role_alias for a in self.iot_backend.role_aliases.values()], lambda a: a)
    page, marker = _marker_page(self, aliases)
    return ActionResult({"roleAliases": page, "nextMarker": marker})


_MOTO_DESCRIBE_ENDPOINT = IoTResponse.describe_endpoint


def describe_endpoint(self: Any) -> ActionResult:
    """DescribeEndpoint: ``iot:Data-ATS`` names this sandbox's MQTT broker (host, or host:port off 8883)."""
    live = data_endpoint.current()
    if self._get_param("endpointType", "iot:Data-ATS") == "iot:Data-ATS" and live is not None:
        return ActionResult({"endpointAddress": live.address})
    return _MOTO_DESCRIBE_ENDPOINT(self)


# -- IoT tagging ---------------------------------------------------------------------------------------------------
def _resource_exists(self: Any, arn: str) -> bool:
    """Return True when the taggable IoT resource named by ``arn`` exists."""
    iot, dd = self.iot_backend, self.dd_backend
    try:
        kind, name = arn.split(":", 5)[5].split("/", 1)
    except (IndexError, ValueError):
        raise InvalidRequestException(f"resourceArn {arn!r} is not an IoT resource ARN.") from None
    checks: dict[str, Callable[[], bool]] = {
        "policy": lambda: name in iot.policies,
        "thinggroup": lambda: any(g.thing_group_name == name for g in iot.thing_groups.values()),
        "rolealias": lambda: name in iot.role_aliases,
        "cacert": lambda: name in iot.ca_certificates,
        "cert": lambda: name in iot.certificates or name in iot.ca_certificates,  # moto names CA ARNs cert/ too
        "thing": lambda: any(t.thing_name == name for t in iot.things.values()),
        "thingtype": lambda: name in iot.thing_types,
        "billinggroup": lambda: name in iot.billing_groups,
        "scheduledaudit": lambda: name in dd.scheduled_audits,
        "mitigationaction": lambda: name in getattr(dd, "mitigation_actions", {}),
    }
    if kind not in checks:
        raise InvalidRequestException(f"Resources of type {kind!r} cannot be tagged in this sandbox.")
    return checks[kind]()


def tag_resource(self: Any) -> ActionResult:
    body = self._json_body()
    arn = body.get("resourceArn")
    tags = validated_tags(body.get("tags"))
    if not isinstance(arn, str) or not _resource_exists(self, arn):
        raise ResourceNotFoundException(f"The resource {arn} does not exist.")
    self.dd_backend.tag(arn, tags)
    return EmptyResult()


def untag_resource(self: Any) -> ActionResult:
    body = self._json_body()
    arn, keys = body.get("resourceArn"), body.get("tagKeys")
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise InvalidRequestException("tagKeys must be a list of tag keys.")
    if not isinstance(arn, str) or not _resource_exists(self, arn):
        raise ResourceNotFoundException(f"The resource {arn} does not exist.")
    self.dd_backend.untag(arn, keys)
    return EmptyResult()


def list_tags_for_resource(self: Any) -> ActionResult:
    arn = unquote(self._get_param("resourceArn") or "")
    if not _resource_exists(self, arn):
        raise ResourceNotFoundException(f"The resource {arn} does not exist.")
    tags = [{"Key": k, "Value": v} for k, v in sorted(self.dd_backend.tags.get(arn, {}).items())]
    page, token = paginate(tags, None, self._get_param("nextToken"), default=250, cap=self.dd_backend.page_cap())
    return ActionResult({"tags": page, "nextToken": token})


def _keeping_tags(original: Callable[[Any], Any], arn_key: str) -> Callable[[Any], Any]:
    """Wrap a moto create operation so the tags it is given can be listed with ListTagsForResource; the tags are
    validated before moto creates anything, so refused tags leave no resource behind."""

    def wrapper(self: Any) -> Any:
        tags = self._get_param("tags")
        validated = validated_tags(tags) if tags else {}
        result = original(self)
        if validated and isinstance(result, ActionResult) and isinstance(result.result, dict):
            arn = result.result.get(arn_key)
            if arn:
                self.dd_backend.tag(arn, validated)
        return result

    wrapper._devicedefender = True  # type: ignore[attr-defined]
    wrapper._wraps = original  # type: ignore[attr-defined]
    return wrapper


def _policy_document_checked(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Wrap CreatePolicy/CreatePolicyVersion so a document that is not a policy is refused (moto stores anything)."""

    def wrapper(self: Any) -> Any:
        document = self._get_param("policyDocument")
        if not isinstance(document, str) or not document.strip():
            raise MalformedPolicyException("policyDocument must be the policy as a JSON string.")
        try:
            parse_policy(document)
        except PolicyDocumentError as exc:
            raise MalformedPolicyException(f"The policy document is malformed: {exc}.") from None
        return original(self)

    return _marked(wrapper, original)


def _pem_checked(param: str) -> Callable[[Callable[[Any], Any]], Callable[[Any], Any]]:
    """Return a wrapper for a Register*Certificate operation that refuses a ``param`` PEM that does not parse."""

    def wrap(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def wrapper(self: Any) -> Any:
            pem = self._get_param(param)
            try:
                x509.load_pem_x509_certificate(pem.encode())
            except (ValueError, TypeError, AttributeError):
                raise CertificateValidationException(
                    f"{param} does not parse as an X.509 certificate in PEM format.") from None
            return original(self)

        return _marked(wrapper, original)

    return wrap


def _parent_group_checked(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Wrap CreateThingGroup so a parent group that does not exist is refused (moto fails with UnboundLocalError)."""

    def wrapper(self: Any) -> Any:
        parent = self._get_param("parentGroupName")
        if parent is not None and not any(g.thing_group_name == parent for g in self.iot_backend.thing_groups.values()):
            raise InvalidRequestException(f"The parent thing group {parent} does not exist: create it first, or "
                                          "leave parentGroupName out.")
        return original(self)

    return _marked(wrapper, original)


def _marked(wrapper: Callable[[Any], Any], original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    wrapper._devicedefender = True  # type: ignore[attr-defined]
    wrapper._validates_input = True  # type: ignore[attr-defined]
    wrapper._wraps = original  # type: ignore[attr-defined]
    return wrapper


# moto operations whose input the sandbox validates as AWS does before moto stores it
VALIDATED_INPUT: dict[str, Callable[[Callable[[Any], Any]], Callable[[Any], Any]]] = {
    "create_policy": _policy_document_checked,
    "create_policy_version": _policy_document_checked,
    "register_certificate_without_ca": _pem_checked("certificatePem"),
    "register_certificate": _pem_checked("certificatePem"),
    "register_ca_certificate": _pem_checked("caCertificate"),
    "create_thing_group": _parent_group_checked,
}


NEW_OPERATIONS: dict[str, Callable[..., Any]] = {
    "list_ca_certificates": list_ca_certificates,
    "tag_resource": tag_resource,
    "untag_resource": untag_resource,
    "list_tags_for_resource": list_tags_for_resource,
}
OVERRIDES: dict[str, Callable[..., Any]] = {
    "list_certificates": list_certificates,
    "list_certificates_by_ca": list_certificates_by_ca,
    "list_policies": list_policies,
    "list_targets_for_policy": list_targets_for_policy,
    "list_attached_policies": list_attached_policies,
    "list_principal_things": list_principal_things,
    "list_thing_principals": list_thing_principals,
    "list_things": list_things,
    "list_role_aliases": list_role_aliases,
    "describe_endpoint": describe_endpoint,
}
TAGGED_CREATES = {"create_policy": "policyArn", "create_thing_group": "thingGroupArn",
                  "create_role_alias": "roleAliasArn", "register_ca_certificate": "certificateArn",
                  "create_thing_type": "thingTypeArn"}


# -- certificate validity from the PEM -----------------------------------------------------------------------------
def _validity_from_pem(cert: Any) -> None:
    try:
        parsed = x509.load_pem_x509_certificate(cert.certificate_pem.encode())
    except (ValueError, TypeError, AttributeError):
        return  # moto accepts PEMs that do not parse; keep its placeholder dates for those
    # moto stores naive UTC datetimes
    cert.validity_not_before = parsed.not_valid_before_utc.astimezone(timezone.utc).replace(tzinfo=None)
    cert.validity_not_after = parsed.not_valid_after_utc.astimezone(timezone.utc).replace(tzinfo=None)


def _patch_certificate_validity() -> None:
    cls = iot_models.FakeCertificate
    if getattr(cls.__init__, "_devicedefender", False):
        return
    original = cls.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        _validity_from_pem(self)

    __init__._devicedefender = True  # type: ignore[attr-defined]
    cls.__init__ = __init__  # FakeCaCertificate calls FakeCertificate.__init__ through super()


CERTIFICATE_STATUSES = ("ACTIVE", "INACTIVE", "REVOKED", "PENDING_TRANSFER", "REGISTER_INACTIVE", "PENDING_ACTIVATION")


def _patch_update_certificate() -> None:
    """Validate statuses and transitions in moto's UpdateCertificate, for every caller, as AWS does."""
    cls = iot_models.IoTBackend
    if getattr(cls.update_certificate, "_devicedefender", False):
        return

    def update_certificate(self: Any, certificate_id: str, new_status: str) -> None:
        if new_status not in CERTIFICATE_STATUSES:
            raise MotoInvalidRequest(f"newStatus must be one of {', '.join(CERTIFICATE_STATUSES)}; got {new_status!r}.")
        if new_status in ("PENDING_TRANSFER", "PENDING_ACTIVATION"):
            raise MotoInvalidRequest(f"{new_status} is set by AWS IoT itself, not through UpdateCertificate.")
        cert = self.describe_certificate(certificate_id) if certificate_id not in self.certificates \
            else self.certificates[certificate_id]
        if cert.status == "REVOKED" and new_status != "REVOKED":
            raise CertificateStateException("A revoked certificate cannot change status.", certificate_id)
        if cert.status == "PENDING_TRANSFER":
            raise CertificateStateException("The certificate is being transferred: accept, reject or cancel the "
                                            "transfer first.", certificate_id)
        cert.status = new_status
        cert.last_modified_date = iot_models.utcnow()

    update_certificate._devicedefender = True  # type: ignore[attr-defined]
    cls.update_certificate = update_certificate


def install(guard: Callable[[str, Any], None], wrap: Callable[[Callable[..., Any]], Callable[..., Any]]) -> list[str]:
    """Install the gap fillers onto IoTResponse (each through ``wrap``); ``guard`` raises if moto now ships a NEW
    operation itself. The OVERRIDES replace moto methods on purpose (moto ignores paging there)."""
    for name, fn in NEW_OPERATIONS.items():
        guard(name, IoTResponse.__dict__.get(name))
        setattr(IoTResponse, name, wrap(fn))
    for name, fn in OVERRIDES.items():
        setattr(IoTResponse, name, wrap(fn))
    for name, arn_key in TAGGED_CREATES.items():
        current = IoTResponse.__dict__[name]
        if not getattr(current, "_devicedefender", False):
            setattr(IoTResponse, name, _keeping_tags(current, arn_key))
    for name, validated in VALIDATED_INPUT.items():
        current = IoTResponse.__dict__[name]
        if not getattr(current, "_validates_input", False):
            setattr(IoTResponse, name, validated(current))
    _patch_certificate_validity()
    _patch_update_certificate()
    return [*NEW_OPERATIONS, *OVERRIDES]
