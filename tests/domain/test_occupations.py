"""config/occupations.toml is annex 3 of the plan (docs/annex3.md), entry for entry."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from proctor.domain import classes
from proctor.domain.eligibility import annex_names, load_eligibility_rules, parse_eligibility_rules

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config"


def _annex_rows() -> dict[int, list[str]]:
    """The table of docs/annex3.md: row number -> its occupations in the annex's order."""
    rows = {}
    for line in (ROOT / "docs" / "annex3.md").read_text(encoding="utf-8").splitlines():
        m = re.match(r"^\|\s*(\d+)\s*\|([^|]+)\|", line)
        if m:
            rows[int(m.group(1))] = [x.strip() for x in m.group(2).split("、")]
    return rows


def _config() -> dict:
    with (CONFIG / "occupations.toml").open("rb") as fh:
        return tomllib.load(fh)


def test_the_config_lists_are_the_annex_rows_exactly() -> None:
    rows, cfg = _annex_rows(), _config()
    assert len(rows[1]) == 32 and len(rows[2]) == 16
    assert cfg["online"] == rows[1]
    assert cfg["offline_practical"] == rows[2]
    assert cfg["confirmed"] is True and cfg["practical_min_hours"] == 8
    assert "不少于8个学时" in (ROOT / "docs" / "annex3.md").read_text(encoding="utf-8")


def test_the_rules_read_both_rows() -> None:
    rules = load_eligibility_rules(CONFIG / "eligibility.toml", CONFIG / "occupations.toml")
    assert annex_names("电子商务师(含跨境电子商务师)") == ["电子商务师", "跨境电子商务师"]
    assert len(rules.online_occupations) == 33  # 32 entries, one of them names two
    assert rules.trained_online("跨境电子商务师") and rules.needs_practical("跨境电子商务师")
    assert rules.trained_online("呼叫中心服务员（初级）")
    assert not rules.needs_practical("呼叫中心服务员")
    assert not rules.trained_online("电工")


def test_a_practical_occupation_outside_row_1_is_a_config_error() -> None:
    elig = {"certificate_only_min_class_hours": 40,
            "exam": {"months": [4], "no_new_training_months_after_exam": 1}}
    with pytest.raises(ValueError, match="焊工"):
        parse_eligibility_rules(elig, {"practical_min_hours": 8, "online": ["收银员"],
                                       "offline_practical": ["收银员", "焊工"]})


def test_registration_problems_name_the_annex_rule() -> None:
    rules = load_eligibility_rules(CONFIG / "eligibility.toml", CONFIG / "occupations.toml")
    [p] = classes.occupation_problems("电工", 8, rules)
    assert p.code == classes.OCCUPATION_NOT_ONLINE and p.field == "occupation"
    [p] = classes.occupation_problems("收银员", 7.5, rules)
    assert p.code == classes.PRACTICAL_HOURS_PLAN and "8" in p.message
    assert classes.occupation_problems("收银员（初级）", 8, rules) == []
    assert classes.occupation_problems("社会工作者", 0, rules) == []


def test_the_policy_asks_the_same_practical_hours_as_the_annex_config() -> None:
    with (CONFIG / "policies" / "henan-2021.toml").open("rb") as fh:
        policy = tomllib.load(fh)
    assert policy["class"]["practical_min_hours"] == _config()["practical_min_hours"]
