"""Learner Search's criteria (the API's query or the portal's form), checked into the store's filters."""

from __future__ import annotations

from datetime import date

from pars_contracts.boards import BoardKind, alias_boards
from pars_contracts.boards import board as catalog_board

from ..store.records import SearchFilters


class CriteriaError(ValueError):
    """The criteria cannot be searched with: the message says why (the API answers it with 422)."""


def search_filters(provider_id: str, *, last_name: str | None = None, activity_title: str | None = None,
                   submitted_from: date | None = None, submitted_to: date | None = None, board: str | None = None,
                   state_board: str | None = None, activity_id: str | None = None,
                   provider_activity_id: str | None = None, learner_id: str | None = None, id_type: str | None = None,
                   status: str | None = None, completed_from: date | None = None,
                   completed_to: date | None = None) -> SearchFilters:
    """The criteria as given, checked: CriteriaError when none of the required ones is given, or a
    board is unknown."""
    if not ((last_name or "").strip() or (activity_title or "").strip() or (submitted_from and submitted_to)):
        raise CriteriaError("Give at least one of: last_name, activity_title, or submitted_from and "
                            "submitted_to (the submission date range).")
    boards = [code for name, value, kind in
              (("board", board, BoardKind.CERTIFYING), ("state_board", state_board, BoardKind.STATE)) if value
              for code in _board_codes(name, value, kind)]
    return SearchFilters(
        provider_id, _blank(last_name), activity_title, submitted_from, submitted_to, boards or None,
        _blank(activity_id), _blank(provider_activity_id), _blank(learner_id), _blank(id_type), status,
        completed_from, completed_to)


def _blank(value: str | None) -> str | None:
    return (value or "").strip() or None


def _board_codes(name: str, value: str, kind: BoardKind) -> tuple[str, ...]:
    """The catalog codes a filter names: one board, or an alias's boards ("ME": both Maine boards)."""
    if kind is BoardKind.STATE and (meant := alias_boards(value)):
        return meant
    found = catalog_board(value)
    if found is None or found.kind is not kind:
        raise CriteriaError(f"Unknown {name.replace('_', ' ')} {value[:20]!r}.")
    return (found.code,)
