"""State of the local Device Defender: one backend per account and region, kept beside moto's IoT backend.

Shaped like a moto ``models`` module: plain classes holding the fields AWS returns, a ``BaseBackend`` subclass with
one method per operation, and a ``BackendDict`` so ``mock_aws`` and ``POST /moto-api/reset`` wipe it with the rest.
"""
from __future__ import annotations

import re
import threading
from datetime import datetime, timedelta, timezone
from typing import Any

from moto.core.base_backend import BackendDict, BaseBackend

from .catalog import CHECKS, CONFIG_DEFAULTS
from .exceptions import InvalidRequestException, ResourceNotFoundException

ROLE_ARN_RE = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/[\w+=,.@/-]+$")


def check_name_error(name: str) -> InvalidRequestException:
    """Return the error AWS gives for a check name it does not know."""
    return InvalidRequestException(f"Audit check name {name} is not a valid audit check name.")


def validate_role_arn(value: Any, field: str) -> str:
    """Return ``value`` if it is a well-formed IAM role ARN, else raise InvalidRequestException naming ``field``."""
    if not isinstance(value, str) or not (20 <= len(value) <= 2048) or not ROLE_ARN_RE.match(value):
        raise InvalidRequestException(f"{field} must be an IAM role ARN (arn:aws:iam::<account>:role/<name>); got {value!r}")
    return value


class AuditCheckConfiguration:
    """Whether one check is enabled, and its custom configuration (threshold days as strings)."""

    def __init__(self, enabled: bool = False, configuration: dict[str, str] | None = None) -> None:
        self.enabled = enabled
        self.configuration = dict(configuration or {})

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"enabled": self.enabled}
        if self.configuration:
            out["configuration"] = dict(self.configuration)
        return out


