"""``python -m helpers.sandbox serve [--host 127.0.0.1] [--port 5000] [--mqtt-port 8883]``: run the local endpoint
(and its MQTT data plane) in the foreground."""
from __future__ import annotations

import argparse
import sys

from .server import DEFAULT_HOST, DEFAULT_MQTT_PORT, DEFAULT_PORT, LOOPBACK, serve


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, run the sandbox, and return the exit code."""
    parser = argparse.ArgumentParser(prog="python -m helpers.sandbox",
                                     description="Local AWS IoT + Device Defender sandbox (moto + this project's audit engine).")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("serve", help="serve the sandbox endpoint in the foreground until interrupted")
    p.add_argument("--host", default=DEFAULT_HOST, help=f"address to bind (default {DEFAULT_HOST}, loopback only)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    p.add_argument("--mqtt-port", type=int, default=DEFAULT_MQTT_PORT,
                   help=f"port of the MQTT data plane on 127.0.0.1 (default {DEFAULT_MQTT_PORT}; 0 picks a free one)")
    p.add_argument("--allow-remote", action="store_true",
                   help="required to bind a non-loopback address: anyone who can reach it can use the sandbox")
    args = parser.parse_args(argv)
    if args.host not in LOOPBACK:
        if not args.allow_remote:
            parser.error(f"--host {args.host} is not loopback; add --allow-remote if you really want others to reach it")
        print(f"WARNING: binding {args.host}: the sandbox has no authentication; anyone who can reach this port "
              "can read and change it.", file=sys.stderr)
    try:
        serve(args.host, args.port, args.mqtt_port)
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port} (API) or 127.0.0.1:{args.mqtt_port} (MQTT): "
              f"{exc.strerror or exc}. Is another sandbox already running? Pick other ports with --port and "
              "--mqtt-port (0 picks a free MQTT port).", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
