"""Raw HTTP to the sandbox for hardening tests: SigV4-signed requests for any service with any body and headers
(broken JSON, bytes that are not UTF-8, a Content-Length that is no number), and unsigned control calls."""
from __future__ import annotations

import http.client
import json
import urllib.parse
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

CONTENT_TYPES = {"iot": "application/json", "cognito-identity": "application/x-amz-json-1.1",
                 "sqs": "application/x-amz-json-1.0"}
QUERY_SERVICES = ("iam", "sts", "sns")


@dataclass(frozen=True)
class Reply:
    """One HTTP answer: status, headers (lower-case names) and the raw body."""

    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        """Return the body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    @property
    def xml(self) -> ElementTree.Element | None:
        """Return the body as XML, or None when it is not well-formed XML."""
        try:
            return ElementTree.fromstring(self.body)
        except ElementTree.ParseError:
            return None

    @property
    def is_html(self) -> bool:
        """Return True for an HTML page (werkzeug's error pages): never an AWS answer. The body tells, not the
        content type: moto labels many JSON answers text/html."""
        return self.body.lstrip()[:15].lower().startswith((b"<!doctype", b"<html"))

    @property
    def aws_code(self) -> str | None:
        """Return the AWS error code of the answer (JSON ``__type``/header, or XML ``Code``), or None."""
        if self.headers.get("x-amzn-errortype"):
            return self.headers["x-amzn-errortype"].split(":")[0]
        body = self.json
        if isinstance(body, dict):
            return body.get("__type") or body.get("code")
        tree = self.xml
        code = tree.find(".//Code") if tree is not None else None
        return code.text if code is not None else None


def send(endpoint: str, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> Reply:
    """Send one request exactly as given (no signing) and return the reply."""
    parts = urllib.parse.urlsplit(endpoint)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        headers = dict(headers or {})
        if "Content-Length" not in headers and (body or method in ("POST", "PUT", "PATCH")):
            headers["Content-Length"] = str(len(body))
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.endheaders()
        if body:
            conn.send(body)
        resp = conn.getresponse()
        return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


def signed(endpoint: str, service: str, method: str, path: str, body: bytes | str | Any = b"",
           region: str = "us-east-1", headers: dict[str, str] | None = None) -> Reply:
    """Send a SigV4-signed request for ``service`` (test credentials); a body that is not bytes or str is sent as
    JSON, a str verbatim (so broken JSON stays broken)."""
    if not isinstance(body, (bytes, str)):
        body = json.dumps(body)
    data = body.encode() if isinstance(body, str) else body
    default_type = ("application/x-www-form-urlencoded; charset=utf-8" if service in QUERY_SERVICES
                    else CONTENT_TYPES.get(service, "application/json"))
    all_headers = {"Content-Type": default_type, **(headers or {})}
    request = AWSRequest(method=method, url=endpoint + path, data=data, headers=all_headers)
    SigV4Auth(Credentials("testing", "testing"), service, region).add_auth(request)
    return send(endpoint, method, path, data, dict(request.headers.items()))


def control(endpoint: str, method: str, path: str, body: Any = None, query: str = "region=us-east-1") -> Reply:
    """Call a ``/_sandbox/`` control (a body that is not bytes or str is sent as JSON)."""
    data = b"" if body is None else body if isinstance(body, bytes) else (
        body.encode() if isinstance(body, str) else json.dumps(body).encode())
    return send(endpoint, method, path + (f"?{query}" if query else ""), data,
                {"Content-Type": "application/json"} if data else {})
