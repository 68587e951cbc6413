"""The AWS CLI, a real client, against `python -m helpers.sandbox serve` (started by the root conftest)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.cli
AWS = shutil.which("aws", path=str(Path(sys.executable).parent)) or shutil.which("aws")


def aws(*args: str) -> dict:
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    proc = subprocess.run([AWS, "--endpoint-url", endpoint, "--region", "us-east-1", "--output", "json", *args],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"})
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout) if proc.stdout.strip() else {}


@pytest.mark.skipif(AWS is None, reason="the AWS CLI is part of the test extra")
def test_cli_lists_things_and_describes_audit_configuration():
    assert "things" in aws("iot", "list-things")
    config = aws("iot", "describe-account-audit-configuration")
    assert "LOGGING_DISABLED_CHECK" in config["auditCheckConfigurations"]
