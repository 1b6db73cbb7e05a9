"""Grouped calls (pars_intake.grouped), as the group commit of web-service submissions uses them:
what arrives while one transaction runs is stored together in the next, each caller answered with its own result once
its transaction committed; a group the database refuses is tried one by one, so only the
submission at fault fails. With a fake transaction: what matters is which items each one held."""

from __future__ import annotations

import asyncio

import pytest

from pars_intake.grouped import Grouped


class Transactions:
    """Stores items, one list per transaction; refuses a transaction holding a "bad" item, as
    PostgreSQL refuses a NUL in a text column; holds the first one open until `release` is set."""

    def __init__(self) -> None:
        self.committed: list[list[str]] = []
        self.release = asyncio.Event()

    async def write(self, items: list[str]) -> list[str]:
        if not self.committed:
            await self.release.wait()
        if "bad" in items:
            raise ValueError("invalid byte sequence")
        self.committed.append(items)
        return [f"stored {item}" for item in items]


def test_submissions_that_arrive_during_a_transaction_share_the_next_one() -> None:
    async def go() -> tuple[list[str], list[list[str]], int]:
        db = Transactions()
        group = Grouped(db.write, max_size=100)
        first = asyncio.create_task(group("a"))
        await asyncio.sleep(0.01)  # "a" is being stored, alone: it waited for no company
        rest = [asyncio.create_task(group(item)) for item in ("b", "c", "d")]
        await asyncio.sleep(0.01)
        db.release.set()
        answers = await asyncio.gather(first, *rest)
        return answers, db.committed, group.groups

    answers, committed, transactions = asyncio.run(go())
    assert answers == ["stored a", "stored b", "stored c", "stored d"]
    assert committed == [["a"], ["b", "c", "d"]] and transactions == 2


def test_a_group_holds_at_most_its_size_in_rows() -> None:
    async def go() -> list[list[str]]:
        db = Transactions()
        group = Grouped(db.write, max_size=5, size=len)
        first = asyncio.create_task(group("x"))
        await asyncio.sleep(0.01)
        rest = [asyncio.create_task(group(item)) for item in ("aa", "bbb", "cccc", "d")]
        await asyncio.sleep(0.01)
        db.release.set()
        await asyncio.gather(first, *rest)
        return db.committed

    assert asyncio.run(go()) == [["x"], ["aa", "bbb"], ["cccc", "d"]]


def test_a_refused_group_is_tried_one_by_one_and_only_the_faulty_submission_fails() -> None:
    async def go() -> tuple[list[object], list[list[str]]]:
        db = Transactions()
        group = Grouped(db.write, max_size=100)
        first = asyncio.create_task(group("a"))
        await asyncio.sleep(0.01)
        rest = [asyncio.create_task(group(item)) for item in ("b", "bad", "c")]
        await asyncio.sleep(0.01)
        db.release.set()
        answers = await asyncio.gather(first, *rest, return_exceptions=True)
        return answers, db.committed

    answers, committed = asyncio.run(go())
    assert answers[:2] == ["stored a", "stored b"] and answers[3] == "stored c"
    assert isinstance(answers[2], ValueError)
    assert committed == [["a"], ["b"], ["c"]]  # "bad" stored nothing, and nothing twice


def test_a_caller_that_goes_away_while_waiting_is_left_out() -> None:
    async def go() -> list[list[str]]:
        db = Transactions()
        group = Grouped(db.write, max_size=100)
        first = asyncio.create_task(group("a"))
        await asyncio.sleep(0.01)
        gone, kept = asyncio.create_task(group("gone")), asyncio.create_task(group("kept"))
        await asyncio.sleep(0.01)
        gone.cancel()
        db.release.set()
        await asyncio.gather(first, kept)
        with pytest.raises(asyncio.CancelledError):
            await gone
        return db.committed

    assert asyncio.run(go()) == [["a"], ["kept"]]
