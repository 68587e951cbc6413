"""Two clients auditing and mitigating at once against one sandbox: quotas hold, idempotency tokens are honoured, state
stays consistent, and no task mitigates a finding twice."""
from __future__ import annotations

import json
import threading
import urllib.request
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from helpers import mitigation
from helpers import sandbox as sb
from helpers.spec.checks import CHECK_NAMES
from tests.builders import configure_audit, make_role, register_cert, shared_sessions, wait_audit

SHARED = "DEVICE_CERTIFICATE_SHARED_CHECK"
DEVICES = 12
UPDATE_CERT = "arn:aws:iam::aws:policy/service-role/AWSIoTDeviceDefenderUpdateDeviceCertMitigationAction"


def new_client(sandbox, attempts: int = 3) -> Any:
    """Return an IoT client of its own session (a second attendee, say), with standard retries."""
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    return session.client("iot", endpoint_url=sandbox.endpoint,
                          config=Config(retries={"mode": "standard", "total_max_attempts": attempts}))


def at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run ``calls`` on as many threads, released together; return each result or the exception it raised."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        barrier.wait()
        try:
            return call()
        except Exception as exc:  # collected, asserted on by the test
            return exc

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def error_code(result: Any) -> str | None:
    """Return the AWS error code of a failed call's exception, or None."""
    return result.response["Error"]["Code"] if isinstance(result, ClientError) else None


def config(sandbox, **settings: Any) -> None:
    """Change sandbox settings through the /_sandbox/config control."""
    req = urllib.request.Request(f"{sandbox.endpoint}/_sandbox/config", data=json.dumps(settings).encode(),
                                 method="POST")
    urllib.request.urlopen(req).close()


@pytest.fixture
def fleet(sandbox):
    """DEVICES certificates, each shared by two things, audited once: DEVICES shared-certificate findings."""
    iot = sandbox.iot
    configure_audit(iot, sandbox.client("iam"), [SHARED])
    events = []
    for i in range(DEVICES):
        cert = register_cert(iot, cn=f"device{i}")
        arn = f"arn:aws:iot:us-east-1:123456789012:cert/{cert}"
        for thing in (f"Sensor{i}a", f"Sensor{i}b"):
            iot.create_thing(thingName=thing)
            iot.attach_thing_principal(thingName=thing, principal=arn)
        events += shared_sessions(cert, clients=(f"Sensor{i}a", f"Sensor{i}b"))
    sb.record_connections(events)
    task = iot.start_on_demand_audit_task(targetCheckNames=[SHARED])["taskId"]
    assert wait_audit(iot, task)["taskStatus"] == "COMPLETED"
    sandbox.findings = [f["findingId"] for f in iot.list_audit_findings(taskId=task)["findings"]]
    assert len(sandbox.findings) == DEVICES
    role = make_role(sandbox.client("iam"), "MitigationRole", managed=UPDATE_CERT)
    iot.create_mitigation_action(actionName="Deactivate", roleArn=role,
                                 actionParams={"updateDeviceCertificateParams": {"action": "DEACTIVATE"}})
    return sandbox


def wait_mitigation(iot, task_id: str) -> dict:
    """Wait for the mitigation task to end; return its description."""
    for _ in range(400):
        d = iot.describe_audit_mitigation_actions_task(taskId=task_id)
        if d["taskStatus"] != "IN_PROGRESS":
            return d
        threading.Event().wait(0.05)
    raise AssertionError(f"{task_id} still running")


def executions_per_finding(iot, task_id: str, findings: list[str]) -> Counter:
    """Return how many executions task ``task_id`` has for each finding."""
    return Counter({f: len(iot.list_audit_mitigation_actions_executions(taskId=task_id, findingId=f)
                           ["actionsExecutions"]) for f in findings})


def test_two_clients_starting_audits_share_the_quota_of_ten(sandbox):
    """Sixteen simultaneous starts from two clients: exactly ten run, six are refused with LimitExceededException."""
    configure_audit(sandbox.iot, sandbox.client("iam"), [SHARED])
    config(sandbox, auditDelaySeconds=1)
    try:
        clients = [new_client(sandbox, attempts=1), new_client(sandbox, attempts=1)]  # botocore retries the quota
        results = at_once([lambda c=clients[i % 2]: c.start_on_demand_audit_task(targetCheckNames=[SHARED])["taskId"]
                           for i in range(16)])
    finally:
        config(sandbox, auditDelaySeconds=0)
    started = [r for r in results if isinstance(r, str)]
    assert len(started) == 10 and len(set(started)) == 10
    assert Counter(error_code(r) for r in results if not isinstance(r, str)) == {"LimitExceededException": 6}
    for task in started:
        assert wait_audit(sandbox.iot, task)["taskStatus"] == "COMPLETED"


