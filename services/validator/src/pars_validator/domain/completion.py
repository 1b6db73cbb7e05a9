"""Checks of what the learner completed: date, points and credit types (631-681)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from pars_contracts.boards import Board, BoardKind
from pars_contracts.codes import ErrorDetail, error
from pars_contracts.events import ActivityRegistered, BoardRegistration
from pars_contracts.values import parse_completion_date, parse_points

_POINT_STEP = Decimal("0.25")


def check_completion_date(text: str | None, found: Board | None,
                          activity: ActivityRegistered | None, today: date,
                          errors: list[ErrorDetail]) -> date | None:
    if not (text or "").strip():
        errors.append(error(631))
        return None
    completed = parse_completion_date(text)
    if completed is None:
        errors.append(error(671))
        return None
    # State boards take completions after the activity's end date; certifying boards do not.
    after_end = (activity is not None and found is not None
                 and found.kind is BoardKind.CERTIFYING and completed > activity.end_date)
    if completed > today or after_end:
        errors.append(error(671))
    if activity is not None and completed < activity.start_date:
        errors.append(error(672))
    return completed


def check_points(text: str | None, found: Board | None, registration: BoardRegistration | None,
                 errors: list[ErrorDetail]) -> Decimal | None:
    if not (text or "").strip():
        errors.append(error(632))
        return None
    points = parse_points(text)
    whole_only = found is not None and found.whole_points_only
    if points is None or points <= 0 or (whole_only and points != points.to_integral_value()):
        errors.append(error(673))
        return None
    if points % _POINT_STEP != 0:
        errors.append(error(675))
    if registration is not None and points > registration.max_points:
        errors.append(error(674))
    return points


def given_credit_types(values: Iterable[str]) -> list[str]:
    """The non-empty credit types of a row (a tab-delimited row has six columns for them)."""
    return [" ".join(v.split()) for v in values if v and v.strip()]


def canonical_credit_types(found: Board | None, values: Iterable[str]) -> list[str]:
    """Credit types in the board's spelling (unknown ones as given). A state board's record always
    has its default (AMA PRA Category 1 Credit), first, besides any content-specific type given:
    "This will default to CME, however you may indicate if the learner also met requirements for
    any of the content-specific requirements" (seed 001 52)."""
    given = given_credit_types(values)
    if found is None:
        return given
    types = [known.name if (known := found.credit_type(v)) else v for v in given]
    default = found.default_credit_type
    if default and default.casefold() not in {t.casefold() for t in types}:
        types.insert(0, default)
    return types


def check_credit_types(values: list[str], found: Board | None,
                       registration: BoardRegistration | None,
                       errors: list[ErrorDetail]) -> list[str]:
    types = canonical_credit_types(found, values)
    if not types:
        errors.append(error(677))
    if found is None:
        return types
    offered = {known.name for name in (registration.credit_types if registration else [])
               if (known := found.credit_type(name))}
    seen: set[str] = set()
    for name in types:
        key = name.casefold()
        if key in seen:
            errors.append(error(678, name))
        seen.add(key)
        known = found.credit_type(name)
        if known is None:
            errors.append(error(676))
        elif registration is not None and known.name not in offered:
            code = 680 if known.patient_safety else 681 if known.practice_assessment else 676
            errors.append(error(code))
    return types
