"""``proctor county …``: the county's view (docs/county.md), mounted in proctor.cli."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Annotated

import typer

from proctor.cli_support import domain_errors_exit, open_uow
from proctor.config import get_settings

app = typer.Typer(help="the county's view: assessor keys, cross-institution checks",
                  no_args_is_help=True)


@app.command("assessor-key")
def assessor_key(
    name: Annotated[str, typer.Option(help="the assessment body (考核/评价机构)")],
    county: Annotated[str, typer.Option(help="6-digit county code it records exams for")],
) -> None:
    """Issue a key for an assessment body to record exams (POST /v1/county/exams)."""
    from proctor.services.county.exams import issue_assessor_key

    with domain_errors_exit():
        with open_uow() as uow:
            issued = issue_assessor_key(uow, name=name, county_code=county)
    typer.echo(json.dumps({"name": issued.name, "county": issued.county_code,
                           "key_id": issued.key_id, "secret": issued.secret}, ensure_ascii=False))


@app.command("link")
def link() -> None:
    """Give learners registered without a person key theirs (learners.id_hash)."""
    from proctor.services.county.persons import link_missing

    with open_uow() as uow:
        done = link_missing(uow.session, get_settings())
    typer.echo(json.dumps({"linked": done}))


@app.command("check-day")
def check_day_cmd(
    day: Annotated[str, typer.Option(help="local day, YYYY-MM-DD")],
) -> None:
    """Run every cross-institution rule over one local day's sessions."""
    from proctor.services.county.checks import check_day
    from proctor.storage.db import utcnow

    with open_uow() as uow:
        result = check_day(uow, day=date.fromisoformat(day), settings=get_settings(),
                           now=utcnow())
    typer.echo(json.dumps({"facts": result.facts, "findings": result.findings,
                           "opened": result.opened, "at": datetime.now().isoformat()}))
