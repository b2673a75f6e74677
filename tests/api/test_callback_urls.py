"""Callback URLs (issue 10, item 3): internal or unparseable URLs refused at registration (422),
and a name checked again after DNS resolution (delivery: tests/portal/test_callback_targets.py)."""

from __future__ import annotations

import pytest

from proctor.services import outbound
from tests.factories import Platform

INTERNAL = ["http://127.0.0.1:5441/", "http://localhost/hook", "http://10.1.2.3/x",
            "http://172.16.0.9/", "http://192.168.1.1/", "http://169.254.169.254/latest/meta-data",
            "http://[::1]:8080/", "http://[fe80::1]/", "http://[::ffff:127.0.0.1]/",
            "http://0.0.0.0/", "http://100.64.0.1/", "http://metadata.google.internal/",
            "http://printer.local/"]


def test_internal_and_unparseable_callback_urls_are_refused_at_registration(
        platform: Platform) -> None:
    for url in [*INTERNAL, "http://[::1/", "http://exa mple.cn/", "https://:80/"]:
        r = platform.api.put("/v1/institution", {"callback_url": url})
        assert r.status_code == 422, (url, r.text)
        assert r.json()["error"]["field"] == "callback_url"
    assert platform.api.get("/v1/institution").json()["callback_url"] is None
    r = platform.api.put("/v1/institution", {"callback_url": "https://lms.example.cn/hook"})
    assert r.status_code == 200


def test_a_public_name_is_checked_again_after_resolution() -> None:
    def resolves_inside(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "10.0.0.7"]  # one public, one private answer: refused

    with pytest.raises(outbound.RefusedTarget, match="10.0.0.7"):
        outbound.check_target("https://lms.example.cn/hook", resolver=resolves_inside)
    assert outbound.check_target("https://lms.example.cn/hook",
                                 resolver=lambda h, p: ["93.184.216.34"]) == ["93.184.216.34"]
    # registration does not look names up (delivery does), but refuses literals and internal names
    assert outbound.check_target("https://lms.example.cn/hook", resolve=False) == []
