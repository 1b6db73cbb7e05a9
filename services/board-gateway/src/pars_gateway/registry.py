"""Loads the boards' simulated registries from a seed file at start (tab-separated).

Columns: board, learner id, id type, first name, last name, date of birth (MM/DD), then optional
NPI, activities already reported to the board outside PARS (comma-separated: 709), and a board
error (998: the board cannot process this physician's records). Lines starting with # are notes.
Loading is idempotent: an entry already there is replaced."""

from __future__ import annotations

from collections import defaultdict
from importlib import resources
from pathlib import Path

import asyncpg

from . import store
from .domain.matching import RegistryEntry

COLUMNS = ["board", "learner_id", "id_type", "first_name", "last_name", "date_of_birth", "npi",
           "reported_elsewhere", "board_error"]


def parse_registry(text: str) -> dict[str, list[RegistryEntry]]:
    by_board: dict[str, list[RegistryEntry]] = defaultdict(list)
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        cells = dict(zip(COLUMNS, (c.strip() for c in line.split("\t")), strict=False))
        if len(cells) < 6 or cells.get("board_error") not in (None, "", "998"):
            raise ValueError(f"registry line {number}: expected 6 to 9 tab-separated columns, board error 998")
        by_board[cells["board"].upper()].append(RegistryEntry(
            learner_id=cells["learner_id"], id_type=cells["id_type"], first_name=cells["first_name"],
            last_name=cells["last_name"], date_of_birth=cells["date_of_birth"], npi=cells.get("npi") or None,
            reported_elsewhere=[a.strip() for a in (cells.get("reported_elsewhere") or "").split(",") if a.strip()],
            processing_error=cells.get("board_error") == "998"))
    return by_board


def seed_text(path: str | None) -> str:
    if path:
        return Path(path).read_text(encoding="utf-8")
    return resources.files("pars_gateway").joinpath("registry_seed.tsv").read_text(encoding="utf-8")


async def load_registry(pool: asyncpg.Pool, path: str | None) -> int:
    count = 0
    async with pool.acquire() as conn, conn.transaction():
        for board_code, physicians in parse_registry(seed_text(path)).items():
            await store.add_physicians(conn, board_code, physicians)
            count += len(physicians)
    return count
