"""Run moto's IoT tests against the sandbox: ``python -m tests.moto_conformance [pytest options]`` (make moto-tests).

The tests run in their own pytest process, rooted at the extracted suite, so this project's pytest settings and
conftest (which starts a sandbox server and points AWS_ENDPOINT_URL at it) stay out of their way."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .source import ROOT, SUITE, moto_version, suite_root

INI = Path(__file__).with_name("moto_pytest.ini")
# settings that would send moto's tests elsewhere than in-process moto, or change how moto behaves
_DROPPED = ("AWS_", "MOTO_", "WORKSHOP_", "TEST_SERVER_MODE")


def environment() -> dict[str, str]:
    """Return this environment without AWS, moto and workshop settings, with the project importable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_DROPPED)}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return env


def command(package: Path, args: list[str]) -> list[str]:
    """Return the pytest command line that runs the suite of the extracted ``package`` with ``args`` added."""
    return [sys.executable, "-m", "pytest", "-c", str(INI), "--rootdir", str(package), str(package / SUITE), *args]


def main(args: list[str]) -> int:
    """Prepare moto's IoT tests for the installed moto, run them against the sandbox; return pytest's exit code."""
    try:
        package = suite_root()
    except RuntimeError as exc:
        print(f"moto conformance: {exc}", file=sys.stderr)
        return 2
    print(f"moto conformance: moto {moto_version()}'s tests/{SUITE} from {package}", flush=True)
    return subprocess.call(command(package, args), cwd=package, env=environment())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
