"""Running statements: connections, transactions, retries, errors, group commit and batching."""
