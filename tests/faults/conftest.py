"""The fault run's tally (faults survived, events sent and stored once, sessions judged),
printed at the end of the run."""

from __future__ import annotations

from collections import Counter

import pytest

TALLY: Counter[str] = Counter()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if TALLY:
        terminalreporter.write_line(
            f"faults: {TALLY['faults']} survived; {TALLY['events']} events sent, "
            f"{TALLY['stored_once']} stored exactly once, {TALLY['events'] - TALLY['stored_once']} "
            f"lost or doubled; {TALLY['ended']} sessions ended, {TALLY['judged']} judged "
            "without a hand")
