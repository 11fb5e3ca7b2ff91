"""The ids an import has read so far: first lines, kept in bounded memory."""

from __future__ import annotations

from contextlib import closing

from sync_engine.seen_ids import SeenIds


def test_a_new_id_is_noted_on_its_line_and_a_repeat_names_it() -> None:
    with closing(SeenIds()) as seen:
        assert seen.first_line("A", 3) == 3
        assert seen.first_line("B", 4) == 4
        assert seen.first_line("A", 9) == 3
        assert seen.first_line("A", 12) == 3


def test_ids_moved_out_of_memory_still_name_their_first_line() -> None:
    with closing(SeenIds(limit=10)) as seen:
        for n in range(1, 1001):
            assert seen.first_line(f"ID-{n}", n) == n
        assert len(seen._recent) < 10  # noqa: SLF001 - the bound is the point of the test
        for n in range(1, 1001):
            assert seen.first_line(f"ID-{n}", 5000 + n) == n
        assert seen.first_line("ID-new", 7000) == 7000
        assert seen.first_line("ID-new", 7001) == 7000
