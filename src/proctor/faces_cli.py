"""``proctor faces …``: re-enrolment for a new face model, and an accuracy check on a folder
(mounted in proctor.cli). Both load the face models: run them where the vision worker runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from proctor.cli_support import domain_errors_exit
from proctor.config import get_settings

app = typer.Typer(help="faces: re-enrolment and accuracy", no_args_is_help=True)


@app.command("reenrol")
def reenrol_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Rebuild every learner's templates for the current models from the stored enrolment
    photos; learners whose photo no longer passes are listed (their old template is kept)."""
    from rich.progress import Progress

    from proctor.services.face_admin import learners_to_reenrol, reenrol
    from proctor.services.policies import policy_for
    from proctor.storage.blobs import blob_store_from_settings
    from proctor.storage.db import engine_for, session_factory, unit_of_work, utcnow

    settings = get_settings()
    with unit_of_work(session_factory(engine_for(settings.database_url))) as uow:
        _, todo = learners_to_reenrol(uow)
        with Progress(disable=as_json) as progress:
            task = progress.add_task("re-enrolling", total=len(todo))
            report = reenrol(uow, store=blob_store_from_settings(settings),
                             policy=policy_for(settings), models_dir=settings.models_dir,
                             now=utcnow(),
                             on_progress=lambda n, _t: progress.update(task, completed=n))
    if as_json:
        typer.echo(json.dumps(report.as_dict(), ensure_ascii=False))
        return
    typer.echo(f"learners with a template: {report.learners}; rebuilt {report.rebuilt}; "
               f"up to date {report.up_to_date}; not re-enrolled {len(report.failed)}")
    for f in report.failed:
        typer.echo(f"  {f.institution}\t{f.learner_id}\t{', '.join(f.reasons)}")


@app.command("evaluate")
def evaluate_cmd(
    folder: Annotated[Path, typer.Argument(help="one subfolder of photos per person")],
    as_json: Annotated[bool, typer.Option("--json", help="print the figures as JSON")] = False,
) -> None:
    """FNMR / FMR of the policy's matcher on a folder, through the service's pipeline."""
    from proctor.services.face_admin import evaluate_folder
    from proctor.services.policies import policy_for

    settings = get_settings()
    with domain_errors_exit():
        out = evaluate_folder(folder, policy=policy_for(settings), models_dir=settings.models_dir)
    if as_json:
        typer.echo(json.dumps(out, ensure_ascii=False))
        return
    for key in ("people", "photos", "enrolled", "refused", "matcher", "genuine_pairs",
                "impostor_pairs", "fnmr", "fmr", "threshold", "threshold_fmr_0_1pct"):
        typer.echo(f"{key}: {out[key]}")
    for f in out["refused_files"]:
        typer.echo(f"  refused {f['file']}: {', '.join(f['reasons'])}")


@app.command("enrol-reviewed")
def enrol_reviewed_cmd(
    institution: Annotated[str, typer.Argument(help="the institution's name")],
    learner_id: Annotated[str, typer.Argument(help="the platform's learner id")],
    photo: Annotated[Path, typer.Argument(help="JPEG/PNG the staff member checked")],
    reviewer: Annotated[str, typer.Option("--reviewer", help="who checked the photo against "
                                          "the person (name or e-mail, kept on record)")],
) -> None:
    """Enrol a photo institution staff reviewed in person (source `staff_reviewed`): the
    alternative to an enrolment liveness burst. The same face checks and 1:N search run."""
    from proctor.services import faces
    from proctor.services.face_checks import process_enrolment
    from proctor.services.policies import policy_for
    from proctor.storage.blobs import blob_store_from_settings
    from proctor.storage.db import engine_for, session_factory, unit_of_work, utcnow

    if not reviewer.strip():
        raise typer.BadParameter("--reviewer must name who reviewed the photo")
    if not photo.is_file():
        raise typer.BadParameter(f"no such file: {photo}")
    settings = get_settings()
    store = blob_store_from_settings(settings)
    with domain_errors_exit(), \
            unit_of_work(session_factory(engine_for(settings.database_url))) as uow:
        inst = faces.institution_named(uow, institution)
        now = utcnow()
        row = faces.submit_enrolment(uow, institution_id=inst.id, learner_ext_id=learner_id,
                                     data=photo.read_bytes(), store=store, now=now,
                                     policy=policy_for(settings), reviewed_by=reviewer)
        process_enrolment(uow, enrolment_id=row.id, store=store, policy=policy_for(settings),
                          models_dir=settings.models_dir, now=now)
        status, reasons, sid = row.status, list(row.reasons), row.id
    typer.echo(f"{learner_id}: {status} (staff_reviewed, submission {sid})"
               + (f": {', '.join(reasons)}" if reasons else ""))
    if status == "rejected":
        raise typer.Exit(1)
