"""Message and record ids: random version-4 UUIDs, never repeated, not even across a fork (the
random bytes are read ahead in blocks, so a forked child must not reuse its parent's)."""

from __future__ import annotations

import os
import uuid

from pars_contracts.envelope import new_id


def test_ids_are_version_4_uuids_and_never_repeat() -> None:
    ids = [new_id() for _ in range(50_000)]
    assert len(set(ids)) == len(ids)
    for text in ids[:1000]:
        parsed = uuid.UUID(text)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122 and str(parsed) == text


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
