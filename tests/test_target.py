"""helpers.target: the sandbox|aws switch, region resolution, clients, banner and masking."""
from __future__ import annotations

import socket

import pytest
from moto import mock_aws

from helpers import target
from helpers.errors import TargetError


@pytest.fixture(autouse=True)
def _fresh_clients():
    target.clear_client_cache()
    yield
    target.clear_client_cache()


def test_default_target_is_sandbox(monkeypatch):
    monkeypatch.delenv("WORKSHOP_TARGET", raising=False)
    assert target.get_target() == "sandbox"
    assert target.is_sandbox()


def test_unknown_target_names_the_fix(monkeypatch):
    monkeypatch.setenv("WORKSHOP_TARGET", "prod")
    with pytest.raises(TargetError, match="'sandbox'.*'aws'"):
        target.get_target()


@pytest.mark.parametrize("value", ["AWS", " aws "])
def test_target_is_case_and_space_tolerant(monkeypatch, value):
    monkeypatch.setenv("WORKSHOP_TARGET", value)
    assert target.get_target() == "aws"


def test_region_from_default_region_variable(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_REGION", "ap-south-1")
    assert target.resolve_region() == ("eu-west-1", "environment variable AWS_DEFAULT_REGION")


def test_region_from_aws_region_is_said(monkeypatch):
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_REGION", "ap-south-1")
    region, source = target.resolve_region()
    assert region == "ap-south-1" and "boto3 ignores AWS_REGION" in source


def test_region_from_profile_in_aws_mode(monkeypatch, tmp_path):
    config = tmp_path / "config"
    config.write_text("[profile workshop]\nregion = eu-central-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_PROFILE", "workshop")
    monkeypatch.setenv("WORKSHOP_TARGET", "aws")
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    assert target.resolve_region() == ("eu-central-1", "profile workshop")


def test_region_default_when_nothing_set(monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("WORKSHOP_TARGET", "aws")
    for var in ("AWS_DEFAULT_REGION", "AWS_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    region, source = target.resolve_region()
    assert region == "us-east-1" and "default" in source


def test_unknown_profile_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("WORKSHOP_TARGET", "aws")
    monkeypatch.setenv("AWS_PROFILE", "nope")
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    with pytest.raises(TargetError, match="list-profiles"):
        target.resolve_region()


def test_mask_account_keeps_last_four():
    assert target.mask_account("123456789012") == "••••••••9012"
    assert "1234567" not in target.mask_account("123456789012")


@pytest.mark.parametrize("arn,kind", [
    ("arn:aws:iam::111122223333:root", "root user"),
    ("arn:aws:iam::111122223333:user/alice", "IAM user"),
    ("arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_1/alice", "assumed role (SSO)"),
    ("arn:aws:sts::111122223333:assumed-role/Dev/bob", "assumed role"),
    ("arn:aws:sts::111122223333:federated-user/carol", "federated user"),
])
def test_identity_type(arn, kind):
    assert target.identity_type(arn).startswith(kind)


def test_retries_are_standard_with_several_attempts(monkeypatch):
    monkeypatch.delenv("WORKSHOP_RETRY_MODE", raising=False)
    cfg = target.client_config()
    assert cfg.retries["mode"] == "standard" and cfg.retries["max_attempts"] >= 5


def test_bad_retry_mode_is_refused(monkeypatch):
    monkeypatch.setenv("WORKSHOP_RETRY_MODE", "legacy-ish")
    with pytest.raises(TargetError, match="adaptive"):
        target.client_config()


def test_aws_mode_ignores_the_sandbox_endpoint(monkeypatch):
    monkeypatch.setenv("WORKSHOP_TARGET", "aws")
    assert target.client_config().ignore_configured_endpoint_urls is True
    monkeypatch.setenv("WORKSHOP_TARGET", "sandbox")
    assert target.client_config().ignore_configured_endpoint_urls is False


def test_sandbox_banner(sandbox):
    banner = target.show_target()
    text = str(banner)
    assert text.startswith("[SANDBOX]") and sandbox.endpoint in text and "123456789012" in text
    assert "touches AWS" in text and "SANDBOX" in banner._repr_html_()


def test_sandbox_clients_use_the_endpoint(sandbox):
    iot = target.client("iot")
    assert iot.meta.endpoint_url == sandbox.endpoint
    assert iot.meta.region_name == "us-east-1"
    assert target.client("sts").get_caller_identity()["Account"] == "123456789012"


def test_aws_mode_without_credentials_fails_early(monkeypatch, tmp_path):
    monkeypatch.setenv("WORKSHOP_TARGET", "aws")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(TargetError, match="aws configure"):
        target.show_target()


def test_aws_banner_masks_the_account(monkeypatch):
    monkeypatch.setenv("WORKSHOP_TARGET", "aws")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():  # intercepts botocore in-process: nothing leaves the machine
        banner = target.show_target()
    text = str(banner)
    assert text.startswith("[REAL AWS ACCOUNT]")
    assert "••••••••9012" in text and "123456789012" not in text
    assert "eu-west-1" in text and "IAM user" in text and "billed" in text


def test_account_allow_list(monkeypatch):
    monkeypatch.setenv("WORKSHOP_TARGET", "aws")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("WORKSHOP_ALLOWED_ACCOUNTS", "111122223333")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws(), pytest.raises(TargetError, match="WORKSHOP_ALLOWED_ACCOUNTS"):
        target.show_target()


def test_kernel_fallback_starts_a_sandbox(monkeypatch, capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("WORKSHOP_TARGET", "sandbox")
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setattr(target, "_kernel_server", None)
    monkeypatch.setattr(target, "_verified", {})
    try:
        endpoint = target.sandbox_endpoint()
        assert endpoint == f"http://127.0.0.1:{port}"
        assert "started inside this kernel" in capsys.readouterr().err
        assert target._health(endpoint)["sandbox"] == "iot-device-defender"
        assert target.sandbox_endpoint() == endpoint  # second call reuses it, silently
        assert capsys.readouterr().err == ""
    finally:
        if target._kernel_server is not None:
            target._kernel_server.stop()


def test_sandbox_reachable_asks_without_starting_one(monkeypatch, sandbox):
    monkeypatch.setattr(target, "_kernel_server", None)
    monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox.endpoint)
    assert target.sandbox_reachable()
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens on the discard port
    assert not target.sandbox_reachable()
    assert target._kernel_server is None


def test_an_endpoint_that_is_not_the_sandbox_is_named(monkeypatch, sandbox):
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"{sandbox.endpoint}/not-here")
    monkeypatch.setattr(target, "_verified", {})
    with pytest.raises(TargetError, match="not this workshop's sandbox"):
        target.sandbox_endpoint()


def test_sandbox_controls_refused_in_aws_mode(monkeypatch):
    monkeypatch.setenv("WORKSHOP_TARGET", "aws")
    with pytest.raises(TargetError, match="sandbox control"):
        target.sandbox_control("GET", "/_sandbox/iot/connections")


def test_console_url(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    assert target.console_url("/dd/auditResults") == (
        "https://console.aws.amazon.com/iot/home?region=eu-west-1#/dd/auditResults")


def test_rehearsal_takes_the_aws_branch_but_calls_the_local_stack(monkeypatch, sandbox_server):
    monkeypatch.setenv("WORKSHOP_TARGET", "rehearsal")
    monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox_server.endpoint)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    assert not target.is_sandbox() and target.is_rehearsal()
    iot = target.client("iot")
    assert iot.meta.endpoint_url == sandbox_server.endpoint and iot.meta.region_name == "eu-west-1"
    banner = target.show_target()
    assert banner.title.startswith("REHEARSAL") and "Destructive steps ask for confirmation" in banner.message
    assert dict(banner.lines)["account"].startswith("•")
    with pytest.raises(TargetError, match="sandbox control"):
        target.sandbox_control("GET", "/_sandbox/clock")


def test_rehearsal_without_an_endpoint_names_make_rehearse(monkeypatch):
    monkeypatch.setenv("WORKSHOP_TARGET", "rehearsal")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with pytest.raises(TargetError, match="make rehearse"):
        target.client("iot")
