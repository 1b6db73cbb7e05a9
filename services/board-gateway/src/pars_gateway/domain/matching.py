"""How a simulated board decides one learner record: pure functions over its registry entries.

Names compare case-, accent- and whitespace-insensitively; a date of birth compares as MM/DD.
A record without a date of birth (ABA, ABP, where it is optional) is not checked on it. State
boards know a physician by license number or NPI: a record's learner id may be either, and a
record may carry an NPI beside its license. The Maine boards do not compare the date of birth
(`DOB_NOT_MATCHED`)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Protocol

from pars_contracts.codes import ErrorDetail, error
from pars_contracts.events import Physician
from pars_contracts.values import parse_dob

# Word processors and Excel turn O'Keeffe into O’Keeffe; the board knows one physician.
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u00b4": "'"})


class Identity(Protocol):
    """What a board matches on: a learner record, or a learner-match question (no activity)."""

    @property
    def learner_id(self) -> str | None: ...
    @property
    def npi(self) -> str | None: ...
    @property
    def first_name(self) -> str: ...
    @property
    def last_name(self) -> str: ...
    @property
    def date_of_birth(self) -> str | None: ...
    @property
    def activity_id(self) -> str | None: ...


class RegistryEntry(Physician):
    """A physician as the simulated board knows them. `processing_error`: the board cannot
    process this physician's records (998), as the seed shows for Test9 ("LEARNER RECORD ERROR")."""

    processing_error: bool = False
    # The gateway's opaque id of this physician (never their board id or DOB): what learner match
    # and the refusal throttle count wrong answers on, whatever id or spelling named the physician.
    match_key: str | None = None


def fold(text: str | None) -> str:
    """Compares names: accents (combining marks) dropped, case folded, spaces collapsed. Letters
    without a decomposition (Ø, ß, 李) are kept, so two different non-Latin names never match."""
    text = (text or "").translate(_APOSTROPHES)
    if text.isascii():  # most names: NFKD leaves ASCII as it is, and it has no combining marks
        return " ".join(text.split()).casefold()
    return _fold_unicode(text)


def _fold_unicode(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.split()).casefold()


def id_key(value: str | None) -> str:
    return "".join((value or "").split()).upper()


def same_dob(registry: str | None, given: str | None) -> bool:
    """An unreadable date of birth (the seed's Excel-mangled "Jun-70") matches nothing: 664."""
    found = parse_dob(given)
    return found is not None and found == parse_dob(registry)


@dataclass(frozen=True)
class Verdict:
    accepted: bool
    errors: tuple[ErrorDetail, ...] = ()
    # The physician the board resolved the record to (`physician_key`), None when it knows none:
    # how the gateway throttles answers on one physician (domain/throttle.py). Not part of the verdict.
    physician: str | None = field(default=None, compare=False)


ACCEPT = Verdict(True)

# The seed's Maine example (001 529-530): one license, MD9966, two records of one day with dates of
# birth 11/10 and 12/7, both ACCEPTED by the Maine board, which can only be if Maine matches a
# licensee on license and name alone; North Carolina does compare it (001 377: 664).
DOB_NOT_MATCHED = frozenset({"ME-MD", "ME-DO"})


def reject(code: int) -> Verdict:
    return Verdict(False, (error(code),))


def identified(record: Identity, candidates: list[RegistryEntry]) -> list[RegistryEntry]:
    """The entries the record's ids name: its learner id (board id, license or NPI) first, then
    the NPI it carries beside a license."""
    for wanted in (id_key(record.learner_id), id_key(record.npi)):
        if wanted:
            found = [p for p in candidates if id_key(p.learner_id) == wanted or id_key(p.npi) == wanted]
            if found:
                return found
    return []


def namesakes(record: Identity, candidates: list[RegistryEntry]) -> list[RegistryEntry]:
    """The entries with the record's name, as the board compares names (ABS looks learners up so)."""
    return [p for p in candidates if fold(p.last_name) == fold(record.last_name)
            and fold(p.first_name) == fold(record.first_name)]


def physician_key(record: Identity, candidates: list[RegistryEntry]) -> str | None:
    """The opaque key of the physician the board resolves the record to, whether or not the date
    of birth and name then match: by learner id or NPI (a junk learner id beside a real NPI names
    the NPI's physician), or for a board without ids by the name (accents and case folded), the
    first of the namesakes. None when the record names no physician the board knows."""
    if record.learner_id:
        found = identified(record, candidates)
    else:
        found = sorted(namesakes(record, candidates), key=lambda p: p.match_key or "")
    return found[0].match_key if found else None


def decide(record: Identity, candidates: list[RegistryEntry], board: str | None = None) -> Verdict:
    """`candidates`: the board's entries sharing the record's learner id, NPI or last name;
    `board`: the deciding board's code (a board of `DOB_NOT_MATCHED` skips the 664 check)."""
    if record.learner_id:
        matches = identified(record, candidates)
    else:  # ABS: no board id, so the board looks the learner up by name and date of birth
        matches = [p for p in namesakes(record, candidates)
                   if record.date_of_birth is None or same_dob(p.date_of_birth, record.date_of_birth)]
        if len(matches) > 1:
            return reject(718)
    if not matches:
        return reject(661)
    physician = matches[0]
    if (board not in DOB_NOT_MATCHED and record.date_of_birth is not None
            and not same_dob(physician.date_of_birth, record.date_of_birth)):
        return reject(664)
    if fold(physician.last_name) != fold(record.last_name) or fold(physician.first_name) != fold(record.first_name):
        return reject(665)
    if record.activity_id in physician.reported_elsewhere:
        return reject(709)
    if physician.processing_error:
        return reject(998)
    return ACCEPT
