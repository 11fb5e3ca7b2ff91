"""The line each `source_id` of an import file first appeared on, in bounded memory.

A file's reader must remember every id it has read to refuse a second one, and a dictionary of
a million ids takes over 100 MB. The newest ids stay in a dictionary; past `limit` they move to
a private temporary SQLite file (whose page cache is all the memory it takes), behind a fixed
bitmap of their hashes, so only an id that may be there is looked up in it.
"""

from __future__ import annotations

import sqlite3

BITS = 1 << 26  # 8 MB; with a million ids moved out, about 1.5% of new ids are looked up
LIMIT = 1 << 16  # ids kept in the dictionary (about 8 MB)


class SeenIds:
    """source_id -> first line, for one file; `close` it when the file is read."""

    def __init__(self, limit: int = LIMIT) -> None:
        self._recent: dict[str, int] = {}
        self._limit = limit
        self._older: sqlite3.Connection | None = None
        self._bits = bytearray()

    def first_line(self, source_id: str, line: int) -> int:
        """The line `source_id` first appeared on; `line` (now noted) if this is the first."""
        first = self._recent.get(source_id)
        if first is not None:
            return first
        if self._older is not None and self._maybe_older(source_id):
            row = self._older.execute(
                "SELECT line FROM seen WHERE source_id = ?", (source_id,)
            ).fetchone()
            if row is not None:
                return int(row[0])
        self._recent[source_id] = line
        if len(self._recent) >= self._limit:
            self._move_out()
        return line

    def close(self) -> None:
        """Drop the temporary file, if one was made."""
        if self._older is not None:
            self._older.close()
            self._older = None

    def _maybe_older(self, source_id: str) -> bool:
        bit = hash(source_id) & (BITS - 1)
        return bool(self._bits[bit >> 3] & (1 << (bit & 7)))

    def _move_out(self) -> None:
        if self._older is None:
            # "" names a private temporary file, deleted when the connection closes.
            self._older = sqlite3.connect("")
            self._older.execute("PRAGMA journal_mode=OFF")
            self._older.execute("PRAGMA synchronous=OFF")
            self._older.execute(
                "CREATE TABLE seen (source_id TEXT PRIMARY KEY, line INTEGER) WITHOUT ROWID"
            )
            self._bits = bytearray(BITS // 8)
        self._older.executemany("INSERT INTO seen VALUES (?, ?)", self._recent.items())
        bits = self._bits
        for source_id in self._recent:
            bit = hash(source_id) & (BITS - 1)
            bits[bit >> 3] |= 1 << (bit & 7)
        self._recent.clear()
