"""The README's two commands exist, and CI runs exactly the README's test command."""
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_readme_names_the_two_commands():
    quick = ROOT.joinpath("README.md").read_text().split("## Quick start", 1)[1].split("##", 1)[0]
    assert "make lab" in quick and "make test" in quick


def test_ci_runs_the_readme_test_command():
    lines = [line.strip() for line in ROOT.joinpath(".ci/run").read_text().splitlines()]
    assert lines[-1] == "make test"
