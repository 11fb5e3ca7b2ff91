"""The doubles of the ledgers' other side, run from the command line: `syncbot gateway-sim`
(the accounting gateway's contract), `syncbot ledger-sim quickbooks` (QuickBooks Online) and
`syncbot ledger-sim xero` (Xero).

For tests, demos and benchmarks; registered on the `syncbot` group by bot/cli.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click

from bot.cli_support import fail


@click.command("gateway-sim")
@click.option("--port", type=click.IntRange(0, 65535), default=8900, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option(
    "--latency-ms", type=click.FloatRange(min=0), default=0.0, help="Added to every answer."
)
@click.option("--rate-per-minute", type=click.IntRange(min=0), default=0, help="0 = no limit.")
@click.option("--concurrency", type=click.IntRange(min=0), default=0, help="0 = no limit.")
@click.option("--token", default=None, help="Require this bearer token.")
@click.option(
    "--faults",
    "faults_file",
    type=click.Path(exists=True, dir_okay=False),
    help="JSON list of faults.",
)
def gateway_sim(
    port: int,
    host: str,
    latency_ms: float,
    rate_per_minute: int,
    concurrency: int,
    token: str | None,
    faults_file: str | None,
) -> None:
    """Run the accounting gateway simulator (the contract's other side) on PORT."""
    from sync_engine.gateway_sim import FaultPlan, SimConfig, serve_forever

    faults = FaultPlan()
    if faults_file:
        try:
            with open(faults_file, encoding="utf-8") as handle:
                faults = FaultPlan.from_json(json.load(handle))
        except ValueError as exc:
            fail(f"{faults_file}: {exc}")
    config = SimConfig(
        latency_seconds=latency_ms / 1000,
        rate_per_minute=rate_per_minute,
        concurrency=concurrency,
        token=token,
    )
    click.echo(f"gateway simulator on http://{host}:{port} (Ctrl-C stops it)", err=True)
    serve_forever(config, faults, host, port)


@click.group("ledger-sim")
def ledger_sim() -> None:
    """Run a double of a real ledger (its API and OAuth endpoints) for tests and demos."""


@ledger_sim.command("quickbooks")
@click.option("--port", type=click.IntRange(0, 65535), default=8901, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--latency-ms", type=click.FloatRange(0, 600_000), default=0.0)
@click.option("--access-lifetime", type=click.FloatRange(min=1), default=3600.0, show_default=True)
@click.option("--rotate-daily", is_flag=True, help="New refresh token at most once a day.")
@click.option("--requestid", type=click.Choice(["replay", "ignore", "refuse"]), default="replay")
@click.option("--realm-id", default="9130350000000001", show_default=True)
@click.option("--client-id", default="sim-client-id", show_default=True)
@click.option("--client-secret", default="sim-client-secret", help="Basic auth secret.")
@click.option("--faults", "faults_file", type=click.Path(exists=True, dir_okay=False))
def ledger_sim_quickbooks(
    port: int,
    host: str,
    latency_ms: float,
    access_lifetime: float,
    rotate_daily: bool,
    requestid: str,
    realm_id: str,
    client_id: str,
    client_secret: str,
    faults_file: str | None,
) -> None:
    """Run the QuickBooks Online double on PORT (admin endpoints under /_sim/)."""
    from sync_engine import serve_quickbooks_sim

    _serve_double(
        serve_quickbooks_sim,
        host,
        port,
        faults_file,
        latency_seconds=latency_ms / 1000,
        access_lifetime=access_lifetime,
        rotate_daily=rotate_daily,
        requestid_mode=requestid,
        client_id=client_id,
        client_secret=client_secret,
        realm_id=realm_id,
    )


@ledger_sim.command("xero")
@click.option("--port", type=click.IntRange(0, 65535), default=8902, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--latency-ms", type=click.FloatRange(0, 600_000), default=0.0)
@click.option("--access-lifetime", type=click.FloatRange(min=1), default=1800.0, show_default=True)
@click.option("--grace", type=click.FloatRange(min=0), default=1800.0, help="Refresh grace (s).")
@click.option("--daily-limit", type=click.IntRange(0, 1_000_000), default=5000, show_default=True)
@click.option("--key-window", type=click.FloatRange(0, 86_400), default=360.0, show_default=True)
@click.option("--client-id", default="sim-client-id", show_default=True)
@click.option("--client-secret", default="sim-client-secret", help="Basic auth secret.")
@click.option("--faults", "faults_file", type=click.Path(exists=True, dir_okay=False))
def ledger_sim_xero(
    port: int,
    host: str,
    latency_ms: float,
    access_lifetime: float,
    grace: float,
    daily_limit: int,
    key_window: float,
    client_id: str,
    client_secret: str,
    faults_file: str | None,
) -> None:
    """Run the Xero double on PORT (admin endpoints under /_sim/)."""
    from sync_engine import serve_xero_sim

    _serve_double(
        serve_xero_sim,
        host,
        port,
        faults_file,
        latency_seconds=latency_ms / 1000,
        access_lifetime=access_lifetime,
        grace_seconds=grace,
        daily_limit=daily_limit,
        key_window_seconds=key_window,
        client_id=client_id,
        client_secret=client_secret,
    )


def _serve_double(
    serve: Callable[..., None], host: str, port: int, faults_file: str | None, **options: Any
) -> None:
    # The fault file is read here, so that a bad one is one line and exit 2; the double prints
    # its URL and settings once its faults are read.
    faults: object = []
    if faults_file:
        try:
            with open(faults_file, encoding="utf-8") as handle:
                faults = json.load(handle)
        except ValueError as exc:
            fail(f"{faults_file}: {exc}")
    try:
        serve(host, port, faults=faults, **options)
    except ValueError as exc:
        fail(str(exc))
