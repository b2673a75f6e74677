"""`proctor archive …` (e-archives) and `proctor reports …` (county reports): docs/paperwork.md."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import select

from proctor.config import get_settings
from proctor.services import archive
from proctor.services.policies import policy_for
from proctor.storage.db import engine_for, session_factory, unit_of_work, utcnow
from proctor.storage.tables import Learner

archive_app = typer.Typer(help="learners' e-archives (电子档案): export, verify", no_args_is_help=True)
reports_app = typer.Typer(help="county monthly, quarterly and annual reports", no_args_is_help=True)


@archive_app.command("verify")
def archive_verify(
    file: Annotated[Path, typer.Argument(help="an exported archive (JSON or PDF)")],
    signature: Annotated[Path | None, typer.Option(help="detached signature; FILE.sig if not given")]
    = None,
    public_key: Annotated[Path | None, typer.Option(help="PEM public key; the service's if not given")]
    = None,
) -> None:
    """Check FILE against its detached Ed25519 signature: exit 0 if intact, 1 if not."""
    sig_path = signature or file.with_name(file.name + ".sig")
    key_path = public_key or archive.public_key_path(get_settings())
    for p in (file, sig_path, key_path):
        if not p.exists():
            typer.echo(f"error: {p} not found", err=True)
            raise typer.Exit(2)
    ok = archive.verify(file.read_bytes(), sig_path.read_text(), key_path.read_bytes())
    typer.echo(f"{file}: {'signature OK' if ok else 'SIGNATURE DOES NOT MATCH'}")
    raise typer.Exit(0 if ok else 1)


@archive_app.command("export")
def archive_export(
    id_number: Annotated[str, typer.Option(help="the person's resident ID number")],
    out: Annotated[Path, typer.Option(help="file to write (.json or .pdf); FILE.sig beside it")],
) -> None:
    """Export one person's whole e-archive (every institution), signed."""
    settings = get_settings()
    with unit_of_work(session_factory(engine_for(settings.database_url))) as uow:
        learner = uow.session.scalar(select(Learner).where(Learner.id_number == id_number)
                                     .order_by(Learner.id).limit(1))
        if learner is None:
            typer.echo("error: no learner has that ID number", err=True)
            raise typer.Exit(2)
        record = archive.build(uow.session, learner=learner, settings=settings,
                               policy=policy_for(settings), now=utcnow())
    data = archive.pdf_bytes(record, settings) if out.suffix == ".pdf" else record.json_bytes()
    out.write_bytes(data)
    out.with_name(out.name + ".sig").write_text(archive.sign(data, settings) + "\n")
    typer.echo(f"wrote {out} and {out.name}.sig")


@archive_app.command("public-key")
def archive_public_key() -> None:
    """Print the PEM public key that verifies e-archives."""
    settings = get_settings()
    archive.signing_key(settings)
    typer.echo(archive.public_key_path(settings).read_text().strip())


@reports_app.command("generate")
def reports_generate(
    county: Annotated[str, typer.Option(help="6-digit county code")],
    period: Annotated[str, typer.Option(help="2026-11 (month), 2026-Q4 (quarter) or 2026 (year)")],
    out: Annotated[Path | None, typer.Option(help="also write the XLSX here")] = None,
) -> None:
    """Generate (or regenerate) a county report now."""
    from proctor.services import reports

    settings = get_settings()
    with unit_of_work(session_factory(engine_for(settings.database_url))) as uow:
        report = reports.generate(uow, county_code=county, period=period,
                                  policy=policy_for(settings), now=utcnow())
        data = bytes(report.xlsx)
    if out is not None:
        out.write_bytes(data)
    typer.echo(f"report {county} {period}: {len(data)} bytes" + (f", wrote {out}" if out else ""))
