"""Errors the helpers raise: each names the problem and the fix, instead of a traceback from deep inside boto3."""
from __future__ import annotations


class WorkshopError(Exception):
    """A problem the user can fix; ``fix`` says how."""

    def __init__(self, problem: str, fix: str = "") -> None:
        self.problem = problem
        self.fix = fix
        super().__init__(f"{problem}\nFix: {fix}" if fix else problem)


class TargetError(WorkshopError):
    """The active target (sandbox or AWS account) cannot be used as configured."""
