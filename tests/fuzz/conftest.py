"""The fuzz run's tally (requests sent, 5xx seen) printed at the end of the run."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest

TALLY: Counter[str] = Counter()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not TALLY:
        return
    line = (f"schemathesis: {TALLY['requests']} requests fuzzed ({TALLY['signed']} signed, "
            f"{TALLY['token']} with a session token, {TALLY['unsigned']} unsigned), "
            f"{TALLY['5xx']} answered 5xx, {TALLY['nonconforming']} did not conform")
    terminalreporter.write_line(line)
    out = os.environ.get("PROCTOR_FUZZ_REPORT")
    if out:
        Path(out).write_text(json.dumps(dict(TALLY), indent=1) + "\n")
