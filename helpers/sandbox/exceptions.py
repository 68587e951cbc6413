"""Device Defender errors, named after the error shapes of the botocore ``iot`` model (status comes from the model)."""
from __future__ import annotations

from moto.core.exceptions import ServiceException


class InvalidRequestException(ServiceException):
    code = "InvalidRequestException"


class ResourceNotFoundException(ServiceException):
    code = "ResourceNotFoundException"


class ResourceAlreadyExistsException(ServiceException):
    code = "ResourceAlreadyExistsException"

    def __init__(self, message: str, resource_id: str | None = None, resource_arn: str | None = None) -> None:
        super().__init__(message)
        self.resourceId = resource_id
        self.resourceArn = resource_arn


class LimitExceededException(ServiceException):
    code = "LimitExceededException"


class TaskAlreadyExistsException(ServiceException):
    code = "TaskAlreadyExistsException"


class NotConfiguredException(ServiceException):
    code = "NotConfiguredException"


class MalformedPolicyException(ServiceException):
    code = "MalformedPolicyException"


class CertificateValidationException(ServiceException):
    code = "CertificateValidationException"


class ThrottlingException(ServiceException):
    code = "ThrottlingException"


class InternalFailureException(ServiceException):
    code = "InternalFailureException"


class ServiceUnavailableException(ServiceException):
    code = "ServiceUnavailableException"


class MotoImplementsOperation(RuntimeError):
    """moto now ships an operation this extension also defines: review and drop ours."""


class SandboxError(Exception):
    """A refused control request: HTTP status and a message naming the problem."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
