"""Message and record ids: time-ordered version-7 UUIDs, never repeated, not even across a fork (the
random bytes are read ahead in blocks, so a forked child must not reuse its parent's)."""

from __future__ import annotations

import os
import time
import uuid

from pars_contracts.envelope import new_id


def test_ids_are_version_7_uuids_and_never_repeat() -> None:
    ids = [new_id() for _ in range(50_000)]
    assert len(set(ids)) == len(ids)
    for text in ids[:1000]:
        parsed = uuid.UUID(text)
        assert parsed.version == 7 and parsed.variant == uuid.RFC_4122 and str(parsed) == text


def test_ids_carry_the_time_they_were_made_and_sort_by_it() -> None:
    """Keys made later sort later (to the millisecond): an index keyed by them grows at its end."""
    before = time.time_ns() // 1_000_000
    first = new_id()
    time.sleep(0.002)
    second = new_id()
    after = time.time_ns() // 1_000_000
    assert first < second
    assert before <= int(first.replace("-", "")[:12], 16) <= int(second.replace("-", "")[:12], 16) <= after


def test_a_forked_child_does_not_repeat_its_parents_next_ids() -> None:
    new_id()  # the parent has random bytes read ahead
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.write(write, ",".join(new_id() for _ in range(10)).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    child = set(os.read(read, 65536).decode().split(","))
    os.close(read)
    parent = {new_id() for _ in range(10)}
    assert len(child) == 10 and not child & parent
