"""The board catalog of SPEC section 2, as data. Everything board-specific is decided from here."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Processing(StrEnum):
    DIRECT = "direct"  # decided at once: Accepted, or an immediate error (record not saved)
    WITHIN_A_DAY = "within_a_day"  # Submitted at once, decided by the board's schedule


class BoardKind(StrEnum):
    CERTIFYING = "certifying"
    STATE = "state"
    # Not a board: a program ACCME reports to for the FDA (docs/rems.md). Its records are accepted
    # at once, with no registry to match the learner against.
    PROGRAM = "program"


@dataclass(frozen=True)
class CreditType:
    name: str  # canonical spelling, as the seeds show it
    patient_safety: bool = False  # needs the activity to offer patient safety (680)
    practice_assessment: bool = False  # needs the activity to offer practice assessment (681)


@dataclass(frozen=True)
class Board:
    code: str
    name: str
    kind: BoardKind
    processing: Processing
    credit_types: tuple[CreditType, ...]
    dob_required: bool = True
    board_id_required: bool = True  # ABS: optional (718 on an ambiguous match)
    whole_points_only: bool = False  # ABP (673)
    one_completion_per_activity: bool = False  # ABP (710 on a second)
    one_completion_per_day: bool = False  # ABIM, ABA, ABS (717)
    default_credit_type: str | None = None  # state boards: AMA PRA Category 1 Credit

    @property
    def learner_id_types(self) -> tuple[str, ...]:
        """Accepted learner id types: the board's own code, NPI/LICENSE for state boards, NPI for a
        program (its learners need no board id: docs/rems.md)."""
        if self.kind is BoardKind.PROGRAM:
            return ("NPI",)
        return ("NPI", "LICENSE") if self.kind is BoardKind.STATE else (self.code,)

    def credit_type(self, value: str) -> CreditType | None:
        """The canonical credit type for `value` (case- and space-insensitive), or None."""
        return self._by_folded_name.get(" ".join(value.split()).casefold())

    @functools.cached_property
    def _by_folded_name(self) -> dict[str, CreditType]:
        # Looked up for every credit type of every row (twice in the validator): a dict, not a scan.
        return {t.name.casefold(): t for t in reversed(self.credit_types)}  # the first of a spelling wins


AMA = CreditType("AMA PRA Category 1 Credit")
REMS_CODE = "REMS"
PS = {"patient_safety": True}
PA = {"practice_assessment": True}

BOARDS: dict[str, Board] = {
    b.code: b
    for b in (
        Board("ABO", "American Board of Ophthalmology", BoardKind.CERTIFYING, Processing.DIRECT,
              (CreditType("ABO MOC Part II"), CreditType("ABO MOC Part IV", **PA),
               CreditType("ABO Patient Safety", **PS))),
        Board("ABOHNS", "American Board of Otolaryngology – Head and Neck Surgery",
              BoardKind.CERTIFYING, Processing.DIRECT,
              (CreditType("ABOHNS MOC Part II"), CreditType("ABOHNS Patient Safety", **PS))),
        Board("ABA", "American Board of Anesthesiology", BoardKind.CERTIFYING,
              Processing.WITHIN_A_DAY,
              (CreditType("ABA MOCA"), CreditType("ABA Patient Safety", **PS)),
              dob_required=False, one_completion_per_day=True),
        Board("ABIM", "American Board of Internal Medicine", BoardKind.CERTIFYING,
              Processing.WITHIN_A_DAY,
              (CreditType("ABIM Medical Knowledge"), CreditType("ABIM Practice Assessment", **PA),
               CreditType("ABIM Patient Safety", **PS)),
              one_completion_per_day=True),
        Board("ABPATH", "American Board of Pathology", BoardKind.CERTIFYING,
              Processing.WITHIN_A_DAY,
              (CreditType("ABPath MOC Part II"), CreditType("ABPath MOC Part IV", **PA))),
        Board("ABP", "American Board of Pediatrics", BoardKind.CERTIFYING, Processing.WITHIN_A_DAY,
              (CreditType("ABP MOC Part 2"), CreditType("ABP MOC Part 4", **PA)),
              dob_required=False, whole_points_only=True, one_completion_per_activity=True),
        Board("ABS", "American Board of Surgery", BoardKind.CERTIFYING, Processing.WITHIN_A_DAY,
              (CreditType("ABS Continuous Certification"), CreditType("ABS Patient Safety", **PS)),
              board_id_required=False, one_completion_per_day=True),
        Board("ME-MD", "Maine Board of Licensure in Medicine", BoardKind.STATE, Processing.DIRECT,
              (AMA, CreditType("Prescribing of Opioid Education")), default_credit_type=AMA.name),
        Board("ME-DO", "Maine Board of Osteopathic Licensure", BoardKind.STATE, Processing.DIRECT,
              (AMA, CreditType("Prescribing of Opioid Education")), default_credit_type=AMA.name),
        Board("NC", "North Carolina Medical Board", BoardKind.STATE, Processing.DIRECT,
              (AMA, CreditType("Controlled Substance")), default_credit_type=AMA.name),
        Board("TN", "Tennessee Board of Medical Examiners", BoardKind.STATE, Processing.DIRECT,
              (AMA, CreditType("Controlled Substance Prescribing")), default_credit_type=AMA.name),
        # Opioid Analgesic REMS (seed 001 lines 116, 230, 258-266; docs/rems.md): the completion
        # categories ACCME reports to the FDA; no board id and no date of birth.
        Board(REMS_CODE, "Opioid Analgesic REMS", BoardKind.PROGRAM, Processing.DIRECT,
              (CreditType("OA REMS Registered Prescriber"), CreditType("OA REMS Non-Prescriber")),
              dob_required=False, board_id_required=False),
    )
}


def board(code: str | None) -> Board | None:
    """The board for a code, case-insensitively ("ABPath" and "abpath" are ABPATH)."""
    return BOARDS.get((code or "").strip().upper())


# Codes the seed writes for more than one board: both Maine boards are "ME" (document 001,
# lines 82-83 and the activity summary at 116-117). A row's "ME" means the Maine board its
# activity is registered with.
ALIASES: dict[str, tuple[str, ...]] = {"ME": ("ME-MD", "ME-DO")}


def is_rems(code: str | None) -> bool:
    """Whether a row's board code names the Opioid Analgesic REMS program."""
    found = board(code)
    return found is not None and found.kind is BoardKind.PROGRAM


