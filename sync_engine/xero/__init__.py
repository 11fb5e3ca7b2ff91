"""The Xero adapter: the ledger port on Xero's Accounting API.

Contract: /work/shared/contracts/xero.md.
"""
