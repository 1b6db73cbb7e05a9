"""Loads the boards' simulated registries from a seed file at start (tab-separated)."""

from __future__ import annotations

from collections import defaultdict
from importlib import resources
from pathlib import Path

import asyncpg

from pars_contracts.events import Physician

from . import store

COLUMNS = ["board", "learner_id", "id_type", "first_name", "last_name", "date_of_birth", "npi", "reported_elsewhere"]


def parse_registry(text: str) -> dict[str, list[Physician]]:
    by_board: dict[str, list[Physician]] = defaultdict(list)
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        cells = dict(zip(COLUMNS, (c.strip() for c in line.split("\t")), strict=False))
        by_board[cells.pop("board").upper()].append(Physician(
            learner_id=cells["learner_id"], id_type=cells["id_type"], first_name=cells["first_name"],
            last_name=cells["last_name"], date_of_birth=cells["date_of_birth"], npi=cells.get("npi") or None,
            reported_elsewhere=[a for a in (cells.get("reported_elsewhere") or "").split(",") if a]))
    return by_board


async def load_registry(pool: asyncpg.Pool, path: str | None) -> int:
    text = Path(path).read_text() if path else resources.files("pars_gateway").joinpath("registry_seed.tsv").read_text()
    count = 0
    async with pool.acquire() as conn, conn.transaction():
        for board_code, physicians in parse_registry(text).items():
            await store.add_physicians(conn, board_code, physicians)
            count += len(physicians)
    return count
