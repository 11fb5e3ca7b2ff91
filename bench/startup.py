"""Start-up time of the command line: `syncbot --help`, each run a new process.

    .venv/bin/python -m bench.startup [--runs N]

Also times the help of two commands (each imports only click and bot.cli) and, for contrast,
the import of everything a real command loads (the engine, SQLAlchemy, pydantic, rich).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from typing import Any

from bench.common import SYNCBOT, machine, show_table

BOUND_MS = 500.0
HEAVY = "import bot.cli, bot.render, sync_engine.engine, rich.console"


def wall_ms(args: list[str]) -> float:
    """Milliseconds from starting `args` to its exit."""
    start = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return (time.perf_counter() - start) * 1000


def row(label: str, args: list[str], runs: int, bound: float | None) -> dict[str, Any]:
    """One table row: `runs` runs of `args` after one warm-up run."""
    wall_ms(args)  # the first run may compile bytecode and fill the file cache
    times = [wall_ms(args) for _ in range(runs)]
    return {
        "command": label,
        "runs": runs,
        "min ms": min(times),
        "median ms": statistics.median(times),
        "max ms": max(times),
        "bound ms": bound if bound is not None else "-",
        "median/bound": statistics.median(times) / bound if bound else "-",
    }


def main(argv: list[str]) -> None:
    """Time each command line and print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench.startup")
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args(argv)
    rows = [
        row("syncbot --help", [SYNCBOT, "--help"], args.runs, BOUND_MS),
        row("syncbot import --help", [SYNCBOT, "import", "--help"], args.runs, BOUND_MS),
        row("syncbot failed --help", [SYNCBOT, "failed", "--help"], args.runs, BOUND_MS),
        row("python -c 'import sys'", [sys.executable, "-c", "import sys"], args.runs, None),
        row(f"python -c '{HEAVY}'", [sys.executable, "-c", HEAVY], args.runs, None),
    ]
    show_table(f"Start-up, wall time per process ({machine()})", rows)


if __name__ == "__main__":
    main(sys.argv[1:])
