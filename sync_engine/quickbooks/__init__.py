"""The QuickBooks Online adapter behind the ledger port (`ACCOUNTING_LEDGER=quickbooks`).

The subset of Intuit's API it uses is summed up in docs/architecture.md. `api` speaks HTTP
(tokens, limits, bounded reads), `bills` writes a record as a Bill, `resolve` finds vendors and
accounts, `faults` reads Intuit's errors into classes and the admin's messages, and `adapter` is
the `Ledger` (posting, batches, settling uncertain writes by lookup).
"""
