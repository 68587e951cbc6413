"""AWS's permission model at the sandbox's front door, when enforcement is on (``POST /_sandbox/auth``): every
signed request must come from an access key of an IAM user (or assumed role) in the sandbox, carry a valid SigV4
signature, and be allowed by that identity's policies for its action, resource ARN and condition keys
(:mod:`helpers.spec.request_needs`, :mod:`helpers.spec.authorization`). Off by default: the normal sandbox accepts
any key.

moto has its own check (``INITIAL_NO_AUTH_ACTION_COUNT``), but it compares every action with the resource ``*``
and evaluates conditions only for trust policies, so a statement scoped to ARNs never allows there; this module
uses moto for what it does well (finding the key and its identity's policies, checking the signature) and decides
with the project's evaluator. A refusal is AWS-shaped and is kept in :attr:`Enforcement.denied`.
"""
from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any, Mapping

from moto.iam.access_control import IAMRequest
from moto.iam.models import Policy, iam_backends
from moto.utilities.utils import PARTITION_NAMES, get_partition
from werkzeug.datastructures import EnvironHeaders
from werkzeug.exceptions import HTTPException

from ..spec.authorization import ALLOWED, Need, decide, unsupported_operators
from ..spec.request_needs import request_needs
from .faults import aws_error
from .locking import STATE_LOCK
from .operations import ApiRequest

ADMIN_USER = "rehearsal-admin"
ADMIN_POLICY = json.dumps({"Version": "2012-10-17",
                           "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
# The code and HTTP status AWS answers a denied request with, per service.
DENIAL_CODES = {"iot": ("AccessDeniedException", 403), "iam": ("AccessDenied", 403), "sts": ("AccessDenied", 403),
                "sns": ("AuthorizationError", 403), "sqs": ("AccessDenied", 403),
                "cognito-identity": ("AccessDeniedException", 403)}
MAX_DENIALS = 500

Refusal = tuple[str, list[tuple[str, str]], bytes]


@dataclass
class Enforcement:
    """Whether the front door authorises requests, and what it refused so far."""

    enforce: bool = False
    denied: list[dict[str, str]] = field(default_factory=list)
    unchecked: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def to_dict(self) -> dict[str, Any]:
        """Return the control's view: enforcement on or off, the refusals, what could not be checked."""
        with self.lock:
            return {"enforce": self.enforce, "denied": list(self.denied), "unchecked": sorted(self.unchecked)}

    def check(self, environ: dict[str, Any], request: ApiRequest, params: Mapping[str, Any] | None,
              body: bytes) -> Refusal | None:
        """Return the AWS-shaped refusal of ``request`` (unknown key, bad signature, not allowed), or None to let
        it through; always None when enforcement is off or the operation is one AWS answers unsigned."""
        if not self.enforce or request.operation is None or "HTTP_AUTHORIZATION" not in environ:
            return None
        protocol = request.protocol or "json"
        headers = EnvironHeaders(environ)
        path = environ.get("RAW_URI") or environ.get("PATH_INFO", "")
        if "?" not in path and environ.get("QUERY_STRING"):
            path += "?" + environ["QUERY_STRING"]
        with STATE_LOCK:
            account = account_of_key(_access_key_id(headers.get("Authorization", "")))
            if account is None:
                return aws_error(protocol, 403, "InvalidClientTokenId" if protocol == "query"
                                 else "UnrecognizedClientException",
                                 "The security token included in the request is invalid.")
            try:
                iam_request = IAMRequest(account_id=account, method=environ.get("REQUEST_METHOD", "GET"), path=path,
                                         data={}, body=body, headers=headers, action=request.operation)
                iam_request.check_signature()
                documents = [_document(p) for p in iam_request._access_key.collect_policies()]
                caller = iam_request._access_key.arn
            except HTTPException as exc:  # moto's InvalidClientTokenId, SignatureDoesNotMatch
                return aws_error(protocol, exc.code or 403, getattr(exc, "error_type", "AccessDenied"),
                                 getattr(exc, "message", exc.description or ""))
            backend = iam_backends[account][get_partition(request.region)]
            needs = request_needs(request.service, request.operation, params or {}, account, request.region,
                                  lambda name: _role_arn(backend, name))
        for op in unsupported_operators(documents):
            with self.lock:
                self.unchecked.add(f"condition operator {op} (never matches here)")
        for need in needs:
            if decide(documents, need) != ALLOWED:
                return self._deny(protocol, request, caller, need)
        return None

    def _deny(self, protocol: str, request: ApiRequest, caller: str, need: Need) -> Refusal:
        """Record the refusal of ``need`` and return AWS's error for it."""
        code, status = DENIAL_CODES.get(request.service, ("AccessDeniedException", 403))
        message = (f"User: {caller} is not authorized to perform: {need.action} on resource: {need.resource} "
                   f"because no identity-based policy allows the {need.action} action")
        with self.lock:
            if len(self.denied) < MAX_DENIALS:
                self.denied.append({"operation": f"{request.service}:{request.operation}", "action": need.action,
                                    "resource": need.resource, "caller": caller,
                                    "context": json.dumps(dict(need.context), sort_keys=True)})
        return aws_error(protocol, status, code, message)


def _access_key_id(authorization: str) -> str:
    """Return the access key id of a SigV4 Authorization header ("" when there is none)."""
    return authorization.partition("Credential=")[2].partition("/")[0]


def account_of_key(access_key_id: str) -> str | None:
    """Return the account whose IAM user or assumed role holds ``access_key_id``, or None for an unknown key."""
    if not access_key_id:
        return None
    for account, by_partition in list(iam_backends.items()):
        for partition in PARTITION_NAMES:
            if access_key_id in by_partition[partition].access_keys:
                return account
    return None


def _role_arn(backend: Any, name: str) -> str | None:
    """Return the ARN (path included) of the role ``name`` in ``backend``, or None."""
    role = next((r for r in backend.roles.values() if r.name == name), None)
    return role.arn if role is not None else None


def _document(policy: Any) -> Any:
    """Return the document of an inline policy (text) or of a managed policy's default version."""
    if isinstance(policy, Policy):
        return next(v.document for v in policy.versions if v.is_default)
    if isinstance(policy, Mapping):
        return policy.get("policy_document", policy)
    return policy


def create_admin(account: str) -> dict[str, str]:
    """Create (once) the account's administrator, an IAM user allowed everything, and return a new access key of it:
    the credentials an event's own set-up uses, never the attendee's."""
    with STATE_LOCK:
        backend = iam_backends[account]["aws"]
        if ADMIN_USER not in backend.users:
            backend.create_user(region_name="us-east-1", user_name=ADMIN_USER, path="/", tags=[])  # IAM is global
            backend.put_user_policy(ADMIN_USER, "AdministratorAccess", ADMIN_POLICY)
        key = backend.create_access_key(ADMIN_USER)
    return {"userName": ADMIN_USER, "accessKeyId": key.access_key_id, "secretAccessKey": key.secret_access_key}


def random_account() -> str:
    """Return a random 12-digit account id that is not the sandbox's default (never starting with 0)."""
    while True:
        account = str(secrets.randbelow(9 * 10**11) + 10**11)
        if account != "123456789012":
            return account
