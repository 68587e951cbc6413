"""Validation rules the Device Defender operations share: role ARNs, check names and tags (a leaf: errors only)."""
from __future__ import annotations

import re
from typing import Any

from ..spec.checks import CHECKS
from . import bounded_json
from .exceptions import InvalidRequestException

ROLE_ARN_RE = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/[\w+=,.@/-]+$")
MAX_TAGS = 50


def request_object(body: bytes | str) -> dict[str, Any]:
    """Return a request body parsed as a JSON object (within bounded_json's limits), else raise
    InvalidRequestException naming the problem."""
    try:
        data = bounded_json.loads(body)
    except bounded_json.JsonBodyError as exc:
        raise InvalidRequestException(str(exc)) from None
    if not isinstance(data, dict):
        raise InvalidRequestException("The request body must be a JSON object.")
    return data


def check_name_error(name: Any) -> InvalidRequestException:
    """Return the error AWS gives for a check name it does not know."""
    return InvalidRequestException(f"Audit check name {name} is not a valid audit check name.")


def validate_check_name(name: Any) -> str:
    """Return ``name`` if it is an audit check name, else raise the error AWS gives."""
    if not isinstance(name, str) or name not in CHECKS:
        raise check_name_error(name)
    return name


def validate_role_arn(value: Any, field: str) -> str:
    """Return ``value`` if it is a well-formed IAM role ARN, else raise InvalidRequestException naming ``field``."""
    if not isinstance(value, str) or not (20 <= len(value) <= 2048) or not ROLE_ARN_RE.match(value):
        raise InvalidRequestException(f"{field} must be an IAM role ARN (arn:aws:iam::<account>:role/<name>); got {value!r}")
    return value


def validated_tags(tags: Any) -> dict[str, str]:
    """Return ``[{Key, Value}, ...]`` as a dict, or raise InvalidRequestException naming the problem."""
    if not isinstance(tags, list) or not tags or len(tags) > MAX_TAGS:
        raise InvalidRequestException(f"tags must be a list of 1 to {MAX_TAGS} {{Key, Value}} objects.")
    out = {}
    for tag in tags:
        if not isinstance(tag, dict) or not isinstance(tag.get("Key"), str) or not 1 <= len(tag["Key"]) <= 128:
            raise InvalidRequestException("Each tag needs a Key of 1 to 128 characters.")
        value = tag.get("Value", "")
        if not isinstance(value, str) or len(value) > 256:
            raise InvalidRequestException("A tag Value must be a string of at most 256 characters.")
        if tag["Key"].lower().startswith("aws:"):
            raise InvalidRequestException("Tag keys starting with aws: are reserved.")
        out[tag["Key"]] = value
    return out
