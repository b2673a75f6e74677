"""One message catalogue: codes and parameters in, Chinese for people out."""

from __future__ import annotations

import re

import pytest
from tests.domain.script import T0, Script, watch

from proctor.domain.engine import evaluate
from proctor.domain.model import PhotoOutcome
from proctor.domain.policy import load_policy
from proctor.portal import labels
from proctor.services import messages

POLICY = load_policy("henan-2021")


def test_compiled_catalogue_matches_the_po_file() -> None:
    compiled = messages.catalogue_entries(messages.compile_catalogue())
    assert messages.catalogue_entries() == compiled, "run: python -m proctor.services.messages"
    assert len(compiled) > 50


def test_units_rounding_clock_times_and_positions() -> None:
    text = messages.render("FAST_FORWARD.rate", {"rate": 2.000000000560154, "max_rate": 1.0,
                                                 "duration_s": 192.3})
    assert text == "倍速 2.0×（上限 1.0×），持续 3 分 12 秒"
    assert messages.render("FAST_FORWARD.seek", {"from_pos": 6.0, "to_pos": 26.0,
                                                 "furthest_pos": 6.0}) == \
        "拖动进度条从 00:06 跳到 00:26，超过已看过的最远位置 00:06"
    # 1795779740 is 19:42:20 in China Standard Time
    assert messages.render("group.summary", {"count": 26, "label": "非本人",
                                             "first_at": 1795779740.292904}) == \
        "26 次非本人，首次 19:42:20"
    assert messages.duration_zh(3725) == "1 小时 2 分" and messages.duration_zh(2.25) == "2.2 秒"
    assert messages.render("no.such.code", {"a": 1}) == "no.such.code（a=1）"  # never breaks


def _sessions() -> dict[str, object]:
    photo = PhotoOutcome("p1", "ph", T0 + 30, "mismatch", 0.93)
    return {
        "rate": watch(60).set_rate(2.0).wait(200).pause().end().session(),
        "seek": watch(100).seek(900).wait(50).pause().end().session(),
        "jump": watch(300).pause().wait(10).jump(600).wait(10).play().wait(30).pause().end()
        .session(),
        "hidden": watch(60).hide().wait(300).show().wait(10).pause().end().session(),
        "popup": watch(1200).pause().end().session(confirm_every=None),
        "face": watch(300).pause().end().session(photos=(photo,)),
        "no_liveness": watch(300).pause().end().session(liveness=False),
        "complete": Script().play().wait(100).complete().end().session(),
    }


@pytest.mark.parametrize("name", list(_sessions()))
def test_every_engine_violation_reads_in_chinese(name: str) -> None:
    verdict = evaluate(_sessions()[name], POLICY)  # type: ignore[arg-type]
    assert verdict.violations, name
    for v in verdict.violations:
        code, params = messages.violation_message(v.to_dict(), POLICY)
        assert code.split(".")[0] == v.rule and messages.has(code), code
        assert code in labels.VIOLATION_KIND_LABELS
        text = messages.render(code, params)
        # no developer English, no raw floats or epoch seconds
        assert not re.search(r"[A-Za-z_]{3,}|\d+\.\d{3,}|\d{9,}", text), text
        assert re.search(r"[\u4e00-\u9fff]", text)


def test_audit_actions_have_chinese_names() -> None:
    for action in ("review.confirm_invalid", "review.overturn", "user.login", "export.roster",
                   "callback.retry"):
        assert re.search(r"[\u4e00-\u9fff]", messages.audit_action(action))
    assert messages.audit_action("something.new") == "something.new"


def test_lesson_order_names_each_earlier_lesson_with_its_state_in_the_matrix_words() -> None:
    """The evidence says what the matrix says: an earlier lesson not validly finished is 未学完
    (never "incomplete"), one judged invalid 无效."""
    code, params = messages.violation_message(
        {"rule": "LESSON_ORDER", "at": 0.0, "until": 0.0, "detail": "lesson L3 played before …",
         "evidence": [{"lesson_id": "L1", "status": "invalid"},
                      {"lesson_id": "L2", "status": "incomplete"}]}, POLICY)
    assert code == "LESSON_ORDER.order"
    assert params["lessons"][1] == {"lesson_id": "L2", "status": "incomplete"}  # machines
    text = messages.render(code, params)
    assert text.endswith("L1（无效）、L2（未学完）"), text
    assert labels.status_label("incomplete") in text and "incomplete" not in text


def test_one_word_for_eligibility_in_pages_and_exports() -> None:
    from proctor.portal import exports

    column = next(c for c in exports.ROSTER_COLUMNS if c.kind == "bool")
    assert exports._cell_value(column, False, reveal_id_numbers=False) == \
        labels.eligibility_label(False) == "暂不可报考"
    assert exports._cell_value(column, True, reveal_id_numbers=False) == "可报考"
