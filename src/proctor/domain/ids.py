"""Resident identity numbers (公民身份号码, GB 11643-1999): validation and masking."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_FORMAT = re.compile(r"^[1-9]\d{5}(\d{4})(\d{2})(\d{2})\d{3}[\dX]$")
_COUNTY = re.compile(r"^[1-9]\d{5}$")


class InvalidIdNumber(ValueError):
    """Why an ID number was refused, in words a clerk understands."""


@dataclass(frozen=True, slots=True)
class ResidentId:
    number: str
    region: str
    birth_date: date
    sex: str  # "M" or "F" (odd / even sequence digit)


def check_digit(first17: str) -> str:
    """The 18th character that GB 11643 derives from the first 17 (ISO 7064 MOD 11-2)."""
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def parse_resident_id(raw: str, *, today: date) -> ResidentId:
    """Validate format, birth date (real, not in the future, not before 1900) and check digit."""
    number = raw.strip().upper()
    if len(number) != 18:
        raise InvalidIdNumber(f"must be 18 characters, got {len(number)}")
    match = _FORMAT.match(number)
    if match is None:
        raise InvalidIdNumber("must be 17 digits then a digit or X, and must not start with 0")
    year, month, day = (int(g) for g in match.groups())
    try:
        born = date(year, month, day)
    except ValueError:
        raise InvalidIdNumber(f"birth date {year:04d}-{month:02d}-{day:02d} does not exist") from None
    if born > today or year < 1900:
        raise InvalidIdNumber(f"birth date {born.isoformat()} is not plausible")
    expected = check_digit(number[:17])
    if number[17] != expected:
        raise InvalidIdNumber(f"check digit is {number[17]}, GB 11643 gives {expected}")
    sex = "M" if int(number[16]) % 2 else "F"
    return ResidentId(number=number, region=number[:6], birth_date=born, sex=sex)


def mask_id_number(number: str) -> str:
    """410***********123X: the first three and last four characters only."""
    if len(number) <= 7:
        return "*" * len(number)
    return number[:3] + "*" * (len(number) - 7) + number[-4:]


def is_county_code(code: str) -> bool:
    """A 6-digit administrative division code (行政区划代码) such as 410102."""
    return bool(_COUNTY.match(code))
