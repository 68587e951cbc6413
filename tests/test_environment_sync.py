"""environment.yml (conda users, Binder) lists exactly the dependencies of pyproject.toml, with the same versions."""
from __future__ import annotations

import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent


def _pyproject() -> dict[str, Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]
    return {Requirement(r).name.lower(): Requirement(r) for r in reqs}


def _environment() -> tuple[dict[str, Requirement], dict]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    out: dict[str, Requirement] = {}
    for dep in env["dependencies"]:
        for raw in dep["pip"] if isinstance(dep, dict) else [dep]:
            req = Requirement(raw)
            out[req.name.lower()] = req
    return out, env


def test_channels_are_conda_forge_only():
    _, env = _environment()
    assert env["channels"] == ["conda-forge", "nodefaults"]


def test_same_packages_and_versions():
    py = _pyproject()
    conda, _ = _environment()
    conda.pop("python")
    conda.pop("pip")
    assert set(py) == set(conda), f"only in pyproject: {set(py) - set(conda)}; only in environment.yml: {set(conda) - set(py)}"
    for name, req in py.items():
        assert req.specifier == conda[name].specifier, f"{name}: pyproject {req.specifier} vs environment.yml {conda[name].specifier}"
        assert req.extras == conda[name].extras, f"{name}: extras differ"


def test_python_floor_matches():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    conda, _ = _environment()
    assert str(conda["python"].specifier) == project["requires-python"]


def test_binder_postbuild_installs_the_package():
    text = (ROOT / "postBuild").read_text()
    assert "pip install --no-deps -e ." in text
    assert (ROOT / "postBuild").stat().st_mode & 0o111, "postBuild must be executable"
