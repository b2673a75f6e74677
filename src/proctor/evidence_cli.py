"""``proctor evidence …``: the evidence store's operator commands (mounted in proctor.cli)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from proctor.config import get_settings

app = typer.Typer(help="evidence photos: retention", no_args_is_help=True)


@app.command("purge")
def purge(
    days: Annotated[int | None, typer.Option(
        help="keep photo files this many days (default: settings.photo_retention_days)",
        min=1)] = None,
) -> None:
    """Delete photo files older than the retention period; their records and outcomes stay."""
    from proctor.services.retention import purge_photos
    from proctor.storage.blobs import blob_store_from_settings
    from proctor.storage.db import unit_of_work, utcnow
    from proctor.workers.dispatch import factory_for

    settings = get_settings()
    keep = days or settings.photo_retention_days
    with unit_of_work(factory_for(settings)) as uow:
        report = purge_photos(uow, store=blob_store_from_settings(settings), now=utcnow(),
                              retention_days=keep)
    typer.echo(json.dumps({"cutoff": report.cutoff.isoformat(), "photos": report.photos,
                           "blobs_deleted": report.blobs_deleted}))
