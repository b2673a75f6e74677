"""Who may see what in the portal: a signed-in user's scope, as data and as SQL.

- admin: every institution; reviews; sees full ID numbers; manages dead letters; reads the audit log.
- county_reviewer: institutions whose county_code is one of theirs; reviews; full ID numbers
  (the county bureau verifies identities before the offline exam).
- institution_staff: their own institution; reads and exports, never reviews; ID numbers masked
  (their platform already holds them: the portal need not be one more place they leak from).
- auditor: every institution, read-only; ID numbers masked (oversight needs no identities).

Anything outside the scope is "not found" (404), never "forbidden": guessing ids reveals nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, select, true
from sqlalchemy.orm import InstrumentedAttribute

from proctor.domain.ids import mask_id_number
from proctor.storage.tables import Institution, User

ALL_INSTITUTIONS = frozenset({"admin", "auditor"})
REVIEWERS = frozenset({"admin", "county_reviewer"})
FULL_ID_ROLES = frozenset({"admin", "county_reviewer"})


@dataclass(frozen=True)
class Scope:
    user_id: int
    role: str
    county_codes: tuple[str, ...] = ()
    institution_id: int | None = None

    @classmethod
    def of(cls, user: User) -> Scope:
        return cls(user.id, user.role, tuple(user.county_codes or ()), user.institution_id)

    @property
    def can_review(self) -> bool:
        return self.role in REVIEWERS

    @property
    def sees_full_ids(self) -> bool:
        return self.role in FULL_ID_ROLES

    @property
    def manages_callbacks(self) -> bool:
        return self.role == "admin"

    @property
    def reads_audit(self) -> bool:
        return self.role in ("admin", "auditor")

    @property
    def sees_all(self) -> bool:
        return self.role in ALL_INSTITUTIONS

    def institution_ids(self) -> Select[int]:
        """The institutions in scope, as a subquery for `.in_(...)`."""
        stmt = select(Institution.id)
        if self.sees_all:
            return stmt
        if self.role == "county_reviewer":
            return stmt.where(Institution.county_code.in_(self.county_codes or ("-",)))
        if self.role == "institution_staff" and self.institution_id is not None:
            return stmt.where(Institution.id == self.institution_id)
        return stmt.where(Institution.id == -1)  # an unknown role sees nothing

    def covers(self, column: ColumnElement[int] | InstrumentedAttribute[int]) -> ColumnElement[bool]:
        """A WHERE clause: ``column`` (an institution id) is in scope."""
        if self.sees_all:
            return true()
        return column.in_(self.institution_ids())

    def covers_institution(self, inst: Institution) -> bool:
        if self.sees_all:
            return True
        if self.role == "county_reviewer":
            return inst.county_code in self.county_codes
        return self.role == "institution_staff" and inst.id == self.institution_id

    def id_number(self, number: str) -> str:
        """The ID number as this role may see it (the same rule in pages and exports)."""
        return number if self.sees_full_ids else mask_id_number(number)

    def label(self) -> str:
        if self.sees_all:
            return "全部县区"
        if self.role == "county_reviewer":
            return "、".join(self.county_codes)
        return ""