class DeviceDefenderBackend(BaseBackend):
    """Audit configuration, tasks, findings, schedules, suppressions, mitigation and sandbox-only data."""

    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self.lock = threading.RLock()
        self.clock_offset = timedelta(0)
        self.role_arn: str | None = None
        self.notification_targets: dict[str, dict[str, Any]] = {}
        self.check_configs: dict[str, AuditCheckConfiguration] = {}
        self.configured = False
        self.scheduled_audits: dict[str, Any] = {}
        self.connections: list[ConnectionEvent] = []

    # -- clock -------------------------------------------------------------------------------------------------
    def now(self) -> datetime:
        """Return the sandbox time for this account and region (wall clock plus the advanced offset)."""
        return datetime.now(timezone.utc) + self.clock_offset

    # -- account audit configuration ---------------------------------------------------------------------------
    def describe_account_audit_configuration(self) -> dict[str, Any]:
        """Return the configuration; a never-configured account has every check disabled and no role."""
        checks = {name: self.check_configs.get(name, AuditCheckConfiguration()).to_dict() for name in CHECKS}
        return {
            "roleArn": self.role_arn,
            "auditNotificationTargetConfigurations": {k: dict(v) for k, v in self.notification_targets.items()} or None,
            "auditCheckConfigurations": checks,
        }

    def update_account_audit_configuration(
        self,
        role_arn: str | None,
        notification_targets: dict[str, Any] | None,
        check_configs: dict[str, Any] | None,
    ) -> None:
        """Merge the given settings into the configuration, validating everything before changing anything."""
        if role_arn is not None:
            validate_role_arn(role_arn, "roleArn")
        targets = self._validated_targets(notification_targets or {})
        changes = self._validated_check_changes(check_configs or {})
        with self.lock:
            if not self.configured:
                if role_arn is None:
                    raise InvalidRequestException(
                        "The first audit configuration must include roleArn (the role Device Defender assumes to audit)."
                    )
                if not any(c.enabled for c in changes.values()):
                    raise InvalidRequestException(
                        "The first audit configuration must enable at least one audit check."
                    )
            in_use = self._checks_used_by_schedules()
            for name, cfg in changes.items():
                if not cfg.enabled and name in in_use:
                    raise InvalidRequestException(
                        f"You cannot disable {name}: it is used by scheduled audit(s) {sorted(in_use[name])}. "
                        "Remove it from those scheduled audits first."
                    )
            if role_arn is not None:
                self.role_arn = role_arn
            for kind, target in targets.items():
                merged = dict(self.notification_targets.get(kind, {}))
                merged.update(target)
                self.notification_targets[kind] = merged
            for name, cfg in changes.items():
                current = self.check_configs.get(name)
                if current is not None and not cfg.configuration:
                    cfg.configuration = current.configuration if cfg.enabled else {}
                self.check_configs[name] = cfg
            self.configured = True

    def delete_account_audit_configuration(self, delete_scheduled_audits: bool) -> None:
        """Restore the defaults: no role, no targets, every check disabled."""
        with self.lock:
            if not self.configured:
                raise ResourceNotFoundException("The audit configuration of this account has never been set.")
            if self.scheduled_audits and not delete_scheduled_audits:
                raise InvalidRequestException(
                    "This account has scheduled audits: set deleteScheduledAudits=true to delete them with the configuration."
                )
            self.scheduled_audits.clear()
            self.role_arn = None
            self.notification_targets = {}
            self.check_configs = {}
            self.configured = False

    def enabled_checks(self) -> set[str]:
        """Return the names of the enabled checks."""
        return {name for name, cfg in self.check_configs.items() if cfg.enabled}

    def config_value(self, check_name: str, key: str) -> int:
        """Return a check's configured threshold in days, or its default."""
        cfg = self.check_configs.get(check_name)
        raw = cfg.configuration.get(key) if cfg else None
        return int(raw) if raw is not None else CONFIG_DEFAULTS[key][0]

    # -- sandbox-only data ---------------------------------------------------------------------------------------
    def record_connections(self, events: Any) -> int:
        """Validate and append MQTT connection events; return how many are stored in all."""
        from moto.iot.models import iot_backends

        known = set(iot_backends[self.account_id][self.region_name].certificates)
        parsed = parse_connection_events(events, known)
        with self.lock:
            self.connections.extend(parsed)
            return len(self.connections)

    def list_connections(self) -> list[dict[str, Any]]:
        """Return the recorded connection events as dictionaries."""
        with self.lock:
            return [ev.to_dict() for ev in self.connections]

    # -- validation helpers ------------------------------------------------------------------------------------
    def _checks_used_by_schedules(self) -> dict[str, set[str]]:
        used: dict[str, set[str]] = {}
        for audit in self.scheduled_audits.values():
            for name in audit.target_check_names:
                used.setdefault(name, set()).add(audit.name)
        return used

    @staticmethod
    def _validated_targets(targets: dict[str, Any]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for kind, target in targets.items():
            if kind != "SNS":
                raise InvalidRequestException(f"Unknown audit notification type {kind!r}; the only type is SNS.")
            if not isinstance(target, dict):
                raise InvalidRequestException("auditNotificationTargetConfigurations.SNS must be an object.")
            clean: dict[str, Any] = {}
            if "targetArn" in target:
                arn = target["targetArn"]
                if not isinstance(arn, str) or not arn.startswith("arn:") or ":sns:" not in arn or len(arn) > 2048:
                    raise InvalidRequestException(f"targetArn must be an SNS topic ARN; got {arn!r}")
                clean["targetArn"] = arn
            if "roleArn" in target:
                clean["roleArn"] = validate_role_arn(target["roleArn"], "auditNotificationTargetConfigurations.SNS.roleArn")
            if "enabled" in target:
                if not isinstance(target["enabled"], bool):
                    raise InvalidRequestException("auditNotificationTargetConfigurations.SNS.enabled must be true or false.")
                clean["enabled"] = target["enabled"]
            out[kind] = clean
        return out

    @staticmethod
    def _validated_check_changes(check_configs: dict[str, Any]) -> dict[str, AuditCheckConfiguration]:
        changes: dict[str, AuditCheckConfiguration] = {}
        for name, cfg in check_configs.items():
            if name not in CHECKS:
                raise check_name_error(name)
            if not isinstance(cfg, dict):
                raise InvalidRequestException(f"auditCheckConfigurations.{name} must be an object.")
            enabled = cfg.get("enabled", False)
            if not isinstance(enabled, bool):
                raise InvalidRequestException(f"auditCheckConfigurations.{name}.enabled must be true or false.")
            configuration = cfg.get("configuration") or {}
            if not isinstance(configuration, dict):
                raise InvalidRequestException(f"auditCheckConfigurations.{name}.configuration must be an object.")
            for key, value in configuration.items():
                if key not in CHECKS[name].config_keys:
                    allowed = ", ".join(CHECKS[name].config_keys) or "none"
                    raise InvalidRequestException(
                        f"Configuration key {key!r} does not apply to {name} (allowed: {allowed})."
                    )
                _, low, high = CONFIG_DEFAULTS[key]
                if not isinstance(value, str) or not value.isdigit() or not (low <= int(value) <= high):
                    raise InvalidRequestException(
                        f"{name}.{key} must be a whole number of days from {low} to {high}, as a string; got {value!r}"
                    )
            changes[name] = AuditCheckConfiguration(enabled, {k: str(v) for k, v in configuration.items()})
        return changes


devicedefender_backends = BackendDict(DeviceDefenderBackend, "iot")


class ConnectionEvent:
    """One MQTT session of a device: who connected, with which certificate, when, from where."""

    __slots__ = ("client_id", "certificate_id", "connected_at", "disconnected_at", "source_ip")

    def __init__(self, client_id: str, certificate_id: str, connected_at: float,
                 disconnected_at: float | None, source_ip: str) -> None:
        self.client_id = client_id
        self.certificate_id = certificate_id
        self.connected_at = connected_at
        self.disconnected_at = disconnected_at
        self.source_ip = source_ip

    def to_dict(self) -> dict[str, Any]:
        return {
            "clientId": self.client_id,
            "certificateId": self.certificate_id,
            "connectedAt": self.connected_at,
            "disconnectedAt": self.disconnected_at,
            "sourceIp": self.source_ip,
        }


def parse_connection_events(events: Any, known_certificate_ids: set[str]) -> list[ConnectionEvent]:
    """Return validated connection events, or raise InvalidRequestException naming the first problem."""
    import ipaddress

    if not isinstance(events, list):
        raise InvalidRequestException('"events" must be a list of connection events.')
    parsed = []
    for i, ev in enumerate(events):
        where = f"events[{i}]"
        if not isinstance(ev, dict):
            raise InvalidRequestException(f"{where} must be an object.")
        unknown = set(ev) - {"clientId", "certificateId", "connectedAt", "disconnectedAt", "sourceIp"}
        if unknown:
            raise InvalidRequestException(f"{where} has unknown field(s) {sorted(unknown)}.")
        client_id, cert_id = ev.get("clientId"), ev.get("certificateId")
        if not isinstance(client_id, str) or not 1 <= len(client_id) <= 128:
            raise InvalidRequestException(f"{where}.clientId must be a string of 1 to 128 characters.")
        if not isinstance(cert_id, str) or cert_id not in known_certificate_ids:
            raise InvalidRequestException(
                f"{where}.certificateId {cert_id!r} is not a certificate registered in this account and region."
            )
        connected, disconnected = ev.get("connectedAt"), ev.get("disconnectedAt")
        if isinstance(connected, bool) or not isinstance(connected, (int, float)) or connected < 0:
            raise InvalidRequestException(f"{where}.connectedAt must be epoch seconds (a number).")
        if disconnected is not None and (
            isinstance(disconnected, bool) or not isinstance(disconnected, (int, float)) or disconnected < connected
        ):
            raise InvalidRequestException(f"{where}.disconnectedAt must be null or epoch seconds not before connectedAt.")
        source_ip = ev.get("sourceIp")
        try:
            ipaddress.ip_address(source_ip)  # type: ignore[arg-type]
        except (ValueError, TypeError):
            raise InvalidRequestException(f"{where}.sourceIp must be an IP address; got {source_ip!r}.") from None
        parsed.append(ConnectionEvent(client_id, cert_id, float(connected),
                                      None if disconnected is None else float(disconnected), source_ip))
    return parsed
