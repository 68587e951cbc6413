"""moto's IoT tests from the source package of the installed moto: downloaded once with pip, cached under .venv/."""
from __future__ import annotations

import importlib.metadata
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".venv" / "moto-conformance"
SUITE = "test_iot"
# moto's tests are a package named `tests`; extracted as `moto_tests` so they cannot shadow this project's `tests`
PACKAGE = "moto_tests"
_DONE = ".extracted"


def moto_version() -> str:
    """Return the version of the installed moto."""
    return importlib.metadata.version("moto")


def sdist(version: str, cache: Path = CACHE) -> Path:
    """Return moto's source package for ``version`` from the cache, downloading it from PyPI with pip the first time."""
    archive = cache / f"moto-{version}.tar.gz"
    if archive.is_file():
        return archive
    cache.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", f"moto=={version}", "--no-deps", "--no-binary", ":all:",
               "--quiet", "--dest", str(cache)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0 or not archive.is_file():
        raise RuntimeError(f"could not download moto {version}'s source package from PyPI ({' '.join(command[2:])} "
                           f"said: {done.stderr.strip()[-500:] or 'nothing'}). Run it once with network access, or "
                           f"put moto-{version}.tar.gz in {cache}.")
    return archive


def wanted(member: str) -> PurePosixPath | None:
    """Return where an sdist member goes under the extracted package, or None when the gate does not need it.

    Kept: the suite (``tests/test_iot/``) and the files at the top of moto's ``tests`` package that it imports
    (``__init__.py`` and ``conftest.py``: fixtures, moto's test settings)."""
    parts = PurePosixPath(member).parts
    if len(parts) < 3 or parts[1] != "tests" or ".." in parts:
        return None
    inside = parts[2:]
    if inside[0] == SUITE or (len(inside) == 1 and inside[0].endswith(".py")):
        return PurePosixPath(PACKAGE, *inside)
    return None


def extract(archive: Path, dest: Path) -> Path:
    """Extract the suite and its support files from ``archive`` into ``dest`` (replacing it); return ``dest``."""
    staging = dest.with_name(dest.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            target = wanted(member.name)
            if target is None or not member.isfile():
                continue
            path = staging / target
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(tar.extractfile(member).read())  # type: ignore[union-attr]
    if not (staging / PACKAGE / SUITE).is_dir():
        raise RuntimeError(f"{archive.name} has no tests/{SUITE}: moto's source package changed its layout; "
                           "update tests/moto_conformance/source.py")
    (staging / _DONE).write_text(archive.name)
    shutil.rmtree(dest, ignore_errors=True)
    staging.rename(dest)
    return dest


def suite_root(version: str | None = None, cache: Path = CACHE) -> Path:
    """Return the extracted ``moto_tests`` package for the installed moto (or ``version``), preparing it once."""
    version = version or moto_version()
    tree = cache / version
    if not (tree / _DONE).is_file():
        extract(sdist(version, cache), tree)
    return tree / PACKAGE
