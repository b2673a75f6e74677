"""Callbacks only to the outside (issue 10, item 3): internal addresses refused at registration
and again at delivery after DNS resolution; every failure counts toward the dead letter."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from test_callbacks import HOME, Receiver, _callbacks, _overturn, _register
from test_callbacks import receiver as receiver  # the fixture: a real HTTP receiver

from conftest import World, make_world
from proctor.config import Settings
from proctor.services.callbacks import deliver_once
from proctor.storage.db import engine_for, session_factory, unit_of_work, utcnow
from proctor.storage.tables import Callback, Institution


@pytest.fixture
def world(settings: Settings) -> World:
    # callbacks_allow_private_targets stays False: the production default
    return make_world(settings.model_copy(update={"callback_max_attempts": 2}))


def test_delivery_refuses_a_loopback_target_and_dead_letters_it(world: World,
                                                                 receiver: Receiver) -> None:
    _register(world, receiver)  # written straight to the row: only delivery can refuse it now
    _overturn(world, world.flagged[HOME])
    factory = session_factory(engine_for(world.settings.database_url))
    for c in _callbacks(world):  # the first attempt ran in-process; the second is the last
        with unit_of_work(factory) as uow:
            deliver_once(uow, callback_id=c.id, settings=world.settings, now=utcnow())
    rows = _callbacks(world)
    assert rows and {(c.status, c.attempts) for c in rows} == {("dead", 2)}
    assert all("refused target" in (c.last_error or "") for c in rows)
    assert receiver.received == []  # nothing ever reached 127.0.0.1


def test_an_unparseable_stored_url_is_dead_lettered_not_left_pending(world: World,
                                                                      receiver: Receiver) -> None:
    _register(world, receiver)
    factory = session_factory(engine_for(world.settings.database_url))
    with unit_of_work(factory) as uow:
        inst = uow.session.get(Institution, world.inst[HOME])
        assert inst is not None
        inst.callback_url = "http://[::1"  # as stored before registration checked URLs
    _overturn(world, world.flagged[HOME])
    for c in _callbacks(world):
        for _ in range(2):
            with unit_of_work(factory) as uow:
                deliver_once(uow, callback_id=c.id, settings=world.settings, now=utcnow())
    with factory() as s:
        statuses = set(s.scalars(select(Callback.status)))
    assert statuses == {"dead"}
