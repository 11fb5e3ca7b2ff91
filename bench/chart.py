"""Retry All throughput against concurrency and batch size, drawn to docs/retry-throughput.png.

python -m bench.chart [--db sqlite] [--latency-ms 20]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.common import show_table
from bench.retry_all import run

CONCURRENCY = (1, 2, 5, 10)
BATCH_SIZES = (1, 10, 30)


def measure(db: str, latency_ms: float) -> list[dict[str, object]]:
    """One Retry All per (batch size, concurrency), each sized to take a few seconds."""
    rows = []
    for batch in BATCH_SIZES:
        for concurrency in CONCURRENCY:
            records = min(6000, max(200, int(concurrency * batch / (latency_ms / 1000) * 3)))
            args = argparse.Namespace(
                records=records,
                batch_size=batch,
                concurrency=concurrency,
                latency_ms=latency_ms,
                rate_per_minute=0,
                sim_limits=True,
            )
            rows.append(run(args, db))
    return rows


def draw(rows: list[dict[str, object]], path: Path, title: str) -> None:
    """Records per second against concurrency, one line per batch size, with the bound dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5), dpi=110)
    for batch in BATCH_SIZES:
        mine = [r for r in rows if r["batch"] == batch]
        xs = [r["conc"] for r in mine]
        line = ax.plot(xs, [r["records/s"] for r in mine], marker="o", label=f"batch of {batch}")
        ax.plot(xs, [r["bound/s"] for r in mine], ls="--", color=line[0].get_color(), alpha=0.5)
        for r in mine:
            ax.annotate(
                r["ratio"],
                (r["conc"], r["records/s"]),
                textcoords="offset points",
                xytext=(4, 4),
                fontsize=8,
            )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(CONCURRENCY, [str(c) for c in CONCURRENCY])
    ax.set_xlabel("requests in flight (ACCOUNTING_GATEWAY_CONCURRENCY)")
    ax.set_ylabel("records retried per second")
    ax.set_title(title, fontsize=10)
    ax.legend(title="solid: measured; dashed: bound", fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)


def main() -> None:
    """Measure and draw."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", default="sqlite", choices=["sqlite", "postgres"])
    parser.add_argument("--latency-ms", type=float, default=20)
    parser.add_argument("--out", default="docs/retry-throughput.png")
    args = parser.parse_args()
    rows = measure(args.db, args.latency_ms)
    show_table("Retry All throughput", rows)
    title = f"Retry All on {args.db}, simulator at {args.latency_ms:g} ms a request"
    draw(rows, Path(args.out), title)
    print(f"chart written to {args.out}")


if __name__ == "__main__":
    main()
