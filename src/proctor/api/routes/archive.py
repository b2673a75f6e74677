"""The learner's e-archive (电子档案), signed with the service's Ed25519 key."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from proctor.api.deps import NowDep, PlatformDep, SettingsDep, UowDep
from proctor.api.routes._util import ExtIdPath
from proctor.services import archive
from proctor.services.policies import policy_for

router = APIRouter(prefix="/v1", tags=["paperwork"])


@router.get("/archive/public-key", response_class=Response,
            responses={200: {"content": {"application/x-pem-file": {}}}})
def get_public_key(settings: SettingsDep) -> Response:
    """The PEM public key that verifies every e-archive signature (no login needed)."""
    archive.signing_key(settings)
    return Response(archive.public_key_path(settings).read_bytes(),
                    media_type="application/x-pem-file")


@router.get("/learners/{learner_id}/archive", response_class=Response,
            responses={200: {"content": {"application/json": {}, "application/pdf": {}}}})
def get_archive(learner_id: ExtIdPath, platform: PlatformDep, uow: UowDep, settings: SettingsDep,
                now: NowDep, format: Literal["json", "pdf"] = Query("json")) -> Response:
    """The learner's e-archive of this institution's trainings, as JSON or PDF; the detached
    Ed25519 signature (base64) is in the `X-Proctor-Signature` header."""
    record = archive.for_learner(uow.session, institution_id=platform.institution_id,
                                 learner_ext=learner_id, settings=settings,
                                 policy=policy_for(settings), now=now)
    data = archive.pdf_bytes(record, settings) if format == "pdf" else record.json_bytes()
    media = "application/pdf" if format == "pdf" else "application/json"
    return Response(data, media_type=media, headers={
        "X-Proctor-Signature": archive.sign(data, settings),
        "Content-Disposition": f'attachment; filename="archive-{learner_id}.{format}"'})
