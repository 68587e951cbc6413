"""``pip install`` from the package registry, or from the offline wheelhouse when asked to (``--offline``,
``OFFLINE=1``) or when the registry does not answer and a wheelhouse is there (``make lab`` installs through this).

Run: .venv/bin/python tools/install.py [--offline] [--wheelhouse DIR] -e .
Uses only the standard library, so it runs in a fresh virtual environment.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WHEELHOUSE = ROOT / "dist" / "wheelhouse"
DEFAULT_INDEX = "https://pypi.org/simple/"


def registry_answers(index_url: str | None = None, timeout: float = 5) -> bool:
    """Return True when the package index (``PIP_INDEX_URL`` or PyPI) answers within ``timeout`` seconds."""
    url = index_url or os.environ.get("PIP_INDEX_URL") or DEFAULT_INDEX
    try:
        urllib.request.urlopen(urllib.request.Request(url.rstrip("/") + "/pip/", method="HEAD"),
                               timeout=timeout).close()
        return True
    except urllib.error.HTTPError:
        return True  # something answered: pip will report what it thinks of it
    except (urllib.error.URLError, OSError, ValueError):
        return False


def has_wheels(wheelhouse: Path) -> bool:
    """Return True when ``wheelhouse`` is a folder holding at least one wheel."""
    return wheelhouse.is_dir() and any(wheelhouse.glob("*.whl"))


def pip_command(pip_args: list[str], wheelhouse: Path | None) -> list[str]:
    """Return the pip install command: from the registry, or only from ``wheelhouse`` when it is given."""
    source = ["--no-index", "--find-links", str(wheelhouse)] if wheelhouse is not None else []
    return [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *source, *pip_args]


def choose_wheelhouse(offline: bool, wheelhouse: Path) -> Path | None:
    """Return the wheelhouse to install from (None: the registry), or exit naming the fix when neither works."""
    if offline:
        if not has_wheels(wheelhouse):
            raise SystemExit(f"OFFLINE install asked for, but {wheelhouse} holds no wheels. Copy the instructor's "
                             "wheelhouse there (README: 'Offline install for events'), or build it on a connected "
                             "machine of the same platform with `make wheelhouse`.")
        return wheelhouse
    if registry_answers():
        return None
    if has_wheels(wheelhouse):
        print(f"The package registry does not answer: installing from the wheelhouse {wheelhouse} instead.",
              file=sys.stderr)
        return wheelhouse
    print("The package registry does not answer and there is no wheelhouse at "
          f"{wheelhouse}: trying anyway. Without a network, ask the instructor for the wheelhouse (README: "
          "'Offline install for events').", file=sys.stderr)
    return None


def main(argv: list[str] | None = None) -> int:
    """Install the given pip arguments from the chosen source; return pip's exit code."""
    parser = argparse.ArgumentParser(prog="tools/install.py", description=__doc__)
    parser.add_argument("--offline", action="store_true", default=bool(os.environ.get("OFFLINE")),
                        help="install only from the wheelhouse, never the network (also OFFLINE=1)")
    parser.add_argument("--wheelhouse", type=Path, default=DEFAULT_WHEELHOUSE,
                        help=f"folder of wheels (default {DEFAULT_WHEELHOUSE})")
    args, pip_args = parser.parse_known_args(argv)
    source = choose_wheelhouse(args.offline, args.wheelhouse.resolve())
    return subprocess.run(pip_command(pip_args, source)).returncode


if __name__ == "__main__":
    sys.exit(main())
