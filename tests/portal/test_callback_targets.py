"""Callbacks only to the outside (issue 10, item 3): internal addresses refused at registration
and again at delivery after DNS resolution; every failure counts toward the dead letter."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

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


PUBLIC = "93.184.215.14"  # a global address: what the name says when it is checked


def _rebinding_dns(monkeypatch: pytest.MonkeyPatch, name: str,
                   answers: Callable[[int], str]) -> list[str]:
    """A DNS server under an attacker's control: ``name`` resolves to ``answers(n)`` on the n-th
    lookup (other names resolve as usual). Returns the lookups of ``name`` made."""
    real = socket.getaddrinfo
    asked: list[str] = []

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and host.rstrip(".").lower() == name:
            asked.append(host)
            return real(answers(len(asked)), port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


def _deliver_all(world: World, settings: Settings) -> None:
    factory = session_factory(engine_for(settings.database_url))
    for c in _callbacks(world):
        with unit_of_work(factory) as uow:
            deliver_once(uow, callback_id=c.id, settings=settings, now=utcnow())


def test_a_name_rebound_after_the_check_cannot_reach_loopback(
        world: World, receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    """DNS rebinding: public when checked, 127.0.0.1 a moment later. The delivery connects to
    the address that was checked, never to a second answer."""
    port = receiver.url.split(":")[2].split("/")[0]
    _register(world, receiver)
    settings = world.settings.model_copy(update={"callback_timeout_s": 2.0})
    with unit_of_work(session_factory(engine_for(settings.database_url))) as uow:
        inst = uow.session.get(Institution, world.inst[HOME])
        assert inst is not None
        inst.callback_url = f"http://rebind.example:{port}/hooks/proctor"
    asked = _rebinding_dns(monkeypatch, "rebind.example",
                           lambda n: PUBLIC if n == 1 else "127.0.0.1")
    _overturn(world, world.flagged[HOME])  # the first attempt runs in-process
    monkeypatch.setattr(socket, "getaddrinfo", socket.getaddrinfo)
    rows = _callbacks(world)
    assert rows and all(c.attempts == 1 for c in rows)
    assert receiver.received == []  # nothing reached 127.0.0.1
    assert len(asked) == len(rows)  # one lookup per attempt: the one that was checked
    assert all(c.status == "pending" and c.last_error for c in rows)


def test_a_pinned_delivery_keeps_the_name_in_the_host_header(
        world: World, receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    """Connecting to the checked address still speaks to the named host (Host header; SNI for
    https), so virtual hosts and certificates keep working."""
    port = receiver.url.split(":")[2].split("/")[0]
    _register(world, receiver)
    with unit_of_work(session_factory(engine_for(world.settings.database_url))) as uow:
        inst = uow.session.get(Institution, world.inst[HOME])
        assert inst is not None
        inst.callback_url = f"http://platform.example:{port}/hooks/proctor"
    asked = _rebinding_dns(monkeypatch, "platform.example", lambda n: "127.0.0.1")
    _overturn(world, world.flagged[HOME])  # refused in-process: 127.0.0.1 is not public
    assert receiver.received == []
    # the test-only setting lets the same name through to the receiver on 127.0.0.1
    _deliver_all(world, world.settings.model_copy(
        update={"callbacks_allow_private_targets": True}))
    assert receiver.received, receiver.refused
    assert {r["host"] for r in receiver.received} == {f"platform.example:{port}"}
    assert len(asked) == 2 * len(_callbacks(world))
