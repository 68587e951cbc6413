"""Errors the helpers raise: each names the problem and the fix, instead of a traceback from deep inside boto3; and
the two ways the helpers read an AWS refusal (:func:`error_code`, :func:`aws_error`)."""
from __future__ import annotations

from botocore.exceptions import ClientError


class WorkshopError(Exception):
    """A problem the user can fix; ``fix`` says how (``code``: AWS's error code when AWS refused)."""

    code: str = ""

    def __init__(self, problem: str, fix: str = "") -> None:
        self.problem = problem
        self.fix = fix
        super().__init__(f"{problem}\nFix: {fix}" if fix else problem)


class TargetError(WorkshopError):
    """The active target (sandbox or AWS account) cannot be used as configured."""


class StepFailed(Exception):
    """A step's expectation did not hold: a command line or headless course step failed (exit code 1, no traceback)."""


def error_code(exc: ClientError) -> str:
    """Return the AWS error code of a ClientError ("" when the response has none)."""
    return exc.response.get("Error", {}).get("Code", "")


def aws_error(exc: ClientError, problem: str, fix: str) -> WorkshopError:
    """Return a WorkshopError for an AWS refusal, keeping AWS's error code (``.code``) and message."""
    err = exc.response.get("Error", {})
    code, message = err.get("Code", "Error"), err.get("Message", "")
    out = WorkshopError(f"{problem} AWS said {code}: {message}".strip(), fix)
    out.code = code
    out.__cause__ = exc
    return out
