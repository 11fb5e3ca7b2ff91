"""A current schema is checked without importing Alembic; upgrading is still Alembic's.

Importing Alembic cost every command about 0.15 s (docs/performance.md) to learn that the
schema was current; it is now imported only when a migration has to run. (Reading the head
revision from the migration files, without a database: tests/unit/test_schema_revision.py.)
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from storage.migrate import head_revision, upgrade
from tests.conftest import open_database

CHECK = """
import sys
from storage.db import make_engine
from storage.migrate import current_revision, ensure_schema, head_revision
engine = make_engine(sys.argv[1])
ensure_schema(engine)
assert current_revision(engine) == head_revision(), current_revision(engine)
print("alembic" in sys.modules)
"""


def imports_alembic(database_url: str) -> bool:
    """Whether `ensure_schema` on `database_url`, in a new process, imported Alembic."""
    ran = subprocess.run(
        [sys.executable, "-c", CHECK, database_url], capture_output=True, text=True
    )
    assert ran.returncode == 0, ran.stderr
    return {"True\n": True, "False\n": False}[ran.stdout]


@pytest.mark.timeout(120)
def test_a_current_schema_is_checked_without_alembic(database_url: str) -> None:
    assert imports_alembic(database_url)  # a fresh database is migrated by Alembic
    assert not imports_alembic(database_url)  # then it is current: Alembic stays unloaded


def test_upgrade_is_still_alembics(tmp_path: Path) -> None:
    with open_database(f"sqlite:///{tmp_path / 'x.db'}", migrate=False) as database:
        upgrade(database.engine)
        with database.reading() as session:
            version = session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    assert version == head_revision()
