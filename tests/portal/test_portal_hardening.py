"""Portal input that used to answer 500 (issue 10): numbers beyond any column are a 4xx."""

from __future__ import annotations

import pytest

from conftest import World


@pytest.fixture
def world(shared_world: World) -> World:
    return shared_world


@pytest.mark.parametrize("path", [
    "/portal/queue?page=99999999999999999999",
    "/portal/audit?page=99999999999999999999",
    "/portal/dead-letters?page=99999999999999999999",
    "/portal/queue?institution=99999999999999999999",
    "/portal/learners/99999999999999999999",
    "/portal/institutions/99999999999999999999",
])
def test_numbers_beyond_any_column_are_a_4xx(world: World, path: str) -> None:
    r = world.client("admin").get(path)
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
