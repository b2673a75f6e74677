"""``proctor events partitions``: the events table's monthly partitions (PostgreSQL)."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(help="The telemetry events table.")


@app.command("partitions")
def partitions_cmd(
    ahead: Annotated[int | None, typer.Option(help="months to create ahead (default: settings)")] = None,
    retention: Annotated[int | None, typer.Option(
        help="detach and drop partitions of sessions older than this many months")] = None,
    compact: Annotated[bool, typer.Option(
        help="rewrite settled months in session order with pg_repack (settings: "
             "events_compact_after_days)")] = True,
) -> None:
    """Create partitions ahead, apply the retention and compact settled months (what beat does
    every day)."""
    from proctor.config import get_settings
    from proctor.services import event_upkeep
    from proctor.storage.db import engine_for, utcnow

    settings = get_settings()
    done = event_upkeep.daily(
        engine_for(settings.database_url), today=utcnow().date(),
        ahead_months=ahead or settings.events_partitions_ahead_months,
        retention_months=retention if retention is not None else settings.events_retention_months,
        compact_after_days=settings.events_compact_after_days if compact else None)
    if not done.partitioned:
        typer.echo("events is not partitioned here (SQLite): nothing to do")
        return
    m = done.maintenance
    typer.echo(f"created: {', '.join(m.created) or '-'}; detached and dropped: "
               f"{', '.join(m.dropped) or '-'}; partitions now: {', '.join(done.partitions_now)}")
    packed = done.compaction
    if packed is None:
        return
    typer.echo(f"compacted in session order: {', '.join(packed.compacted) or '-'}; "
               f"already in order: {', '.join(packed.in_order) or '-'}")
    for name, why in packed.skipped.items():
        typer.echo(f"not compacted: {name}: {why}", err=True)
