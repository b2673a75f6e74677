"""`proctor …`: the operators' command line."""

from __future__ import annotations

import getpass
import json
from typing import Annotated

import typer

from proctor import (
    county_cli,
    evaluation_cli,
    events_cli,
    evidence_cli,
    faces_cli,
    keys_cli,
    paperwork_cli,
)
from proctor.cli_support import domain_errors_exit, open_uow
from proctor.config import get_settings
from proctor.portal import cli as portal_cli
from proctor.simulation import cli as simulation_cli

app = typer.Typer(help="proctor: online-training integrity monitor", no_args_is_help=True,
                  pretty_exceptions_enable=False)
db_app = typer.Typer(help="database schema", no_args_is_help=True)
platform_app = typer.Typer(help="course platforms and their keys", no_args_is_help=True)
user_app = typer.Typer(help="portal users", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(platform_app, name="platform")
keys_cli.register(platform_app)  # platform list | rotate | revoke
app.add_typer(user_app, name="user")
app.add_typer(simulation_cli.app)
app.add_typer(evaluation_cli.app)
app.add_typer(evidence_cli.app, name="evidence")
app.add_typer(faces_cli.app, name="faces")
app.add_typer(events_cli.app, name="events")
app.add_typer(portal_cli.app)
app.add_typer(paperwork_cli.archive_app, name="archive")
app.add_typer(paperwork_cli.reports_app, name="reports")
app.add_typer(county_cli.app, name="county")

ROLES = ("admin", "county_reviewer", "institution_staff", "auditor")


@db_app.command("upgrade")
def db_upgrade(revision: str = "heads") -> None:
    """Apply the Alembic migrations to the configured database."""
    from proctor.storage.migrate import upgrade

    url = get_settings().database_url
    upgrade(url, revision)
    typer.echo(f"database at {url.split('@')[-1]} is at {revision}")


@platform_app.command("create")
def platform_create(
    institution: Annotated[str, typer.Option(help="training institution's name")],
    county: Annotated[str, typer.Option(help="6-digit 行政区划代码, e.g. 410102")],
) -> None:
    """Issue a platform key for an institution (created if new). Prints the key id and secret."""
    from proctor.services.registration import issue_platform_key

    with domain_errors_exit():
        with open_uow() as uow:
            issued = issue_platform_key(uow, institution=institution, county_code=county)
    typer.echo(json.dumps({"institution": issued.institution, "county": issued.county_code,
                           "key_id": issued.key_id, "secret": issued.secret}, ensure_ascii=False))


@user_app.command("create")
def user_create(
    username: Annotated[str, typer.Option()],
    role: Annotated[str, typer.Option(help="admin | county_reviewer | institution_staff | auditor")],
    name: Annotated[str | None, typer.Option(help="display name")] = None,
    county: Annotated[list[str] | None, typer.Option(help="county code(s) a reviewer covers")] = None,
    institution: Annotated[str | None, typer.Option(help="institution name, for staff")] = None,
    password: Annotated[str | None, typer.Option(help="asked for when not given",
                                                 envvar="PROCTOR_NEW_USER_PASSWORD")] = None,
) -> None:
    """Create a portal user with an argon2-hashed password."""
    from proctor.services.users import create_user

    if password is None:
        password = getpass.getpass("password: ")
    with domain_errors_exit():
        with open_uow() as uow:
            user = create_user(uow, username=username, role=role, display_name=name or username,
                               county_codes=county or [], institution=institution, password=password)
            out = {"id": user.id, "username": user.username, "role": user.role,
                   "counties": user.county_codes}
    typer.echo(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    app()
