"""The hostile suite (HOSTILE.md §3): fixtures, the ``case`` marker and the closing table.

The invariants I1-I6 live in ``hostile_kit.py`` as helpers (``Victim.expect_failure`` runs
them all for a feed that must fail; ``Victim.expect_stored`` for one that must be read).
Each test carries ``@pytest.mark.case(number, "input", "expected")`` (number 0: a test
beyond the 63 numbered cases, such as the sweep of every key in a real terminal); at the
end of the session a table lists every hostile test with its case and outcome.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hostile_kit import Template, Victim, build_template, copy_template

from feedserver import FeedServer
from homes import CORPUS, CORPUS_MISSING

_CASES: dict[str, tuple[int, str, str]] = {}
_OUTCOMES: dict[str, str] = {}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "case(number, input, expected): a case of HOSTILE.md §3 (hostile suite table)"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for it in items:
        marker = it.get_closest_marker("case")
        if marker is not None:
            number, what, expected = marker.args
            _CASES[it.nodeid] = (int(number), str(what), str(expected))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.nodeid not in _CASES:
        return
    if report.when == "call" or (report.when == "setup" and not report.passed):
        if hasattr(report, "wasxfail"):
            outcome = "xfail (known bug)" if report.skipped else "XPASS"
        else:
            outcome = report.outcome
            if report.skipped and isinstance(report.longrepr, tuple):
                outcome = "skipped: " + str(report.longrepr[2]).removeprefix("Skipped: ")[:60]
        _OUTCOMES[report.nodeid] = outcome
    elif report.when == "teardown" and report.failed:
        _OUTCOMES[report.nodeid] = "error in teardown"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    ran = [n for n in _CASES if n in _OUTCOMES]
    if not ran:
        return
    tr = terminalreporter
    tr.section("hostile input (HOSTILE.md §3)")
    tr.write_line(f"{'case':>4}  {'input':<38} {'expected':<44} result")
    for nodeid in sorted(ran, key=lambda n: (_CASES[n][0] or 99, n)):
        number, what, expected = _CASES[nodeid]
        param = nodeid.partition("[")[2].rstrip("]")
        label = what + (f" [{param}]" if param else "")
        shown = str(number) if number else "+"  # 0: a test beyond the numbered cases
        tr.write_line(f"{shown:>4}  {label[:38]:<38} {expected[:44]:<44} {_OUTCOMES[nodeid]}")
    numbers = sorted({_CASES[n][0] for n in ran} - {0})
    extra = sum(1 for n in ran if _CASES[n][0] == 0)
    beyond = f" + {extra} beyond them (the sweep)" if extra else ""
    tr.write_line(f"{len(numbers)} cases of 63{beyond}, {len(ran)} tests")


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def hostile_server() -> Iterator[FeedServer]:
    """One server for the whole suite: tests run one at a time and each sets its routes."""
    with FeedServer() as server:
        # the batch connects to dozens of routes at once; the stdlib's backlog of 5 would
        # drop SYNs and turn them into connect timeouts
        server._httpd.socket.listen(256)
        yield server


@pytest.fixture
def server(hostile_server: FeedServer) -> Iterator[FeedServer]:
    hostile_server.reset_log()
    hostile_server.errors.clear()
    yield hostile_server
    if hostile_server.errors:
        pytest.fail("a hostile route failed:\n" + hostile_server.errors[0], pytrace=False)


@pytest.fixture(scope="session")
def template(hostile_server: FeedServer, tmp_path_factory: pytest.TempPathFactory) -> Template:
    return build_template(tmp_path_factory.mktemp("hostile-template"), hostile_server)


@pytest.fixture
def victim(template: Template, server: FeedServer, tmp_path: Path) -> Victim:
    return copy_template(template, tmp_path, server)


@pytest.fixture
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(CORPUS_MISSING)
    return CORPUS
