"""The local AWS IoT Core data plane: an MQTT broker over mutual TLS (amqtt), authenticating devices by their
registered ACTIVE certificates, authorising each action with the attached IoT policies, and recording every session
in the connection history Device Defender audits. It knows the account only through :class:`Directory`.
"""
from __future__ import annotations

from .directory import CertificateState, Directory, RegisteredCertificate, ThingInfo
from .service import DEFAULT_PORT, DataPlane

__all__ = ["DEFAULT_PORT", "CertificateState", "DataPlane", "Directory", "RegisteredCertificate", "ThingInfo"]
