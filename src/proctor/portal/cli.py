"""`proctor demo`, `proctor audit verify`, `proctor callbacks sweep` (mounted in proctor.cli)."""

from __future__ import annotations

from typing import Annotated

import typer

from proctor.cli_support import open_uow
from proctor.config import get_settings
from proctor.storage.db import utcnow

app = typer.Typer()
audit_app = typer.Typer(help="the hash-chained audit log", no_args_is_help=True)
callbacks_app = typer.Typer(help="signed callbacks to platforms", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
app.add_typer(callbacks_app, name="callbacks")


@app.command()
def demo(
    if_empty: Annotated[bool, typer.Option("--if-empty", help="do nothing if data exists")] = False,
    password: Annotated[str | None, typer.Option(
        envvar="PROCTOR_DEMO_PASSWORD", help="one password for every demo user (else random)")]
    = None,
) -> None:
    """Demo data from the simulator: 2 institutions, learners, flagged sessions, portal users."""
    from proctor.services.policies import policy_for
    from proctor.simulation.demo import build_demo, is_empty

    settings = get_settings()
    with open_uow() as uow:
        if not is_empty(uow):
            if if_empty:
                typer.echo("demo: the database already holds data; nothing done")
                return
            typer.echo("error: the database already holds data", err=True)
            raise typer.Exit(2)
        users = ("admin", "reviewer", "reviewer2", "staff", "auditor")
        summary = build_demo(uow, settings=settings, policy=policy_for(settings), now=utcnow(),
                             passwords=dict.fromkeys(users, password) if password else None)
    typer.echo(f"demo: {', '.join(summary.institutions)}; {summary.sessions} study sessions, "
               f"{summary.flagged} flagged")
    typer.echo("portal users (http://127.0.0.1:8000/portal):")
    for username, (role, pw) in summary.users.items():
        typer.echo(f"  {username:<10} {role:<18} {pw}")


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the whole chain; exit 1 and name the first broken entry if anything was altered."""
    from proctor.services.audit_log import verify

    with open_uow() as uow:
        result = verify(uow.session)
    if result.ok:
        typer.echo(f"audit log intact: {result.checked} entries, head {result.head[:16]}")
        return
    typer.echo(f"audit log BROKEN at seq {result.broken_seq} ({result.checked} entries read): "
               "that entry or one after it was edited, deleted or reordered", err=True)
    raise typer.Exit(1)


@callbacks_app.command("sweep")
def callbacks_sweep(grace_s: float = 0.0) -> None:
    """Attempt every pending callback whose retry time has passed (in-process mode)."""
    from proctor.workers.callback_tasks import sweep_callbacks

    typer.echo(f"{sweep_callbacks(grace_s)} callbacks attempted")
