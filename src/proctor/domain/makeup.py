"""Make-up study (补学): which invalid sittings a later sitting may replace.

The county plan: "对培训期间确有特殊原因无法按时参加培训且履行书面请假手续的，可在结业考核前通过补课等方式
完成规定课程". The policy's ``makeup`` chooses:

- ``after_leave`` (Henan): an invalid sitting begun before a leave (请假) recorded for its lesson is
  *superseded*: it stays as evidence but no longer taints the lesson, which may be studied again.
  A sitting begun after the leave that fails again taints the lesson until another leave.
- ``always``: any invalid sitting followed by a later sitting of the same lesson is superseded.
- ``never``: nothing is superseded (one invalid sitting taints the lesson for good).

Pure: values in, values out.
"""

from __future__ import annotations

from collections.abc import Sequence

from proctor.domain.model import SessionRecord

AFTER_LEAVE = "after_leave"
ALWAYS = "always"
NEVER = "never"


def superseded_sittings(records: Sequence[SessionRecord], mode: str,
                        leaves_at: Sequence[float]) -> frozenset[str]:
    """Ids of the invalid sittings of ONE lesson that no longer taint it.

    ``records``: the lesson's sittings; ``leaves_at``: unix times at which leaves for this
    lesson were recorded.
    """
    invalid = [r for r in records if r.verdict.status == "invalid"]
    if mode == NEVER or not invalid:
        return frozenset()
    if mode == ALWAYS:
        starts = [r.started_at for r in records]
        return frozenset(r.session_id for r in invalid if any(t > r.started_at for t in starts))
    if mode == AFTER_LEAVE:
        if not leaves_at:
            return frozenset()
        last_leave = max(leaves_at)
        return frozenset(r.session_id for r in invalid if r.started_at < last_leave)
    raise ValueError(f"unknown makeup mode {mode!r}")
