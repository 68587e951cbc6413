"""Measure a mitigation task over many findings: deactivate 1,000 shared certificates in one task.

Run: .venv/bin/python benchmarks/bench_mitigation.py [--findings 1000]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import boto3  # noqa: E402

from benchmarks.bench_audit import TRUST, _post, make_pems  # noqa: E402
from helpers.sandbox import SandboxServer  # noqa: E402

CHECK = "DEVICE_CERTIFICATE_SHARED_CHECK"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--findings", type=int, default=1000)
    n = parser.parse_args().findings
    server = SandboxServer(port=0).start()
    kw = dict(endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id="testing",
              aws_secret_access_key="testing")
    iot, iam = boto3.client("iot", **kw), boto3.client("iam", **kw)
    pems = make_pems(n)
    devices = [{"thingName": f"device-{i:05d}-{j}", "certificatePem": pems[i]} for i in range(n) for j in (0, 1)]
    _post(server.endpoint, "/_sandbox/iot/bulk-register", {"devices": devices})
    base = time.time() - 5 * 3600
    events = [{"clientId": f"device-{i:05d}-{j}", "certificateId": hashlib.sha256(pems[i].encode()).hexdigest(),
               "connectedAt": base + i + j * 0.1, "disconnectedAt": base + i + 0.5, "sourceIp": "192.0.2.1"}
              for i in range(n) for j in (0, 1)]
    _post(server.endpoint, "/_sandbox/iot/connections", {"events": events})
    for name, policy in (("IoTAuditRole", "AWSIoTDeviceDefenderAudit"),
                         ("DeactivateRole", "AWSIoTDeviceDefenderUpdateDeviceCertMitigationAction")):
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))
        iam.attach_role_policy(RoleName=name, PolicyArn=f"arn:aws:iam::aws:policy/service-role/{policy}")
    iot.update_account_audit_configuration(roleArn="arn:aws:iam::123456789012:role/IoTAuditRole",
                                           auditCheckConfigurations={CHECK: {"enabled": True}})
    audit = iot.start_on_demand_audit_task(targetCheckNames=[CHECK])["taskId"]
    while (task := iot.describe_audit_task(taskId=audit))["taskStatus"] == "IN_PROGRESS":
        time.sleep(0.01)
    found = task["auditDetails"][CHECK]["nonCompliantResourcesCount"]
    iot.create_mitigation_action(actionName="Deactivate", roleArn="arn:aws:iam::123456789012:role/DeactivateRole",
                                 actionParams={"updateDeviceCertificateParams": {"action": "DEACTIVATE"}})
    t0 = time.perf_counter()
    iot.start_audit_mitigation_actions_task(taskId="bench", target={"auditTaskId": audit},
                                            auditCheckToActionsMapping={CHECK: ["Deactivate"]},
                                            clientRequestToken="bench")
    while (m := iot.describe_audit_mitigation_actions_task(taskId="bench"))["taskStatus"] == "IN_PROGRESS":
        time.sleep(0.01)
    seconds = time.perf_counter() - t0
    inactive = sum(c["status"] == "INACTIVE" for page in iot.get_paginator("list_certificates").paginate(pageSize=250)
                   for c in page["certificates"])
    stats = m["taskStatistics"][CHECK]
    print(f"mitigation of {found} findings (UPDATE_DEVICE_CERTIFICATE): {seconds:.2f} s start->{m['taskStatus']}; "
          f"succeeded {stats['succeededFindingsCount']}, failed {stats['failedFindingsCount']}; "
          f"certificates now INACTIVE: {inactive}")
    server.stop()


if __name__ == "__main__":
    main()
