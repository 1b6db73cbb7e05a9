"""How a simulated board decides one learner record: pure functions over its registry entries.

Names compare case-, accent- and whitespace-insensitively; a date of birth compares as MM/DD.
A record without a date of birth (ABA, ABP, where it is optional) is not checked on it."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from pars_contracts.codes import ErrorDetail, error
from pars_contracts.events import LearnerRecordValidated, Physician


def fold(text: str | None) -> str:
    text = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode()
    return " ".join(text.split()).casefold()


def same_dob(a: str | None, b: str | None) -> bool:
    def parts(value: str | None) -> tuple[int, int] | None:
        try:
            month, day = (value or "").strip().split("/")[:2]
            return int(month), int(day)
        except ValueError:
            return None  # an unparseable date of birth matches nothing (seed: "Jun-70" -> 664)

    left = parts(a)
    return left is not None and left == parts(b)


@dataclass(frozen=True)
class Verdict:
    accepted: bool
    errors: tuple[ErrorDetail, ...] = ()


ACCEPT = Verdict(True)


def reject(code: int) -> Verdict:
    return Verdict(False, (error(code),))


def decide(record: LearnerRecordValidated, candidates: list[Physician]) -> Verdict:
    """`candidates`: the registry entries with the record's learner id (or NPI), or, for a
    record with no learner id (ABS), the entries with its last name."""
    if record.learner_id:
        matches = candidates
        if not matches:
            return reject(661)
        physician = matches[0]
    else:
        matches = [p for p in candidates if fold(p.last_name) == fold(record.last_name)
                   and fold(p.first_name) == fold(record.first_name)
                   and (record.date_of_birth is None or same_dob(p.date_of_birth, record.date_of_birth))]
        if len(matches) > 1:
            return reject(718)
        if not matches:
            return reject(661)
        physician = matches[0]
    if record.date_of_birth is not None and not same_dob(physician.date_of_birth, record.date_of_birth):
        return reject(664)
    if fold(physician.last_name) != fold(record.last_name) or fold(physician.first_name) != fold(record.first_name):
        return reject(665)
    if record.activity_id in physician.reported_elsewhere:
        return reject(709)
    return ACCEPT