def test_audits_run_while_another_client_changes_the_fleet(sandbox):
    """One client audits every check while another creates and deletes things and certificates: every audit
    completes with no check failing."""
    configure_audit(sandbox.iot, sandbox.client("iam"), list(CHECK_NAMES))
    writer, auditor = new_client(sandbox), new_client(sandbox)
    stop = threading.Event()

    def churn() -> int:
        n = 0
        while not stop.is_set() and n < 200:
            writer.create_thing(thingName=f"churn{n}")
            cert = register_cert(writer, cn=f"churn{n}")
            writer.attach_thing_principal(thingName=f"churn{n}",
                                          principal=f"arn:aws:iot:us-east-1:123456789012:cert/{cert}")
            if n % 3 == 0:
                writer.detach_thing_principal(thingName=f"churn{n}",
                                              principal=f"arn:aws:iot:us-east-1:123456789012:cert/{cert}")
                writer.delete_thing(thingName=f"churn{n}")
            n += 1
        return n

    with ThreadPoolExecutor(1) as pool:
        done = pool.submit(churn)
        results = []
        for _ in range(5):
            task = auditor.start_on_demand_audit_task(targetCheckNames=list(CHECK_NAMES))["taskId"]
            results.append(wait_audit(auditor, task, timeout=60))
        stop.set()
        assert done.result() > 0
    for result in results:
        assert result["taskStatus"] == "COMPLETED", result
        failed = {k: v for k, v in result["auditDetails"].items() if v["checkRunStatus"] == "FAILED"}
        assert not failed, failed


def test_one_token_from_two_clients_starts_one_task(fleet):
    """Ten simultaneous starts of one task with one clientRequestToken: one task, every finding mitigated once."""
    clients = [new_client(fleet), new_client(fleet)]
    results = at_once([lambda c=clients[i % 2]: c.start_audit_mitigation_actions_task(
        taskId="SameTask", target={"findingIds": fleet.findings}, auditCheckToActionsMapping={SHARED: ["Deactivate"]},
        clientRequestToken="same-token")["taskId"] for i in range(10)])
    assert results == ["SameTask"] * 10
    assert wait_mitigation(fleet.iot, "SameTask")["taskStatus"] == "COMPLETED"
    tasks = fleet.iot.list_audit_mitigation_actions_tasks(startTime=0, endTime=4_000_000_000)["tasks"]
    assert [t["taskId"] for t in tasks] == ["SameTask"]
    assert set(executions_per_finding(fleet.iot, "SameTask", fleet.findings).values()) == {1}


def test_one_task_id_with_different_tokens_starts_once(fleet):
    """Simultaneous starts of one task id with different tokens: one wins, the rest get TaskAlreadyExistsException."""
    clients = [new_client(fleet), new_client(fleet)]
    results = at_once([lambda i=i: clients[i % 2].start_audit_mitigation_actions_task(
        taskId="Contested", target={"findingIds": fleet.findings}, auditCheckToActionsMapping={SHARED: ["Deactivate"]},
        clientRequestToken=f"token-{i}")["taskId"] for i in range(8)])
    assert results.count("Contested") == 1
    assert Counter(error_code(r) for r in results if r != "Contested") == {"TaskAlreadyExistsException": 7}
    wait_mitigation(fleet.iot, "Contested")


def test_two_tasks_on_the_same_findings_each_mitigate_each_finding_once(fleet):
    """Two clients mitigate the same findings at once: each task runs one execution per finding, all complete, and
    every certificate ends INACTIVE."""
    a, b = new_client(fleet), new_client(fleet)
    started = at_once([lambda c=c, t=t: c.start_audit_mitigation_actions_task(
        taskId=t, target={"findingIds": fleet.findings}, auditCheckToActionsMapping={SHARED: ["Deactivate"]},
        clientRequestToken=t)["taskId"] for c, t in ((a, "TaskA"), (b, "TaskB"))])
    assert started == ["TaskA", "TaskB"]
    for task in started:
        d = wait_mitigation(fleet.iot, task)
        assert d["taskStatus"] == "COMPLETED", d
        assert d["taskStatistics"][SHARED]["succeededFindingsCount"] == DEVICES
        assert set(executions_per_finding(fleet.iot, task, fleet.findings).values()) == {1}
    statuses = {c["status"] for c in fleet.iot.list_certificates(pageSize=100)["certificates"]}
    assert statuses == {"INACTIVE"}


def test_the_helpers_start_one_task_per_name_from_two_threads(fleet):
    """Two notebooks pressing "start" for the same task name at once: the helpers' token makes it one task."""
    results = at_once([lambda: mitigation.start_mitigation_task({SHARED: ["Deactivate"]}, finding_ids=fleet.findings,
                                                                task_name="FromTheLauncher")] * 2)
    assert results == ["FromTheLauncher"] * 2
    assert wait_mitigation(fleet.iot, "FromTheLauncher")["taskStatus"] == "COMPLETED"
    assert set(executions_per_finding(fleet.iot, "FromTheLauncher", fleet.findings).values()) == {1}
