"""The ledger budget (`ledger_budget`): calls spent per ledger company and UTC day, and pauses.

Repositories: each takes a transaction and never commits. `spend` is one conditional UPDATE
(`calls < budget`), so concurrent spenders in any process never exceed the budget: PostgreSQL
locks the row for the update, SQLite's write transaction holds its one write lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from storage.db import Tx
from storage.models import LedgerBudget


@dataclass(frozen=True)
class BudgetState:
    """A company's day: calls spent, and the latest pause still in force (None: none)."""

    calls: int
    paused_until: datetime | None


def _ensure_row(tx: Tx, scope: str, day: str) -> None:
    values = {"scope": scope, "day": day, "calls": 0, "paused_until": None}
    dialect = tx.get_bind().dialect.name
    maker = postgresql.insert if dialect == "postgresql" else sqlite.insert
    tx.execute(maker(LedgerBudget).values(**values).on_conflict_do_nothing())


def _pause_in_force(tx: Tx, scope: str, now: datetime) -> datetime | None:
    found = tx.execute(
        select(func.max(LedgerBudget.paused_until)).where(LedgerBudget.scope == scope)
    ).scalar_one_or_none()
    if found is None:
        return None
    if found.tzinfo is None:  # a max() may come back without the column's type
        found = found.replace(tzinfo=now.tzinfo)
    return found if found > now else None


def state(tx: Tx, scope: str, day: str, now: datetime) -> BudgetState:
    """The calls spent on `day` and the pause in force at `now`."""
    calls = tx.execute(
        select(LedgerBudget.calls).where(LedgerBudget.scope == scope, LedgerBudget.day == day)
    ).scalar_one_or_none()
    return BudgetState(calls or 0, _pause_in_force(tx, scope, now))


def spend(tx: Tx, scope: str, day: str, budget: int, now: datetime) -> BudgetState | None:
    """Spend one call of `day` unless the budget is spent or a pause is in force; None when
    spent, else the state that refused it."""
    paused = _pause_in_force(tx, scope, now)
    if paused is not None:
        return state(tx, scope, day, now)
    _ensure_row(tx, scope, day)
    done = (
        tx.connection()
        .execute(
            update(LedgerBudget)
            .where(
                LedgerBudget.scope == scope, LedgerBudget.day == day, LedgerBudget.calls < budget
            )
            .values(calls=LedgerBudget.calls + 1)
        )
        .rowcount
    )
    return None if done == 1 else state(tx, scope, day, now)


def pause(tx: Tx, scope: str, day: str, until: datetime) -> None:
    """Note a pause the ledger imposed (a daily limit answered), kept if a later one is known."""
    _ensure_row(tx, scope, day)
    row = tx.execute(
        select(LedgerBudget)
        .where(LedgerBudget.scope == scope, LedgerBudget.day == day)
        .execution_options(populate_existing=True)
    ).scalar_one()
    if row.paused_until is None or row.paused_until < until:
        row.paused_until = until
