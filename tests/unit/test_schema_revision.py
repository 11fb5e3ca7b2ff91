"""The schema's head revision is read from the migration files, without importing Alembic.

Importing Alembic cost every command about 0.15 s (docs/performance.md) to learn that the
schema was current; it is now imported only when a migration has to run.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from storage.db import make_engine
from storage.migrate import VERSIONS, alembic_head, head_in, head_revision, upgrade


def test_the_head_read_from_the_files_is_alembics() -> None:
    assert head_revision() == head_in(VERSIONS) == alembic_head()


def migration(folder: Path, name: str, header: str) -> None:
    """A migration file with Alembic's header assignments."""
    (folder / f"{name}.py").write_text(f'"""{name}\n\nRevision ID: x\n"""\n\n{header}\n')


def test_head_in_follows_the_chain_and_leaves_the_unclear_to_alembic(tmp_path: Path) -> None:
    migration(tmp_path, "a", 'revision = "a1"\ndown_revision = None')
    migration(tmp_path, "b", 'revision: str = "b2"\ndown_revision: str | None = "a1"')
    (tmp_path / "__init__.py").write_text("")
    assert head_in(tmp_path) == "b2"
    migration(tmp_path, "c", "revision = 'c3'\ndown_revision = 'a1'")
    assert head_in(tmp_path) is None  # two heads: Alembic says what to do
    migration(tmp_path, "d", 'revision = "d4"\ndown_revision = ("b2", "c3")')
    assert head_in(tmp_path) == "d4"  # a merge
    migration(tmp_path, "e", "revision = make_id()\ndown_revision = 'd4'")
    assert head_in(tmp_path) is None
    assert head_in(tmp_path / "none") is None


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
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        upgrade(engine)
        with engine.connect() as conn:
            version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
        assert version == head_revision()
    finally:
        engine.dispose()
