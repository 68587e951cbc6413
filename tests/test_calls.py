"""Under the hood (helpers.calls): the recorder against real helper flows in the sandbox, its cost when off, and the
AWS CLI lines it writes run through the real AWS CLI."""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import urllib.request
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.stub import Stubber
from IPython import get_ipython
from IPython.testing.globalipapp import start_ipython

from helpers import api_reference, audits, calls, findings, fleet, target
from helpers.calls import record_calls
from helpers.needs import NeedsEarlierCells, needs

AWS = shutil.which("aws", path=str(Path(sys.executable).parent)) or shutil.which("aws")
EVENT_ARGS = {  # enough for botocore's own handlers of each event to run harmlessly
    "before-parameter-build": lambda model: {"params": {}, "model": model, "context": {}},
    "after-call": lambda model: {"http_response": SimpleNamespace(status_code=200, headers={}), "parsed": {},
                                 "model": model, "context": {}},
    "after-call-error": lambda model: {"exception": RuntimeError("x"), "context": {}},
}


def our_handlers(client: Any) -> list[str]:
    """Return the names of helpers.calls handlers the client's event system runs for a ListThings call."""
    model = client.meta.service_model.operation_model("ListThings")
    found = []
    for event, kwargs in EVENT_ARGS.items():
        for handler, _ in client.meta.events.emit(f"{event}.iot.ListThings", **kwargs(model)):
            if getattr(handler, "__module__", "") == calls.__name__:
                found.append(f"{event}:{handler.__qualname__}")
    return found


def sandbox_operations(endpoint: str) -> Counter[str]:
    """Return the sandbox's own count of the operations it answered since the last clear."""
    with urllib.request.urlopen(f"{endpoint}/_sandbox/operations") as resp:
        return Counter({f"{o['service']}:{o['operation']}": o["count"] for o in json.loads(resp.read())["operations"]})


def clear_sandbox_operations(endpoint: str) -> None:
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/_sandbox/operations", method="DELETE")).close()


# -- the recorder against a real helper flow -------------------------------------------------------------------------
@pytest.fixture
def flow(sandbox, tmp_path, monkeypatch) -> SimpleNamespace:
    """Build the Module 1 environment, run an audit and list its findings, recording every call."""
    monkeypatch.setenv("WORKSHOP_STATE_DIR", str(tmp_path))
    clear_sandbox_operations(sandbox.endpoint)
    with record_calls() as log:
        env = fleet.build_workshop_environment()
        task = audits.run_on_demand_audit(progress=None, poll_interval=0.2)["taskId"]
        table = findings.list_findings(task)
    return SimpleNamespace(log=log, env=env, task=task, table=table, endpoint=sandbox.endpoint,
                           answered=sandbox_operations(sandbox.endpoint))


def test_every_call_the_sandbox_answered_is_recorded_once(flow):
    signing = {c.service: target.client(c.service).meta.service_model.signing_name for c in flow.log}
    recorded = Counter(f"{signing[c.service]}:{c.operation}" for c in flow.log)
    assert recorded == flow.answered
    assert len(flow.log) > 20


def test_calls_are_in_order(flow):
    ops = [c.operation for c in flow.log]
    start = ops.index("StartOnDemandAuditTask")
    assert ops.index("CreateThing") < ops.index("UpdateAccountAuditConfiguration") < start
    assert "DescribeAuditTask" in ops[start + 1:]
    assert ops.index("ListAuditFindings") > max(i for i, op in enumerate(ops) if op == "DescribeAuditTask")
    described = [c for c in flow.log if c.operation == "DescribeAuditTask"]
    assert all(c.params == {"taskId": flow.task} for c in described)


def test_statuses_and_durations(flow):
    for call in flow.log:
        assert call.seconds >= 0
        assert call.http_status is not None
        assert call.ok == (call.http_status < 300), call
    missing = [c for c in flow.log if not c.ok]
    # the environment looks before it creates: a fresh sandbox answers "not found" first
    assert missing and all(c.http_status in (400, 404) and c.error_code for c in missing)
    assert missing[0].status == f"{missing[0].http_status} {missing[0].error_code}"
    assert {c.status for c in flow.log if c.operation == "StartOnDemandAuditTask"} == {"200"}


