"""``proctor reevaluate``: judge a course's stored sessions again, e.g. under a new policy."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from proctor.cli_support import domain_errors_exit

app = typer.Typer()


@app.command()
def reevaluate(
    course: Annotated[str, typer.Option(help="the course's id (the platform's own id)")],
    policy: Annotated[str, typer.Option(help="policy name in config/policies, or a .toml path")],
    institution: Annotated[str | None, typer.Option(
        help="only this institution's course (by name); default: every institution's")] = None,
) -> None:
    """Re-run the rules over every stored session of a course; report how many verdicts changed.

    Verdicts then name the policy id and version used; a reviewed verdict keeps its status.
    """
    from proctor.config import get_settings
    from proctor.domain.policy import PolicyError
    from proctor.services.policies import policy_for
    from proctor.storage.db import utcnow
    from proctor.workers.celery_app import configure
    from proctor.workers.reevaluate_tasks import reevaluate_parallel

    settings = get_settings()
    try:
        pol = policy_for(settings, policy)
    except (PolicyError, OSError) as exc:
        typer.echo(f"error: policy {policy!r}: {exc}", err=True)
        raise typer.Exit(2) from None
    columns = (TextColumn("[bold]re-evaluating"), BarColumn(), MofNCompleteColumn(),
               TimeRemainingColumn())
    with Progress(*columns, transient=False) as bar:
        task = bar.add_task("sessions", total=None)
        with domain_errors_exit():
            # chunks of learners over the workers (in this process without a broker); the
            # bar reads the chunks' own progress
            configure(settings)
            report = reevaluate_parallel(
                course_ext=course, institution=institution, policy=policy, now=utcnow(),
                chunk_learners=settings.reevaluate_chunk_learners,
                progress=lambda done, total: bar.update(task, completed=done, total=total))
    typer.echo(f"{report.sessions} session(s) of course {course} re-evaluated under "
               f"{pol.id}@{pol.version}; {report.changed} verdict(s) changed")
    for move, n in sorted(report.transitions.items(), key=lambda x: -x[1]):
        before, after = move.split("->")
        typer.echo(f"  {before} -> {after}: {n}")
    if report.reviewed_kept:
        typer.echo(f"  {report.reviewed_kept} reviewed verdict(s) kept their reviewed status "
                   "(the rules now say otherwise)")
