"""Measure the MQTT data plane: many devices connected at once, the connection set-up rate, publish-to-receive
latency (p50/p99, QoS 0 and 1, with the fleet connected), and the broker's memory per connection.

The sandbox runs in its own process (as `make lab` runs it); the devices are paho clients in worker processes of at
most 250 devices each (paho's network loop uses select(), which stops at file descriptor 1024), each device with its
own registered certificate (one EC key shared: signing and handshakes are what cost). Measurements, not tests:
nothing here asserts.

Run: .venv/bin/python benchmarks/bench_dataplane.py [--devices 1000] [--messages 1000]
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import queue
import resource
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import paho.mqtt.client as mqtt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from helpers.lab import start_sandbox  # noqa: E402
from tests.notebook_runs import free_port  # noqa: E402


def control(endpoint: str, method: str, path: str, body: object = None) -> dict:
    """Call a sandbox control and return its JSON answer."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{endpoint}{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as answer:
        return json.load(answer)


def start_sandbox_process() -> tuple[subprocess.Popen, str]:
    """Start `python -m helpers.sandbox serve` on free ports; return the process and its endpoint."""
    proc, endpoint = start_sandbox(free_port(), mqtt_port=0, log=open(os.devnull, "w"))
    assert proc is not None  # a free port: there is no running sandbox to reuse
    return proc, endpoint


def rss_kb(pid: int) -> int:
    """Return the resident memory of process ``pid`` in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def make_devices(n: int, folder: Path) -> tuple[list[tuple[str, Path]], Path]:
    """Write ``n`` self-signed device certificates sharing one EC key; return [(PEM, file)] and the key file."""
    key = ec.generate_private_key(ec.SECP256R1())
    key_file = folder / "device.private.key"
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_file.chmod(0o600)
    now = datetime.now(timezone.utc)
    out = []
    for i in range(n):
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"bench-{i}")])
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(i + 1).not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30))
                .sign(key, hashes.SHA256()))
        pem = cert.public_bytes(serialization.Encoding.PEM).decode()
        path = folder / f"bench-{i}.pem"
        path.write_text(pem)
        out.append((pem, path))
    return out, key_file


def connect(host: str, port: int, ca: Path, cert: Path, key: Path, client_id: str, loop: bool = False) -> mqtt.Client:
    """Return a connected paho client (CONNACK received); its network loop runs on a thread only when ``loop``."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311)
    context = ssl.create_default_context(cafile=str(ca))
    context.load_cert_chain(str(cert), str(key))
    client.tls_set_context(context)
    acked = threading.Event()
    client.on_connect = lambda *a: acked.set()
    client.connect(host, port, keepalive=1200)
    if loop:
        client.loop_start()
        acked.wait(30)
    else:
        deadline = time.monotonic() + 30
        while not acked.is_set() and time.monotonic() < deadline:
            client.loop(0.01)
    if not acked.is_set():
        raise RuntimeError(f"{client_id} got no CONNACK")
    return client


PER_WORKER = 250


def worker(host: str, port: int, ca: Path, key: Path, files: list[Path], first: int, threads: int,
           ready: "multiprocessing.Queue[int]", stop: "multiprocessing.synchronize.Event") -> None:
    """Connect devices ``first``.. with ``files``, report how many are connected, hold them until ``stop``."""
    with ThreadPoolExecutor(threads) as pool:
        clients = list(pool.map(lambda i: connect(host, port, ca, files[i], key, f"bench-{first + i}"),
                                range(len(files))))
    ready.put(len(clients))
    stop.wait()
    for client in clients:
        client.disconnect()


def latency(host: str, port: int, ca: Path, cert: Path, key: Path, messages: int, qos: int) -> list[float]:
    """Return publish-to-receive latencies in ms for ``messages`` messages, one at a time."""
    got: queue.Queue[float] = queue.Queue()
    sub = connect(host, port, ca, cert, key, f"bench-sub-{qos}", loop=True)
    sub.on_message = lambda c, u, m: got.put(time.perf_counter() - float(m.payload))
    subscribed = threading.Event()
    sub.on_subscribe = lambda *a: subscribed.set()
    sub.subscribe(f"bench/latency/{qos}", qos)
    subscribed.wait(10)
    pub = connect(host, port, ca, cert, key, f"bench-pub-{qos}", loop=True)
    out = []
    for _ in range(messages):
        pub.publish(f"bench/latency/{qos}", repr(time.perf_counter()).encode(), qos)
        out.append(got.get(timeout=10) * 1000)
    for client in (sub, pub):
        client.disconnect()
        client.loop_stop()
    return out


def main() -> None:
    """Run the measurements and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * args.devices + 256)), hard))
    proc, endpoint = start_sandbox_process()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            data = control(endpoint, "GET", "/_sandbox/iot/data-endpoint")
            host, port = data["host"], data["port"]
            ca = folder / "root-ca.pem"
            ca.write_text(data["rootCaPem"])
            devices, key = make_devices(args.devices + 2, folder)
            policy = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iot:*",
                                                                          "Resource": "*"}]})
            os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
            import boto3

            boto3.client("iot", endpoint_url=endpoint, region_name="us-east-1").create_policy(
                policyName="bench", policyDocument=policy)
            control(endpoint, "POST", "/_sandbox/iot/bulk-register", {"devices": [
                {"thingName": f"bench-{i}", "certificatePem": pem, "policyNames": ["bench"]}
                for i, (pem, _) in enumerate(devices)]})
            warm = connect(host, port, ca, devices[-1][1], key, "warm-up")
            warm.disconnect()
            before = rss_kb(proc.pid)
            ready: multiprocessing.Queue[int] = multiprocessing.Queue()
            stop = multiprocessing.Event()
            slices = range(0, args.devices, PER_WORKER)
            start = time.perf_counter()
            workers = [multiprocessing.Process(target=worker, args=(
                host, port, ca, key, [f for _, f in devices[i:min(i + PER_WORKER, args.devices)]], i,
                max(1, args.threads // len(slices)), ready, stop)) for i in slices]
            for process in workers:
                process.start()
            connected = sum(ready.get(timeout=600) for _ in workers)
            seconds = time.perf_counter() - start
            health = control(endpoint, "GET", "/_sandbox/health")["broker"]
            after = rss_kb(proc.pid)
            print(f"connected at once: {health['liveSessions']} devices (each its own certificate; {connected} "
                  "CONNACKs)")
            print(f"connection set-up: {args.devices} in {seconds:.2f} s = {args.devices / seconds:.0f} connects/s "
                  f"({len(workers)} client processes, {args.threads} threads in all, TLS 1.3 mutual auth + "
                  "CONNECT/CONNACK; client processes started inside the timing)")
            print(f"broker memory: {before / 1024:.0f} MiB before, {after / 1024:.0f} MiB with {args.devices} "
                  f"connections = {(after - before) / args.devices:.0f} KiB per connection")
            for qos in (0, 1):
                values = sorted(latency(host, port, ca, devices[-2][1], key, args.messages, qos))
                p50, p99 = statistics.median(values), values[int(0.99 * (len(values) - 1))]
                print(f"publish -> receive, QoS {qos}, {args.messages} messages with the fleet connected: "
                      f"p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {values[-1]:.2f} ms")
            start = time.perf_counter()
            stop.set()
            for process in workers:
                process.join(120)
            while control(endpoint, "GET", "/_sandbox/health")["broker"]["liveSessions"]:
                time.sleep(0.05)
            print(f"disconnecting {args.devices}: {time.perf_counter() - start:.2f} s")
    finally:
        proc.terminate()
        proc.wait(30)


if __name__ == "__main__":
    main()
