"""`proctor platform list|rotate|revoke`: operators' commands for platform keys."""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from proctor.storage.db import UnitOfWork


def register(platform_app: typer.Typer) -> None:
    platform_app.command("list")(platform_list)
    platform_app.command("rotate")(platform_rotate)
    platform_app.command("revoke")(platform_revoke)


def _uow() -> AbstractContextManager[UnitOfWork]:
    from proctor.config import get_settings
    from proctor.storage.db import engine_for, session_factory, unit_of_work

    return unit_of_work(session_factory(engine_for(get_settings().database_url)))


def platform_list(
    active: Annotated[bool, typer.Option("--active", help="only keys not revoked")] = False,
) -> None:
    """List platform keys (one JSON object a line; secrets are never shown)."""
    from proctor.services.platform_keys import list_keys

    with _uow() as uow:
        for key in list_keys(uow, include_revoked=not active):
            typer.echo(json.dumps(asdict(key), ensure_ascii=False))


def platform_rotate(
    key_id: Annotated[str, typer.Argument(help="the key to replace")],
    keep_old: Annotated[bool, typer.Option(help="leave the old key valid until revoked")] = False,
) -> None:
    """Issue a fresh key and secret for the key's institution; the old one is revoked."""
    from proctor.domain.errors import ProctorError
    from proctor.services.platform_keys import rotate
    from proctor.storage.db import utcnow

    try:
        with _uow() as uow:
            new = rotate(uow, key_id=key_id, now=utcnow(), keep_old=keep_old)
            out = {"key_id": new.key_id, "secret": new.secret, "replaces": key_id,
                   "old_key_revoked": not keep_old}
    except ProctorError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from None
    typer.echo(json.dumps(out))


def platform_revoke(key_id: Annotated[str, typer.Argument(help="the key to revoke")]) -> None:
    """Revoke a key: every request signed with it is refused (401) from now on."""
    from proctor.domain.errors import ProctorError
    from proctor.services.platform_keys import revoke
    from proctor.storage.db import utcnow

    try:
        with _uow() as uow:
            key = revoke(uow, key_id=key_id, now=utcnow())
            out = {"key_id": key.key_id, "revoked_at": key.revoked_at.isoformat()
                   if key.revoked_at else None}
    except ProctorError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from None
    typer.echo(json.dumps(out))