def test_certificate_pems_are_shortened_and_private_keys_never_shown(flow):
    registered = [c for c in flow.log if c.operation.startswith("RegisterCertificate")]
    assert registered
    for call in registered:
        pem = call.params["certificatePem"]
        assert pem.startswith("-----BEGIN CERTIFICATE-----") and "chars)…" in pem and len(pem) < 150
        assert "--certificate-pem file://certificate.pem" in call.cli
    private_keys = [p.read_text() for p in Path(os.environ["WORKSHOP_STATE_DIR"]).rglob("*") if p.is_file()
                    and "PRIVATE KEY" in p.read_text(errors="ignore")]
    shown = str(flow.log) + flow.log._repr_html_() + "".join(c.boto3 + c.cli for c in flow.log)
    assert "PRIVATE KEY" not in shown
    for key in private_keys:  # not even a line of a key's body
        body = [line for line in key.splitlines() if line and "-----" not in line]
        assert not any(line in shown for line in body)


def test_every_call_links_its_reference_page_and_targets_the_sandbox(flow):
    for call in flow.log:
        assert call.doc_url.startswith("https://docs.aws.amazon.com/") and call.operation in call.doc_url
        assert call.cli.startswith(f"aws {call.service} ")
        assert f"--endpoint-url {flow.endpoint}" in call.cli and call.cli.endswith("--region us-east-1")
    html = flow.log._repr_html_()
    assert html.startswith("<details") and "<summary>Under the hood:" in html
    assert "https://docs.aws.amazon.com/iot/latest/apireference/API_StartOnDemandAuditTask.html" in html


def test_polls_fold_into_one_line(flow):
    folded = dict((c.operation, n) for c, n in flow.log.groups() if c.operation == "DescribeAuditTask")
    polls = sum(1 for c in flow.log if c.operation == "DescribeAuditTask")
    assert sum(n for c, n in flow.log.groups() if c.operation == "DescribeAuditTask") == polls
    assert len(folded) == 1


def test_each_page_is_a_call(sandbox):
    for i in range(3):
        sandbox.iot.create_thing(thingName=f"paged-{i}")
    with record_calls() as log:
        things = [t for page in sandbox.iot.get_paginator("list_things").paginate(PaginationConfig={"PageSize": 1})
                  for t in page["things"]]
    pages = [c for c in log if c.operation == "ListThings"]
    assert len(things) == 3 and len(pages) >= 3
    assert "nextToken" not in pages[0].params and all("nextToken" in c.params for c in pages[1:])
    assert all("--next-token " in c.cli for c in pages[1:])



def test_calls_inside_paused_and_needs_lookups_are_not_recorded(sandbox):
    with record_calls() as log:
        sandbox.iot.list_things()
        with calls.paused():
            sandbox.iot.list_policies()
        with pytest.raises(NeedsEarlierCells):
            needs("environment", namespace={"env": SimpleNamespace(certificate_id="0" * 64, run_id="gone")}, source="")
        sandbox.iot.list_certificates()
    assert [c.operation for c in log] == ["ListThings", "ListCertificates"]


# -- what it shows ---------------------------------------------------------------------------------------------------
def test_sensitive_members_are_elided_by_the_model():
    model = api_reference.operation_model("iam", "CreateLoginProfile")
    params = {"UserName": "alice", "Password": "hunter2-secret"}
    assert api_reference.show_params(model, params) == {"UserName": "alice", "Password": "<sensitive: elided>"}
    cli = api_reference.cli_command(model, params, "us-east-1", None)
    assert "hunter2" not in cli and '--password "$PASSWORD"' in cli
    assert "hunter2" not in api_reference.boto3_call(model, params)


def test_private_keys_inside_any_string_are_removed():
    text = "key: -----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----"
    assert api_reference.elide(text, None) == "key: <private key elided>"


def test_cli_options_follow_the_model():
    model = api_reference.operation_model("iot", "CreateAuditSuppression")
    when = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    options = api_reference.cli_options(model, {
        "checkName": "IOT_POLICY_OVERLY_PERMISSIVE_CHECK", "expirationDate": when, "suppressIndefinitely": False,
        "resourceIdentifier": {"policyVersionIdentifier": {"policyName": "p", "policyVersionId": "1"}}})
    assert options == ["--check-name IOT_POLICY_OVERLY_PERMISSIVE_CHECK", "--expiration-date 2030-01-02T03:04:05+00:00",
                       "--no-suppress-indefinitely",
                       """--resource-identifier '{"policyVersionIdentifier":{"policyName":"p","policyVersionId":"1"}}'"""]
    assert api_reference.cli_command(api_reference.operation_model("iot", "ListThings"), {}, "eu-west-1", None) == \
        "aws iot list-things --region eu-west-1"


