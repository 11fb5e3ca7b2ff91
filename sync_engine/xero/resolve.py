"""Contacts and accounts, found by `where` filters and cached; invoices found by number.

The adapter never creates a contact or an account (contract sections 3 and 4): when none fits,
the record fails `needs_attention` with a message saying what to set up in Xero. A contact is
found by `AccountNumber`, then by `Name`; a value holding `"` or `\\` has no documented escape,
so that step is skipped. Filters may ignore case: every match is checked again here. Threads
asking for the same contact or account at once share one call (`SingleFlight`); a failed call
is shared with them but never cached.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Any

from sync_engine.contract import Posting
from sync_engine.resolving import CachedResolver, Unresolved
from sync_engine.xero.api import Reply, XeroApi
from sync_engine.xero.messages import account_missing, contact_missing

ACCOUNT_TTL = 600.0
MAX_ENTITIES = 1000
MAX_FILTER_VALUE = 255
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class QueryFailed(Exception):
    """A read was answered with an error (its reading decides what the posting becomes)."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        super().__init__(f"Xero answered {reply.status}")


def _filterable(value: str) -> bool:
    return 0 < len(value) <= MAX_FILTER_VALUE and '"' not in value and "\\" not in value


def _same_name(a: object, b: str) -> bool:
    return isinstance(a, str) and a.strip().casefold() == b.strip().casefold()


class Resolver(CachedResolver[XeroApi]):
    """One tenant's contact, account and invoice reads, with their caches."""

    def _new_caches(self) -> None:
        self._contacts: dict[tuple[str, str], str] = {}
        self._accounts: dict[str, float] = {}

    def _list(self, resource: str, params: dict[str, str]) -> list[dict[str, Any]]:
        reply = self._api.get(f"/{resource}", params)
        found = reply.data.get(resource) if isinstance(reply.data, dict) else None
        if reply.status != 200 or not isinstance(found, list):
            raise QueryFailed(reply)
        return [e for e in found[:MAX_ENTITIES] if isinstance(e, dict)]

    def invoices(self, number: str) -> list[dict[str, Any]]:
        """The invoices Xero finds for an InvoiceNumber (its filter may ignore case)."""
        return self._list("Invoices", {"InvoiceNumbers": number, "page": "1"})

    # -- contacts ---------------------------------------------------------------------------

    def contact(self, posting: Posting) -> str:
        """The ContactID of the payee's one active contact (by AccountNumber, then Name)."""
        return self.resolved(
            ("contact", posting.payee_id),
            partial(self.cached_contact, posting.payee_id),
            partial(self._find_contact, posting),
            contact_missing(posting),
        )

    def _find_contact(self, posting: Posting) -> str | None:
        steps = []
        if len(posting.payee_id) <= 50:
            steps.append(("AccountNumber", posting.payee_id))
        steps.append(("Name", posting.payee_name.strip()))
        for field, value in steps:
            if not _filterable(value):
                continue
            found = self._list("Contacts", {"where": f'{field}=="{value}"'})
            fits = [c for c in found if _fits_contact(c, field, value)]
            if len(fits) == 1:
                contact_id = str(fits[0]["ContactID"])
                with self._lock:
                    self._contacts[(self._api.tenant_id, posting.payee_id)] = contact_id
                return contact_id
        return None

    def cached_contact(self, payee_id: str) -> str | None:
        """The ContactID cached for a payee, if any (no call)."""
        with self._lock:
            return self._contacts.get((self._api.tenant_id, payee_id))

    def forget_contact(self, payee_id: str) -> None:
        """Drop a cached ContactID (Xero refused a bill naming it)."""
        with self._lock:
            self._contacts.pop((self._api.tenant_id, payee_id), None)

    # -- accounts ---------------------------------------------------------------------------

    def account(self, posting: Posting) -> str:
        """The code of the one active, non-bank account the record names (checked in Xero)."""
        code = self.account_code(posting)
        if not code:
            raise Unresolved(
                f"No Xero account code is set for {posting.kind} records: give "
                f"{posting.source_id} an account code or set "
                f"XERO_ACCOUNT_{posting.kind.upper()}, then retry."
            )
        return self.resolved(
            ("account", code),
            partial(self._cached_account, code),
            partial(self._find_account, code),
            account_missing(code, posting.source_id),
        )

    def _cached_account(self, code: str) -> str | None:
        with self._lock:
            at = self._accounts.get(code)
        return code if at is not None and self._clock() - at < ACCOUNT_TTL else None

    def _find_account(self, code: str) -> str | None:
        if not _filterable(code):
            return None
        found = self._list("Accounts", {"where": f'Code=="{code}"'})
        fits = [
            a
            for a in found
            if a.get("Code") == code and a.get("Status") == "ACTIVE" and a.get("Type") != "BANK"
        ]
        if len(fits) != 1:
            return None
        with self._lock:
            self._accounts[code] = self._clock()
        return code

    def forget_accounts(self) -> None:
        """Drop cached accounts (Xero refused a bill naming one)."""
        with self._lock:
            self._accounts.clear()


def _fits_contact(contact: dict[str, Any], field: str, value: str) -> bool:
    contact_id = contact.get("ContactID")
    if contact.get("ContactStatus") != "ACTIVE" or not isinstance(contact_id, str):
        return False
    if not GUID.match(contact_id):
        return False  # only ContactIDs Xero could have made are ever sent
    if field == "AccountNumber":
        return contact.get("AccountNumber") == value
    return _same_name(contact.get("Name"), value)
