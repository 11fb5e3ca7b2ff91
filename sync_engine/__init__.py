"""The sync engine: posts approved records to the accounting gateway and keeps the failed queue."""