def test_reference_pages_per_service():
    assert api_reference.doc_url("iot", "UpdateCertificate") == \
        "https://docs.aws.amazon.com/iot/latest/apireference/API_UpdateCertificate.html"
    assert api_reference.doc_url("iam", "GetRole") == "https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetRole.html"
    assert api_reference.doc_url("sns", "Publish") == "https://docs.aws.amazon.com/sns/latest/api/API_Publish.html"
    assert api_reference.doc_url("ec2", "DescribeVpcs") == \
        "https://docs.aws.amazon.com/goto/WebAPI/ec2-2016-11-15/DescribeVpcs"


# -- costs nothing when off ------------------------------------------------------------------------------------------
def test_no_handler_is_registered_unless_recording(sandbox):
    iot = sandbox.iot
    assert our_handlers(iot) == []
    with record_calls():
        assert len(our_handlers(iot)) == 3
        with record_calls():  # nested recorders share one set of handlers
            assert len(our_handlers(iot)) == 3
        assert len(our_handlers(iot)) == 3
        target.clear_client_cache()
        fresh = target.client("iot")  # made while recording: watched too
        assert fresh is not iot and len(our_handlers(fresh)) == 3
    assert our_handlers(iot) == [] and our_handlers(fresh) == []
    assert not calls.recording()


def test_nested_recorders_each_see_their_calls(sandbox):
    with record_calls() as outer:
        sandbox.iot.list_things()
        with record_calls() as inner:
            sandbox.iot.describe_account_audit_configuration()
    assert [c.operation for c in outer] == ["ListThings", "DescribeAccountAuditConfiguration"]
    assert [c.operation for c in inner] == ["DescribeAccountAuditConfiguration"]


# -- the CLI lines are valid -----------------------------------------------------------------------------------------
TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "iot.amazonaws.com"},
                                                "Action": "sts:AssumeRole"}]}
OPEN_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iot:*", "Resource": "*"}]}
NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
SOON, LATER = NOW - dt.timedelta(days=1), NOW + dt.timedelta(days=30)
AUDIT_POLICY = "arn:aws:iam::aws:policy/service-role/AWSIoTDeviceDefenderAudit"


def workshop_calls(client) -> list[dict[str, Any]]:  # noqa: ANN001
    """Make a sample of the module's calls, reads and writes, with boto3; return the answers in order."""
    iam, iot, sns, sts = client("iam"), client("iot"), client("sns"), client("sts")
    role = iam.create_role(RoleName="AuditRole", AssumeRolePolicyDocument=json.dumps(TRUST))
    return [
        role,
        iam.attach_role_policy(RoleName="AuditRole", PolicyArn=AUDIT_POLICY),
        iam.get_role(RoleName="AuditRole"),
        sns.create_topic(Name="audit-alerts"),
        sts.get_caller_identity(),
        iot.create_thing(thingName="sensor-1", attributePayload={"attributes": {"room": "lab-2"}}),
        iot.create_thing_group(thingGroupName="fleet"),
        iot.add_thing_to_thing_group(thingGroupName="fleet", thingName="sensor-1"),
        iot.list_things_in_thing_group(thingGroupName="fleet"),
        iot.create_policy(policyName="open", policyDocument=json.dumps(OPEN_POLICY)),
        iot.update_account_audit_configuration(
            roleArn=role["Role"]["Arn"], auditCheckConfigurations={"LOGGING_DISABLED_CHECK": {"enabled": True},
                                                                   "IOT_POLICY_OVERLY_PERMISSIVE_CHECK": {"enabled": True}}),
        iot.describe_account_audit_configuration(),
        iot.create_mitigation_action(actionName="deactivate", roleArn=role["Role"]["Arn"],
                                     actionParams={"updateDeviceCertificateParams": {"action": "DEACTIVATE"}}),
        iot.list_mitigation_actions(),
        iot.create_scheduled_audit(scheduledAuditName="weekly", frequency="WEEKLY", dayOfWeek="MON",
                                   targetCheckNames=["LOGGING_DISABLED_CHECK", "IOT_POLICY_OVERLY_PERMISSIVE_CHECK"]),
        iot.list_audit_tasks(startTime=SOON, endTime=LATER, taskType="ON_DEMAND_AUDIT_TASK"),
        iot.create_audit_suppression(
            checkName="IOT_POLICY_OVERLY_PERMISSIVE_CHECK", expirationDate=LATER, suppressIndefinitely=False,
            resourceIdentifier={"policyVersionIdentifier": {"policyName": "open", "policyVersionId": "1"}},
            description="lab policy, reviewed"),
        iot.list_audit_suppressions(),
        iot.list_things(maxResults=5),
        iot.start_on_demand_audit_task(targetCheckNames=["LOGGING_DISABLED_CHECK"]),
    ]


