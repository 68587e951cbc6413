"""Build the offline wheelhouse for events: every wheel the lab needs on this platform and Python version, the project
itself included, in one folder and one archive to copy onto a USB stick (``make wheelhouse``).

Run: .venv/bin/python tools/wheelhouse.py [--dest dist/wheelhouse]
Uses only the standard library and pip, so it runs before anything else is installed.
"""
from __future__ import annotations

import argparse
import platform
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DEST = ROOT / "dist" / "wheelhouse"
# What an offline `pip install -e .` needs besides the runtime dependencies: the build backend (pyproject.toml's
# build-system) and pip itself (make upgrades the new venv's pip from the same source).
BUILD_TOOLS = ("setuptools>=77", "wheel", "pip")


def platform_tag() -> str:
    """Return the tag naming what the wheelhouse runs on, e.g. ``py311-linux-x86_64``."""
    return f"py{sys.version_info.major}{sys.version_info.minor}-{sysconfig.get_platform().replace('.', '_')}"


def build(dest: Path, project: Path = ROOT) -> list[Path]:
    """Fill ``dest`` with the wheels of ``project`` and its runtime dependencies plus the build tools; return them."""
    dest.mkdir(parents=True, exist_ok=True)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    # pip wheel: wheels straight from the registry where they exist, built here from sdists where not (offline
    # machines then never compile anything), and the project itself as a wheel.
    subprocess.run([*pip, "wheel", "--quiet", "--wheel-dir", str(dest), str(project)], check=True)
    subprocess.run([*pip, "download", "--quiet", "--only-binary=:all:", "--dest", str(dest), *BUILD_TOOLS],
                   check=True)
    (dest / "PLATFORM.txt").write_text(
        f"{platform_tag()}\nPython {platform.python_version()} on {platform.platform()}\n"
        "Install: python tools/install.py --offline --wheelhouse <this folder> -e .   (or: make lab OFFLINE=1)\n")
    return sorted(dest.glob("*.whl"))


def archive(dest: Path) -> Path:
    """Return the path of one zip archive of ``dest`` (next to it), written fresh."""
    base = dest.parent / f"{dest.name}-{platform_tag()}"
    return Path(shutil.make_archive(str(base), "zip", root_dir=dest.parent, base_dir=dest.name))


def main(argv: list[str] | None = None) -> int:
    """Build the wheelhouse folder and archive; print what was built; return the exit code."""
    parser = argparse.ArgumentParser(prog="tools/wheelhouse.py", description=__doc__)
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST, help=f"folder (default {DEFAULT_DEST})")
    parser.add_argument("--no-archive", action="store_true", help="only the folder, no zip")
    args = parser.parse_args(argv)
    wheels = build(args.dest)
    size = sum(w.stat().st_size for w in wheels)
    print(f"{len(wheels)} wheels, {size / 2**20:.0f} MiB, in {args.dest} ({platform_tag()})")
    if not args.no_archive:
        print(f"archive: {archive(args.dest)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
