"""Cognito identity pool roles (SetIdentityPoolRoles / GetIdentityPoolRoles), which moto does not implement.

The Cognito role audit checks need to know each pool's authenticated and unauthenticated roles.
"""
from __future__ import annotations

import json
from typing import Any

from moto.cognitoidentity.models import cognitoidentity_backends
from moto.cognitoidentity.responses import CognitoIdentityResponse
from moto.core.base_backend import BackendDict, BaseBackend
from moto.core.exceptions import JsonRESTError

from .exceptions import MotoImplementsOperation
from .validation import ROLE_ARN_RE


MOTO_COGNITO_METHODS = frozenset(name for name, fn in vars(CognitoIdentityResponse).items()
                                 if not getattr(fn, "_devicedefender", False))


class CognitoRolesBackend(BaseBackend):
    """Per account and region: pool id -> {"authenticated": arn, "unauthenticated": arn}."""

    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self.roles: dict[str, dict[str, str]] = {}


cognito_roles_backends = BackendDict(CognitoRolesBackend, "cognito-identity")


def pool_roles(account_id: str, region: str) -> dict[str, dict[str, str]]:
    """Return the roles set for each identity pool of the account and region."""
    return {k: dict(v) for k, v in cognito_roles_backends[account_id][region].roles.items()}


def _pool_or_raise(response: Any, pool_id: Any) -> None:
    if pool_id not in cognitoidentity_backends[response.current_account][response.region].identity_pools:
        raise JsonRESTError("ResourceNotFoundException", f"Identity pool {pool_id} does not exist.")


def set_identity_pool_roles(self: Any) -> str:
    pool_id = self._get_param("IdentityPoolId")
    roles = self._get_param("Roles") or {}
    _pool_or_raise(self, pool_id)
    if not isinstance(roles, dict) or set(roles) - {"authenticated", "unauthenticated"}:
        raise JsonRESTError("InvalidParameterException", 'Roles takes the keys "authenticated" and "unauthenticated".')
    for kind, arn in roles.items():
        if not isinstance(arn, str) or not ROLE_ARN_RE.match(arn):
            raise JsonRESTError("InvalidParameterException", f"Roles.{kind} must be an IAM role ARN; got {arn!r}.")
    cognito_roles_backends[self.current_account][self.region].roles[pool_id] = dict(roles)
    return ""


def get_identity_pool_roles(self: Any) -> str:
    pool_id = self._get_param("IdentityPoolId")
    _pool_or_raise(self, pool_id)
    roles = cognito_roles_backends[self.current_account][self.region].roles.get(pool_id, {})
    return json.dumps({"IdentityPoolId": pool_id, "Roles": roles})


OPERATIONS = {"set_identity_pool_roles": set_identity_pool_roles, "get_identity_pool_roles": get_identity_pool_roles}


def install() -> list[str]:
    """Add the two operations to moto's CognitoIdentityResponse (idempotent) and return their names."""
    for name, fn in OPERATIONS.items():
        existing = CognitoIdentityResponse.__dict__.get(name)
        if existing is not None and not getattr(existing, "_devicedefender", False):
            raise MotoImplementsOperation(f"moto's CognitoIdentityResponse now implements {name}; drop ours.")
        fn._devicedefender = True  # type: ignore[attr-defined]
        setattr(CognitoIdentityResponse, name, fn)
    return list(OPERATIONS)
