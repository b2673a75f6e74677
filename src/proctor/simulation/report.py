"""The confusion matrix: per scenario, how many sittings each rule flagged and the verdicts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from proctor.domain.rules import RULE_CODES
from proctor.simulation.engine_driver import SimResult

SHORT = {"FAST_FORWARD": "FF", "MULTI_WINDOW": "MW", "POPUP_GAP": "PG", "FACE_LIVENESS": "FL",
         "LESSON_ORDER": "LO", "RANDOM_PHOTO": "RP", "LATE_TELEMETRY": "LT"}


@dataclass(frozen=True, slots=True)
class Row:
    scenario: str
    expect: tuple[str, ...]
    n: int
    by_rule: dict[str, int]
    invalid: int
    pending: int
    valid: int
    caught_by_expected: int  # invalid with one of the expected rules among its violations

    @property
    def honest(self) -> bool:
        return not self.expect

    @property
    def ok(self) -> bool:
        if self.honest:
            return self.invalid == 0 and self.pending == 0
        return self.caught_by_expected == self.n


def matrix(results: Sequence[SimResult]) -> list[Row]:
    groups: dict[str, list[SimResult]] = defaultdict(list)
    for r in results:
        groups[r.scenario].append(r)
    rows = []
    for name, rs in groups.items():
        by_rule = {code: sum(code in r.verdict.rules_broken for r in rs) for code in RULE_CODES}
        expect = rs[0].expect
        rows.append(Row(
            scenario=name, expect=expect, n=len(rs), by_rule=by_rule,
            invalid=sum(r.verdict.status == "invalid" for r in rs),
            pending=sum(r.verdict.status == "pending" for r in rs),
            valid=sum(r.verdict.status == "valid" for r in rs),
            caught_by_expected=sum(r.verdict.status == "invalid"
                                   and bool(r.verdict.rules_broken & set(expect)) for r in rs),
        ))
    return rows


def to_markdown(rows: Sequence[Row]) -> str:
    codes = list(RULE_CODES)
    head = ("| scenario | expected | n | " + " | ".join(SHORT[c] for c in codes)
            + " | invalid | pending | valid | caught |")
    sep = "|" + "---|" * (len(codes) + 8)
    lines = [head, sep]
    for r in rows:
        expect = ", ".join(SHORT[c] for c in r.expect) or "honest"
        caught = "-" if r.honest else f"{r.caught_by_expected}/{r.n}"
        lines.append(f"| {r.scenario} | {expect} | {r.n} | "
                     + " | ".join(str(r.by_rule[c]) for c in codes)
                     + f" | {r.invalid} | {r.pending} | {r.valid} | {caught} |")
    return "\n".join(lines)
