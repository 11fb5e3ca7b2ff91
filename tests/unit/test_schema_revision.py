"""The schema's head revision is read from the migration files, without importing Alembic.

Importing Alembic cost every command about 0.15 s (docs/performance.md) to learn that the
schema was current; it is now imported only when a migration has to run. (On a database:
tests/integration/test_schema_current.py.)
"""

from __future__ import annotations

from pathlib import Path

from storage.migrate import VERSIONS, alembic_head, head_in, head_revision


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
