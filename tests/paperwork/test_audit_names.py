"""The paperwork's audit actions read in Chinese on the portal's audit page."""

from __future__ import annotations

import re
from pathlib import Path

from proctor.services import messages

SERVICES = Path(__file__).resolve().parents[2] / "src" / "proctor" / "services"
PAPERWORK = ("classes.py", "makeup.py", "notices.py")


def test_every_paperwork_audit_action_has_a_chinese_name() -> None:
    actions = {a for name in PAPERWORK
               for a in re.findall(r'action="([a-z_.]+)"', (SERVICES / name).read_text())}
    assert {"class.opened", "leave.recorded", "rectification.started", "notice.published",
            "objection.answered"} <= actions
    for action in sorted(actions):
        assert re.search(r"[\u4e00-\u9fff]", messages.audit_action(action)), action
