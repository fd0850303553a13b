"""The municipality's aggregator: ingest, checks, Merkle ledger, checkpoints, receipts."""
