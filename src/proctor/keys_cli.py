"""`proctor platform list|rotate|revoke`: operators' commands for platform keys."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

import typer

from proctor.cli_support import domain_errors_exit, open_uow


def register(platform_app: typer.Typer) -> None:
    platform_app.command("list")(platform_list)
    platform_app.command("rotate")(platform_rotate)
    platform_app.command("revoke")(platform_revoke)


def platform_list(
    active: Annotated[bool, typer.Option("--active", help="only keys not revoked")] = False,
) -> None:
    """List platform keys (one JSON object a line; secrets are never shown)."""
    from proctor.services.platform_keys import list_keys

    with open_uow() as uow:
        for key in list_keys(uow, include_revoked=not active):
            typer.echo(json.dumps(asdict(key), ensure_ascii=False))


def platform_rotate(
    key_id: Annotated[str, typer.Argument(help="the key to replace")],
    keep_old: Annotated[bool, typer.Option(help="leave the old key valid until revoked")] = False,
) -> None:
    """Issue a fresh key and secret for the key's institution; the old one is revoked."""
    from proctor.services.platform_keys import rotate
    from proctor.storage.db import utcnow

    with domain_errors_exit():
        with open_uow() as uow:
            new = rotate(uow, key_id=key_id, now=utcnow(), keep_old=keep_old)
            out = {"key_id": new.key_id, "secret": new.secret, "replaces": key_id,
                   "old_key_revoked": not keep_old}
    typer.echo(json.dumps(out))


def platform_revoke(key_id: Annotated[str, typer.Argument(help="the key to revoke")]) -> None:
    """Revoke a key: every request signed with it is refused (401) from now on."""
    from proctor.services.platform_keys import revoke
    from proctor.storage.db import utcnow

    with domain_errors_exit():
        with open_uow() as uow:
            key = revoke(uow, key_id=key_id, now=utcnow())
            out = {"key_id": key.key_id, "revoked_at": key.revoked_at.isoformat()
                   if key.revoked_at else None}
    typer.echo(json.dumps(out))
