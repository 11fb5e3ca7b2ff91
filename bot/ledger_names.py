"""The ledger's name as a reader sees it, in the bot's and the CLI's texts.

Every text that speaks of where records are posted says "gateway" for the HTTP accounting
gateway (and when the ledger is unknown), and the ledger's own name otherwise, so a finance
administrator whose organisation has no gateway reads "QuickBooks". JSON keys and values
never go through here.
"""

from __future__ import annotations

from sync_engine.results import LedgerView

GATEWAY = "gateway"
# How each ledger of `ACCOUNTING_LEDGER` is written in prose; a name not listed shows as it is.
DISPLAY_NAMES = {GATEWAY: GATEWAY, "quickbooks": "QuickBooks", "xero": "Xero"}


def ledger_name(view: LedgerView | None) -> str:
    """The ledger's display name: "gateway" when it is the gateway or unknown, else its own."""
    if view is None:
        return GATEWAY
    return DISPLAY_NAMES.get(view.name, view.name)


def the_ledger(view: LedgerView | None, accounting: bool = False) -> str:
    """The ledger inside a sentence: "the (accounting) gateway", or a proper name such as
    "QuickBooks" (which takes no article)."""
    name = ledger_name(view)
    if name != GATEWAY:
        return name
    return "the accounting gateway" if accounting else "the gateway"


def capital(text: str) -> str:
    """`text` with its first letter upper case (a proper name's other letters kept)."""
    return text[:1].upper() + text[1:]
