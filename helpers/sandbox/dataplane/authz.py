"""Authorisation by the IoT policies attached to the connection's certificate, evaluated at every action with the
project's one policy parser and matcher (``helpers.spec.policies``: actions, resources, policy variables).

Actions and resources, as AWS IoT Core names them (https://docs.aws.amazon.com/iot/latest/developerguide/
iot-policy-actions.html): ``iot:Connect`` on ``client/<clientId>``, ``iot:Publish`` and ``iot:Receive`` on
``topic/<topic>``, ``iot:Subscribe`` on ``topicfilter/<filter>`` (``+`` and ``#`` are literal characters there).
An explicit Deny wins, then any Allow, else the action is denied. Policies are read from the registry for every
decision, so a new default version or a detached policy applies to the next action, with no restart.

Policy variables (https://docs.aws.amazon.com/iot/latest/developerguide/iot-policy-variables.html): ``iot:ClientId``,
``iot:Connection.Thing.ThingName`` (the client id, when a thing of that name exists), ``...IsAttached``,
``...ThingTypeName``, ``...Attributes[name]``, and the certificate's ``iot:Certificate.Subject.*``,
``iot:Certificate.Issuer.*`` and ``iot:Certificate.SerialNumber``. A variable that does not resolve matches nothing.
Conditions: Bool, String(Not)Equals(IgnoreCase), String(Not)Like and Arn(Equals|Like), with IfExists; any other
operator (ForAnyValue:..., numeric, date) is not met, so the statement does not apply.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Mapping

from cryptography import x509
from cryptography.x509.oid import NameOID

from ...spec.authorization import ALLOWED, Need, decide_statements
from ...spec.policies import Bindings, PolicyDocumentError, Statement, parse_policy
from .authn import Identity
from .directory import Directory

CONNECT, PUBLISH, SUBSCRIBE, RECEIVE = "iot:Connect", "iot:Publish", "iot:Subscribe", "iot:Receive"
RESOURCE_KIND = {CONNECT: "client", PUBLISH: "topic", RECEIVE: "topic", SUBSCRIBE: "topicfilter"}

_NAME_FIELDS = {"CommonName": NameOID.COMMON_NAME, "Organization": NameOID.ORGANIZATION_NAME,
                "OrganizationalUnit": NameOID.ORGANIZATIONAL_UNIT_NAME, "Country": NameOID.COUNTRY_NAME,
                "State": NameOID.STATE_OR_PROVINCE_NAME, "Locality": NameOID.LOCALITY_NAME,
                "SerialNumber": NameOID.SERIAL_NUMBER}


def partition(region: str) -> str:
    """Return the AWS partition of ``region``."""
    if region.startswith("cn-"):
        return "aws-cn"
    return "aws-us-gov" if region.startswith("us-gov-") else "aws"


def resource_arn(identity: Identity, action: str, name: str) -> str:
    """Return the ARN an action is authorised on (``arn:aws:iot:<region>:<account>:topic/<name>``)."""
    return f"arn:{partition(identity.region)}:iot:{identity.region}:{identity.account}:{RESOURCE_KIND[action]}/{name}"


@lru_cache(maxsize=4096)
def _parsed_text(document: str) -> tuple[Statement, ...]:
    """Return the statements of a policy document's text (cached: the same documents are read at every action)."""
    return parse_policy(document)


def statements(document: str | Mapping[str, Any]) -> tuple[Statement, ...]:
    """Return the statements of a stored policy document; () for one that does not parse (it grants nothing)."""
    try:
        return _parsed_text(document) if isinstance(document, str) else parse_policy(document)
    except PolicyDocumentError:
        return ()


def _certificate_variables(cert: x509.Certificate) -> dict[str, str]:
    """Return the certificate policy variables (lower-case names) with a value in ``cert``."""
    out = {"iot:certificate.serialnumber": format(cert.serial_number, "x")}
    for part, name in (("subject", cert.subject), ("issuer", cert.issuer)):
        for field, oid in _NAME_FIELDS.items():
            values = name.get_attributes_for_oid(oid)
            if values:
                out[f"iot:certificate.{part}.{field.lower()}"] = str(values[0].value)
    return out


class Authorizer:
    """Decides iot:Connect/Publish/Subscribe/Receive for a connection from the policies attached right now."""

    def __init__(self, directory: Directory) -> None:
        self.directory = directory

    def variables(self, identity: Identity, client_id: str, source_ip: str) -> dict[str, str]:
        """Return the policy variables and condition keys of a connection (lower-case names), as they are now."""
        values = {"iot:clientid": client_id, "aws:sourceip": source_ip, **_certificate_variables(identity.certificate)}
        attached = self.directory.is_attached(identity.account, identity.region, identity.certificate_arn, client_id)
        values["iot:connection.thing.isattached"] = "true" if attached else "false"
        thing = self.directory.thing(identity.account, identity.region, client_id)
        if thing is not None:
            values["iot:connection.thing.thingname"] = thing.name
            if thing.thing_type:
                values["iot:connection.thing.thingtypename"] = thing.thing_type
            for key, value in thing.attributes.items():
                values[f"iot:connection.thing.attributes[{key.lower()}]"] = str(value)
        return values

    def allows(self, identity: Identity, client_id: str, source_ip: str, action: str, name: str) -> bool:
        """Return True when the certificate's policies allow ``action`` on the resource ``name`` (client id, topic or
        topic filter) for this connection."""
        documents = self.directory.policy_documents(identity.account, identity.region, identity.certificate_arn)
        if not documents:
            return False
        values = self.variables(identity, client_id, source_ip)
        bindings: Bindings = tuple(sorted(values.items()))
        return decide([s for d in documents for s in statements(d)], action,
                      resource_arn(identity, action, name), bindings, values)


def decide(all_statements: list[Statement], action: str, resource: str, bindings: Bindings,
           context: Mapping[str, str]) -> bool:
    """Return True when some statement allows the request and none denies it, by the project's one evaluator
    (:mod:`helpers.spec.authorization`), with unresolved policy variables matching nothing."""
    need = Need(action, resource, {key: (value,) for key, value in context.items()}, bindings, strict_variables=True)
    return decide_statements(all_statements, need) == ALLOWED