def shape(answer: dict[str, Any]) -> set[str]:
    """Return the top-level members of an answer, without metadata and paging tokens (the CLI pages for you)."""
    return set(answer) - {"ResponseMetadata", "nextToken", "NextToken", "Marker", "IsTruncated"}


@pytest.mark.cli
@pytest.mark.skipif(AWS is None, reason="the AWS CLI is part of the test extra")
def test_cli_lines_run_in_the_aws_cli_and_answer_the_same_shape(sandbox):
    with record_calls() as log:
        answers = workshop_calls(sandbox.client)
    assert len(log) == len(answers)
    reads = {c.operation for c in log if c.operation.startswith(("Describe", "List", "Get"))}
    writes = {c.operation for c in log} - reads
    assert len(reads) >= 5 and len(writes) >= 5
    target.reset_sandbox()  # the CLI replays the same calls on a fresh sandbox
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "PATH": f"{Path(AWS).parent}{os.pathsep}{os.environ.get('PATH', '')}", "AWS_PAGER": ""}
    env.pop("AWS_ENDPOINT_URL", None)  # the line itself must carry the endpoint
    for call, answer in zip(log, answers):
        proc = subprocess.run(["bash", "-c", call.cli + " --output json"], capture_output=True, text=True,
                              timeout=60, env=env)
        assert proc.returncode == 0, f"{call.cli}\n{proc.stderr}"
        printed = json.loads(proc.stdout) if proc.stdout.strip() else {}
        assert shape(printed) == shape(answer), call.cli


# -- in IPython ------------------------------------------------------------------------------------------------------
def ipython() -> Any:
    """Return the test IPython shell (one per process: started the first time)."""
    return start_ipython() or get_ipython()


def test_cell_magic_and_toggle_show_the_calls_and_leave_nothing_registered(sandbox, capsys):
    shell = ipython()
    shell.run_cell("%load_ext helpers.under_the_hood")
    shell.run_cell("from helpers import target")
    shell.run_cell("%%calls\ntarget.client('iot').list_things()")
    assert "Under the hood: 1 AWS API call (ListThings)" in capsys.readouterr().out
    shell.run_cell("%calls on")
    shell.run_cell("target.client('iot').describe_account_audit_configuration(); None")
    assert "(DescribeAccountAuditConfiguration)" in capsys.readouterr().out
    shell.run_cell("%calls off")
    capsys.readouterr()
    shell.run_cell("target.client('iot').list_things(); None")
    assert "Under the hood" not in capsys.readouterr().out
    assert not calls.recording() and our_handlers(target.client("iot")) == []


def test_a_failing_cell_under_the_magic_fails_and_still_shows_its_calls(sandbox, capsys):
    shell = ipython()
    shell.run_cell("%load_ext helpers.under_the_hood")
    result = shell.run_cell("%%calls\nfrom helpers import target\ntarget.client('iot').describe_thing(thingName='nope')")
    assert type(result.error_in_exec).__name__ == "CellFailed"
    out = capsys.readouterr()
    assert "404 ResourceNotFoundException" in out.out and "ResourceNotFoundException" in out.err + out.out
    assert not calls.recording()


def test_aws_mode_lines_carry_no_endpoint(monkeypatch):
    monkeypatch.setenv("WORKSHOP_TARGET", "aws")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "example")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    target.clear_client_cache()
    try:
        iot = target.client("iot")
        with Stubber(iot) as stub, record_calls() as log:  # botocore answers in place of AWS: no network
            stub.add_response("describe_audit_task", {"taskStatus": "COMPLETED"}, {"taskId": "t1"})
            iot.describe_audit_task(taskId="t1")
    finally:
        target.clear_client_cache()
    assert [c.cli for c in log] == ["aws iot describe-audit-task --task-id t1 --region eu-west-1"]
    assert not log.sandbox and "export AWS_ACCESS_KEY_ID" not in str(log)


def test_a_long_log_shows_the_first_calls_and_counts_the_rest(sandbox):
    with record_calls() as log:
        for i in range(calls.SHOWN + 5):
            sandbox.iot.list_things(maxResults=i + 1)  # distinct requests: nothing folds
    text, html = str(log), log._repr_html_()
    assert text.count("$ aws iot list-things") == calls.SHOWN and html.count("<li>") == calls.SHOWN
    assert "… and 5 more calls: ListThings ×5." in text and "… and 5 more calls: ListThings ×5." in html