def alias_boards(code: str | None) -> tuple[str, ...]:
    """The boards a seed alias stands for ("ME": both Maine boards); () for any other code."""
    return ALIASES.get((code or "").strip().upper(), ())


def resolve_code(code: str | None, registered: Iterable[str]) -> str | None:
    """The canonical board code a row's code means on an activity registered with `registered`:
    an alias resolves to the one of its boards the activity registers; None when it registers
    none or several of them (the row's error). Any other code is returned as given."""
    meant = alias_boards(code)
    if not meant:
        return code
    found = {b.code for r in registered if (b := board(r)) is not None and b.code in meant}
    return found.pop() if len(found) == 1 else None


def learner_key_id(code: str | None, learner_id: str | None, npi: str | None) -> str | None:
    """The id that identifies a learner on a board: the learner id, or on a state board the NPI
    alone (seed 001 line 48: "state licensure number and/or NPI ... either ID")."""
    given = (learner_id or "").strip()
    if given:
        return given
    found = board(code)
    state = (found.kind is BoardKind.STATE) if found else bool(alias_boards(code))
    return ((npi or "").strip() or None) if state else None


def metric_label(code: str | None) -> str:
    """A board as a metric label: only codes of the catalog, so a provider's free text cannot add
    a series per value (labels live as long as the process)."""
    found = board(code)
    return found.code if found else "unknown"
