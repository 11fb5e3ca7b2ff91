"""Keys for new records, made a chunk at a time."""

from __future__ import annotations

import uuid

from sync_engine.records import new_idempotency_keys


def test_new_keys_are_distinct_time_ordered_uuids() -> None:
    keys = new_idempotency_keys(2000)

    assert keys == sorted(keys) and len(set(keys)) == 2000
    ids = [uuid.UUID(key.removeprefix("sb-")) for key in keys]
    assert all(u.version == 7 and u.variant == uuid.RFC_4122 for u in ids)
    assert all(key == f"sb-{u}" for key, u in zip(keys, ids, strict=True))
