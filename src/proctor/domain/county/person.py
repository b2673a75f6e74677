"""One person across institutions: a keyed hash of the resident ID number.

Institutions register the same person under their own learner ids; the county links them by
HMAC-SHA256(server key, normalised ID number). The hash reveals nothing without the key (an
unkeyed hash of an 18-character ID number with a birth date inside is brute-forced in minutes),
and the key never leaves the server's settings.
"""

from __future__ import annotations

import hashlib
import hmac


def normalise_id_number(number: str) -> str:
    return number.strip().upper()


def person_hash(id_number: str, key: bytes) -> str:
    """The person key (64 hex characters) of a resident ID number under the server's key."""
    if not key:
        raise ValueError("the person key must not be empty")
    return hmac.new(key, normalise_id_number(id_number).encode("ascii"), hashlib.sha256).hexdigest()
