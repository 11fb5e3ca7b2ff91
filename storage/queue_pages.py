"""The failed queue's pages and counts, read from its partial indexes (migration 0002).

There is one index per filter (none, kind, error class, both), each holding only the queue and
ordered by what it filters on, then the record id. A page must read its index in that order and
stop after `limit` rows, and a count must read only the index; the planners need help to do so:

- SQLite, without statistics, prefers the index on (state, record_id) and sorts the whole queue,
  so each statement names its index (INDEXED BY). It also matches a partial index only to a
  query that repeats the index's condition with the same literals: `IN_FAILED_QUEUE_SQL`.
- PostgreSQL underestimates the queue (it multiplies the chances of its state and of an error
  being set), and may then walk the index of the whole queue filtering on the kind, reading all
  of it when the kind is rare. So there a filtered page's keyset is a row comparison ordered by
  the filtered columns too, which only the index made for that filter returns in order.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, Subquery, column, text
from sqlalchemy.orm import Session

from storage.models import IN_FAILED_QUEUE_SQL

_INDEXES = {
    (): "ix_sync_log_queue",
    ("kind",): "ix_sync_log_queue_kind",
    ("error_class",): "ix_sync_log_queue_class",
    ("kind", "error_class"): "ix_sync_log_queue_kind_class",
}


def page_query(
    session: Session, kind: str | None, error_class: str | None, after: int, limit: int
) -> Subquery:
    """The record ids (`record_id`) of one page of the failed queue, after the id `after`."""
    filters = _filters(kind, error_class)
    names = tuple(filters)
    if names and not _sqlite(session):
        columns = ", ".join(names)
        values = ", ".join(f":{name}" for name in names)
        keyset = f"({columns}, record_id) > ({values}, :after) AND ({columns}) <= ({values})"
        order = f"{columns}, record_id"
    else:
        keyset = "".join(f"{name} = :{name} AND " for name in names) + "record_id > :after"
        order = "record_id"
    query = text(
        f"SELECT record_id FROM sync_log{_hint(session, names)}"
        f" WHERE {IN_FAILED_QUEUE_SQL} AND {keyset} ORDER BY {order} LIMIT :limit"
    )
    params = filters | {"after": after, "limit": limit}
    return query.bindparams(**params).columns(column("record_id", Integer)).subquery("page")


def queue_count(session: Session, kind: str | None, error_class: str | None) -> int:
    """How many records the failed queue holds, of `kind` and `error_class` when given."""
    filters = _filters(kind, error_class)
    equal = "".join(f" AND {name} = :{name}" for name in filters)
    query = text(
        f"SELECT count(*) FROM sync_log{_hint(session, tuple(filters))}"
        f" WHERE {IN_FAILED_QUEUE_SQL}{equal}"
    )
    return int(session.execute(query, filters).scalar_one())


def _filters(kind: str | None, error_class: str | None) -> dict[str, Any]:
    given = {"kind": kind, "error_class": error_class}
    return {name: value for name, value in given.items() if value}


def _sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def _hint(session: Session, names: tuple[str, ...]) -> str:
    return f" INDEXED BY {_INDEXES[names]}" if _sqlite(session) else ""
