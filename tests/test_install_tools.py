"""tools/install.py and tools/wheelhouse.py: where make installs from (registry, wheelhouse, automatic fallback)."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.notebook_runs import ROOT


def load(name: str) -> ModuleType:
    """Return tools/<name>.py as a module (tools/ is a folder of scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(f"tools_{name}", ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


install = load("install")
wheelhouse = load("wheelhouse")


@pytest.fixture
def wheels(tmp_path: Path) -> Path:
    (tmp_path / "boto3-1.0-py3-none-any.whl").write_bytes(b"")
    return tmp_path


def test_offline_installs_only_from_the_wheelhouse(wheels: Path):
    assert install.choose_wheelhouse(True, wheels) == wheels
    command = install.pip_command(["-e", "."], wheels)
    assert command[:4] == [sys.executable, "-m", "pip", "install"]
    assert command[command.index("--find-links") + 1] == str(wheels) and "--no-index" in command


def test_offline_without_wheels_names_the_fix(tmp_path: Path):
    with pytest.raises(SystemExit, match="make wheelhouse"):
        install.choose_wheelhouse(True, tmp_path)


def test_an_unreachable_registry_falls_back_to_the_wheelhouse(wheels: Path, monkeypatch, capsys):
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")  # nothing listens on the discard port
    assert not install.registry_answers(timeout=2)
    assert install.choose_wheelhouse(False, wheels) == wheels
    assert "does not answer: installing from the wheelhouse" in capsys.readouterr().err
    assert install.choose_wheelhouse(False, wheels / "missing") is None  # no wheelhouse: pip tries and reports


def test_a_reachable_registry_is_used(wheels: Path, monkeypatch):
    monkeypatch.setattr(install, "registry_answers", lambda *a, **k: True)
    assert install.choose_wheelhouse(False, wheels) is None
    assert "--no-index" not in install.pip_command(["-e", "."], None)


def test_the_wheelhouse_is_named_for_its_platform_and_python():
    tag = wheelhouse.platform_tag()
    assert tag.startswith(f"py{sys.version_info.major}{sys.version_info.minor}-") and "." not in tag
