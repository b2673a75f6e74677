"""The server's person key: settings.person_key, or one generated once and kept in var/person_key."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from proctor.config import PROJECT_ROOT, Settings
from proctor.domain.county.person import person_hash

KEY_FILE = PROJECT_ROOT / "var" / "person_key"


def person_key(settings: Settings, path: Path = KEY_FILE) -> bytes:
    if settings.person_key:
        return settings.person_key.encode()
    try:
        return path.read_text().strip().encode()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, key.encode())
    except BaseException:
        os.close(fd)
        raise
    os.close(fd)
    return key.encode()


def hash_id_number(id_number: str, settings: Settings) -> str:
    return person_hash(id_number, person_key(settings))
