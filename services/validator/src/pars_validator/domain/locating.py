"""Checks of the fields that say which record a row is about: action, activity and board."""

from __future__ import annotations

import re

from pars_contracts.boards import Board, alias_boards, board, resolve_code
from pars_contracts.codes import ErrorDetail, error
from pars_contracts.events import Action, ActivityRegistered, BoardRegistration

_ACTIVITY_ID = re.compile(r"[0-9]{9}")
_ACTIONS: dict[str, Action] = {"add": "Add", "delete": "Delete"}


def check_action(text: str | None, errors: list[ErrorDetail]) -> Action | None:
    value = (text or "").strip()
    if not value:
        errors.append(error(601))
        return None
    action = _ACTIONS.get(value.casefold())
    if action is None:
        errors.append(error(602))
    return action


def check_activity(activity_id: str | None, provider_id: str, activity: ActivityRegistered | None,
                   errors: list[ErrorDetail]) -> ActivityRegistered | None:
    """The row's activity when it is known and the provider's own. Another provider's activity
    is answered exactly like an unknown one, so its existence does not leak."""
    wanted = (activity_id or "").strip()
    if not wanted:
        errors.append(error(630))
        return None
    if (not _ACTIVITY_ID.fullmatch(wanted) or activity is None
            or activity.activity_id != wanted
            or activity.provider_id.strip() != provider_id.strip()):
        errors.append(error(690))
        return None
    return activity


def check_board(code: str | None, activity: ActivityRegistered | None,
                errors: list[ErrorDetail]) -> Board | None:
    """The row's board. The seed's "ME" (both Maine boards, document 001 lines 82-83) is the
    Maine board the activity is registered with: 670 when it registers neither, 713 saying why
    when it registers both. Without a known activity (690) an alias is no error of its own."""
    meant = alias_boards(code)
    if meant:
        if activity is None:
            return None
        resolved = resolve_code(code, [r.board for r in activity.registrations])
        if resolved is not None:
            return board(resolved)
        registered = [b for b in meant if any(board(r.board) is board(b) for r in activity.registrations)]
        if len(registered) > 1:
            errors.append(error(713, hint=(
                f"\"{(code or '').strip()}\" names {' and '.join(meant)}, and this "
                f"activity is registered with both: give {' or '.join(meant)}.")))
        else:
            errors.append(error(670))
        return None
    found = board(code)
    if found is None:
        errors.append(error(713))
    return found


def check_registration(activity: ActivityRegistered | None, found: Board | None,
                       errors: list[ErrorDetail]) -> BoardRegistration | None:
    """The activity's registration for the board (670 when it has none)."""
    if activity is None or found is None:
        return None
    registration = next((r for r in activity.registrations if board(r.board) is found), None)
    if registration is None:
        errors.append(error(670))
    return registration
