"""The Xero contract's example bill (section 2) as it goes on the wire: the body both the unit
tests (tests/unit/test_xero_invoices.py) and the adapter's tests against the double
(tests/integration/test_xero_ledger.py) expect for the reimbursement RMB-2026-0142.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any


def example_body(contact_id: str) -> dict[str, Any]:
    """The request body for RMB-2026-0142 (USD 42.50 for Jane Doe, account 6100), read with
    `parse_float=Decimal`; `contact_id`: the ContactID the payee resolved to."""
    return {
        "Invoices": [
            {
                "Type": "ACCPAY",
                "Contact": {"ContactID": contact_id},
                "Date": "2026-11-20",
                "DueDate": "2026-11-20",
                "InvoiceNumber": "RMB-2026-0142",
                "CurrencyCode": "USD",
                "Status": "AUTHORISED",
                "LineAmountTypes": "NoTax",
                "LineItems": [
                    {
                        "Description": "Mileage, food bank drive 2026-11-14 | reimbursement"
                        " RMB-2026-0142 approved 2026-11-20 by Finance lead",
                        "Quantity": 1,
                        "UnitAmount": Decimal("42.50"),
                        "AccountCode": "6100",
                    }
                ],
            }
        ]
    }
