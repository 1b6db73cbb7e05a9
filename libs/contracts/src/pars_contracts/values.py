"""Parsers for the values a learner record row carries as text, shared by intake and validator.

Every parser is total: any string (or None) gives a value or None, never an exception."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

# [0-9] rather than \d: \d also matches other scripts' digits, which no provider means.
_US_DATE = re.compile(r"([0-9]{1,2})([/-])([0-9]{1,2})\2([0-9]{4})")
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_ISO_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.+\-Z]+")
_MONTH_DAY = re.compile(r"([0-9]{1,2})([/-])([0-9]{1,2})(?:\2[0-9]{4})?")
_DAY_NAME = re.compile(r"([0-9]{1,2})[-\s]+([a-z]+)\.?")
_NAME_DAY = re.compile(r"([a-z]+)\.?[-\s]+([0-9]{1,2})")
_POINTS = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)")
_MAX_POINT_DIGITS = 20  # keeps later arithmetic exact in the default 28-digit Decimal context

_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december")
_MONTH_NUMBERS = {name: i for i, name in enumerate(_MONTHS, 1)} | {
    name[:3]: i for i, name in enumerate(_MONTHS, 1)} | {"sept": 9}
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # a birthday may be 02/29

DERIVED_CREDIT_ID_PREFIX = "ccid:pars.derived:"


def _real_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def parse_completion_date(text: str | None) -> date | None:
    """A completion date: MM/DD/YYYY, M-D-YYYY, ISO YYYY-MM-DD or an ISO date-time (its date)."""
    value = (text or "").strip()
    if m := _US_DATE.fullmatch(value):
        return _real_date(int(m[4]), int(m[1]), int(m[3]))
    if m := _ISO_DATE.fullmatch(value):
        return _real_date(int(m[1]), int(m[2]), int(m[3]))
    if _ISO_DATETIME.fullmatch(value):
        try:
            return datetime.fromisoformat(value).date()
        except ValueError:
            return None
    return None


def _month_day(month: int, day: int) -> str | None:
    if 1 <= month <= 12 and 1 <= day <= _DAYS_IN_MONTH[month - 1]:
        return f"{month:02d}/{day:02d}"
    return None


def parse_dob(text: str | None) -> str | None:
    """A date of birth as canonical MM/DD, from MM/DD, M-D, MM/DD/YYYY or the month-name forms
    Excel makes of a month and day (1-Oct, Oct-1, October 1). None when invalid or ambiguous:
    Excel's month-year form (Jun-70) names no day."""
    value = " ".join((text or "").split()).casefold()
    if m := _MONTH_DAY.fullmatch(value):
        return _month_day(int(m[1]), int(m[3]))
    if m := _DAY_NAME.fullmatch(value):
        month, day = _MONTH_NUMBERS.get(m[2]), int(m[1])
    elif m := _NAME_DAY.fullmatch(value):
        month, day = _MONTH_NUMBERS.get(m[1]), int(m[2])
    else:
        return None
    return _month_day(month, day) if month else None


def parse_points(text: str | None) -> Decimal | None:
    """A plain decimal number of points (3.5, .25, 12.00); no exponent, separators or NaN."""
    value = (text or "").strip()
    if not _POINTS.fullmatch(value) or sum(c.isdigit() for c in value) > _MAX_POINT_DIGITS:
        return None
    try:
        return Decimal(value)
    except InvalidOperation:  # unreachable after the pattern; kept so the parser stays total
        return None


def normalize_name(text: str | None) -> str:
    """A name for comparison: accents stripped, case folded, whitespace collapsed."""
    if text is None or text.isascii():  # nothing to decompose (most names): the same result, sooner
        return " ".join((text or "").casefold().split())
    decomposed = unicodedata.normalize("NFKD", text or "")
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())


def _canonical_number(value: Decimal) -> str:
    # Exact, unlike Decimal.normalize(), which rounds to the context's precision.
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if value == 0 else text


def derive_credit_id(provider_id: str, activity_id: str, board: str, learner_id: str,
                     completion_date: date, credits: Decimal, credit_types: list[str], *,
                     first_name: str | None = None, last_name: str | None = None,
                     date_of_birth: str | None = None) -> str:
    """The credit id of a row that carries none (web form, tab-delimited file).

    Equivalent rows give the same id (4 and 4.00 points, credit types in any case or order,
    names in any case or accents, 1-Oct and 10/01), so the same row uploaded twice is a
    duplicate and a Delete with "the same information as ... originally" (seed 001 line 559)
    finds the Add it repeats. The learner's name and date of birth are part of it: the seed's
    two accepted Traci Tester records of one day differ only in date of birth (lines 529-530)."""
    canonical = json.dumps([
        provider_id.strip(),
        activity_id.strip(),
        board.strip().upper(),
        learner_id.strip(),
        completion_date.isoformat(),
        _canonical_number(credits),
        sorted(" ".join(t.split()).casefold() for t in credit_types),
        normalize_name(first_name),
        normalize_name(last_name),
        parse_dob(date_of_birth) or normalize_name(date_of_birth),
    ])
    return DERIVED_CREDIT_ID_PREFIX + hashlib.sha256(canonical.encode()).hexdigest()[:32]
