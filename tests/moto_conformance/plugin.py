"""pytest plugin for moto's IoT tests: installs the sandbox's extensions into moto before any test module is
imported, and turns the reviewed divergences into strict expected failures that must fail in the recorded way."""
from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest

import helpers.sandbox

from .divergences import PATH, Divergence, load

_TABLE = pytest.StashKey[dict]()
_INSTALLED = pytest.StashKey[list]()
_LISTED = pytest.StashKey[Divergence]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add --divergences (the reviewed list to expect; the plugin's own tests pass another)."""
    parser.addoption("--divergences", default=str(PATH), help="TOML file of reviewed divergences to expect")


def pytest_configure(config: pytest.Config) -> None:
    """Install the sandbox into moto and read the divergences, before collection imports moto's tests."""
    config.stash[_INSTALLED] = helpers.sandbox.install()
    config.stash[_TABLE] = load(Path(config.getoption("divergences")))


def pytest_report_header(config: pytest.Config) -> str:
    """Return the header line naming what runs: moto's version, the sandbox's operations, the divergences."""
    return (f"moto {importlib.metadata.version('moto')} with the sandbox installed "
            f"({len(config.stash[_INSTALLED])} operations added); "
            f"{len(config.stash[_TABLE])} reviewed divergences from {Path(config.getoption('divergences')).name}")


def stale_entries(table: dict[str, Divergence], collected: set[str], rootpath: Path) -> list[str]:
    """Return the listed tests that no longer exist: their file is gone, or it was collected without them."""
    files = {nodeid.split("::")[0] for nodeid in collected}
    return sorted(test for test in table
                  if not (rootpath / test.split("::")[0]).is_file()
                  or (test.split("::")[0] in files and test not in collected))


@pytest.hookimpl(tryfirst=True)  # before -k/-m deselection, so a stale entry is judged against everything collected
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each listed test as a strict expected failure; refuse to run with entries naming tests that are gone."""
    table: dict[str, Divergence] = config.stash[_TABLE]
    stale = stale_entries(table, {item.nodeid for item in items}, config.rootpath)
    if stale:
        raise pytest.UsageError(f"{Path(config.getoption('divergences')).name} lists tests that this moto does not "
                                f"have: {', '.join(stale)}. Remove or rename those entries.")
    for item in items:
        divergence = table.get(item.nodeid)
        if divergence is not None:
            item.stash[_LISTED] = divergence
            item.add_marker(pytest.mark.xfail(reason=divergence.reason(), strict=True))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> pytest.TestReport:
    """Return the report, failed again when a listed test failed in a way its divergence does not explain."""
    report: pytest.TestReport = yield
    divergence = item.stash.get(_LISTED, None)
    if divergence is None or not hasattr(report, "wasxfail") or call.excinfo is None:
        return report
    failure = f"{call.excinfo.typename}: {call.excinfo.value}"
    if not divergence.explains(failure):
        report.outcome = "failed"
        del report.wasxfail
        report.sections.append(("moto conformance", f"listed under divergence {divergence.name!r}, which expects a "
                                f"failure matching /{divergence.match.pattern}/; this failure is something else"))
    return report
