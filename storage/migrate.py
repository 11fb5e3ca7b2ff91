"""Alembic migrations, run programmatically (`syncbot db upgrade`).

Alembic itself is imported only when a migration has to run: every command checks the
schema's revision, and importing Alembic costs more than the rest of a query command
(docs/performance.md). The head revision is read from the migration files instead.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
VERSIONS = MIGRATIONS / "versions"
# The assignments Alembic's own revision template writes at the top of each migration.
_ASSIGNED = re.compile(
    r"^(?P<name>revision|down_revision)\s*(?::[^=]+)?=\s*(?P<value>.+?)\s*$", re.MULTILINE
)
_QUOTED = re.compile(r"""["']([^"']+)["']""")


def alembic_config(engine: Engine) -> Config:
    """An Alembic config bound to `engine`, with no ini file."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision`."""
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def alembic_head() -> str:
    """The newest migration's revision id, as Alembic itself works it out (slow to import)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS)).get_current_head() or ""


@cache
def head_revision() -> str:
    """The newest migration's revision id, read from the migration files without Alembic."""
    return head_in(VERSIONS) or alembic_head()


def head_in(folder: Path) -> str | None:
    """The one revision no migration in `folder` revises, or None if that is not clear.

    Anything this reading cannot settle (no migration, several heads, an assignment it
    cannot parse) is left to Alembic by returning None.
    """
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in folder.glob("*.py"):
        found = {m["name"]: m["value"] for m in _ASSIGNED.finditer(path.read_text("utf-8"))}
        if "revision" not in found:
            continue
        revision = _QUOTED.fullmatch(found["revision"])
        if revision is None or "down_revision" not in found:
            return None
        revisions.add(revision[1])
        revised.update(_QUOTED.findall(found["down_revision"]))
    heads = revisions - revised
    return heads.pop() if len(heads) == 1 else None


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None before any migration."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def ensure_schema(engine: Engine) -> None:
    """Upgrade the schema if it is behind (a fresh database file included)."""
    if current_revision(engine) != head_revision():
        upgrade(engine)
