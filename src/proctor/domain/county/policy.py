"""The county's thresholds: the `[county]` table of the policy file (config/policies/*.toml).

Like the rest of the policy, every key must be present and unknown keys are refused, so a typo
never silently falls back to a default.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from proctor.domain.policy import PolicyError


@dataclass(frozen=True, slots=True)
class CountyPolicy:
    # local time of the county (night window, "per day")
    utc_offset_hours: float
    # same person, two institutions at once
    person_overlap_min_s: float
    # two subsidised classes at once: a class counts as open this long after its start unless an
    # exam closed it earlier
    class_open_days: int
    # one device id / fingerprint carrying several people
    device_overlap_min_persons: int
    device_overlap_min_s: float
    device_day_max_persons: int
    # one IP /24 carrying a room of people on few devices (a 代学 room, not a lab)
    ip_overlap_min_persons: int
    ip_min_persons_per_device: float
    # telemetry too regular for a person
    heartbeat_min_count: int
    heartbeat_min_jitter_ms: float
    identical_min_events: int
    # a whole class at the same minutes
    lockstep_tolerance_s: float
    lockstep_min_persons: int
    lockstep_min_share: float
    # through the night
    night_start_hour: int
    night_end_hour: int
    night_min_s: float
    # same face under two ID numbers (from the faces 1:N search)
    face_max_distance: float

    def local_offset_s(self) -> float:
        return self.utc_offset_hours * 3600.0


def county_policy_from_mapping(raw: dict[str, Any], *, source: str = "<mapping>") -> CountyPolicy:
    table = raw.get("county")
    if not isinstance(table, dict):
        raise PolicyError(f"{source}: missing table [county]")
    flat: dict[str, Any] = {}
    for value in table.values():
        if not isinstance(value, dict):
            raise PolicyError(f"{source}: [county] holds sub-tables only ([county.person], ...)")
        flat.update(value)
    wanted = {f.name: str(f.type) for f in fields(CountyPolicy)}
    problems = [f"unknown key county.*.{k}" for k in sorted(flat.keys() - wanted.keys())]
    problems += [f"missing key county.*.{k}" for k in sorted(wanted.keys() - flat.keys())]
    values: dict[str, Any] = {}
    for name, type_name in wanted.items():
        if name not in flat:
            continue
        value = flat[name]
        if isinstance(value, bool) or not isinstance(value, int | float):
            problems.append(f"county.*.{name} must be a number")
        elif type_name == "int" and not isinstance(value, int):
            problems.append(f"county.*.{name} must be an integer")
        elif value < 0 and name != "utc_offset_hours":
            problems.append(f"county.*.{name} must not be negative")
        else:
            values[name] = float(value) if type_name == "float" else value
    if not problems:
        if not 0 <= values["night_start_hour"] < 24 or not 0 < values["night_end_hour"] <= 24:
            problems.append("county.night hours must be within a day")
        if not 0 < values["lockstep_min_share"] <= 1:
            problems.append("county.lockstep_min_share must be in (0, 1]")
        for name in ("device_overlap_min_persons", "ip_overlap_min_persons", "lockstep_min_persons"):
            if values[name] < 2:
                problems.append(f"county.{name} must be at least 2 (a person alone is no crowd)")
    if problems:
        raise PolicyError(f"{source}: " + "; ".join(problems))
    return CountyPolicy(**values)
