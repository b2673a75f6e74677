"""Figures a run counts (requests fuzzed, 5xx, faults survived, events lost), printed in its
summary; with xdist each worker's counts reach the controller and are added up there."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest

TALLIES: dict[str, Counter[str]] = {}
# how each tally is told in the summary, by name
FORMATS: dict[str, Callable[[Counter[str]], str]] = {
    "fuzz": lambda t: (f"schemathesis: {t['requests']} requests fuzzed ({t['signed']} signed, "
                       f"{t['token']} with a session token, {t['unsigned']} unsigned), "
                       f"{t['5xx']} answered 5xx, {t['nonconforming']} did not conform"),
    "faults": lambda t: (f"faults: {t['faults']} survived; {t['events']} events sent, "
                         f"{t['stored_once']} stored exactly once, "
                         f"{t['events'] - t['stored_once']} lost or doubled; {t['ended']} "
                         f"sessions ended, {t['judged']} judged without a hand"),
}


def tally(name: str) -> Counter[str]:
    return TALLIES.setdefault(name, Counter())


def pytest_sessionfinish(session: pytest.Session) -> None:
    out = getattr(session.config, "workeroutput", None)
    if out is not None:  # an xdist worker: hand the counts to the controller
        out["tallies"] = {k: dict(v) for k, v in TALLIES.items()}


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: object, error: object) -> None:
    for name, counts in getattr(node, "workeroutput", {}).get("tallies", {}).items():
        tally(name).update(counts)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for name, counts in sorted(TALLIES.items()):
        if counts and name in FORMATS:
            terminalreporter.write_line(FORMATS[name](counts))
